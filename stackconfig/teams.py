"""Teams (namespace, quota, group, standing RayCluster) and the shared Ray namespace."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field, field_validator, model_validator

from catalog.labels import LABEL_VALUE
from stackconfig.base import ConfigModel, Quantity, raise_problems, raw_list, raw_mapping, reject
from stackconfig.cluster import ROLE_ARN
from stackconfig.pools import MAX_POOL_SIZE

# Namespaces that exist already or that the platform installs into.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kuberay-system")


class GpuQuotaConfig(ConfigModel):
    """A team's share of one GPU pool, in GPUs (Kueue nominal quota, borrowing and lending limits)."""

    nominal: int = Field(ge=0)
    borrowing_limit: int | None = Field(default=None, ge=0)
    lending_limit: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> GpuQuotaConfig:
        if self.lending_limit is not None and self.lending_limit > self.nominal:
            raise_problems([("lendingLimit", f"must be <= nominal ({self.nominal}): a team lends only what it has")])
        return self


class TeamRayClusterConfig(ConfigModel):
    """A standing RayCluster for the team: the head on the system pool, a worker group per GPU pool."""

    max_workers_per_pool: int = Field(default=4, ge=0, le=MAX_POOL_SIZE)
    # GCS fault tolerance: the head keeps the cluster's state in a Redis (created on AWS, from
    # existing.gcsRedis on an existing cluster), so that a head failure loses neither jobs' state nor actors.
    high_availability: bool = False


class TeamMembersConfig(ConfigModel):
    # The Kubernetes group the cluster's authentication maps the team to (EKS access entries'
    # kubernetesGroups, Google Groups for RBAC on GKE, the IdP's group claim elsewhere).
    group: str = Field(min_length=1, max_length=253)

    @field_validator("group")
    @classmethod
    def _group(cls, group: str) -> str:
        if group.startswith("system:"):
            reject(f"'{group}' is a Kubernetes system group: a team's group is its own")
        return group


class TeamAwsConfig(ConfigModel):
    """The IAM roles (SSO permission-set roles or plain roles) whose sessions are members of the team's group."""

    role_arns: list[str] = Field(min_length=1)

    @field_validator("role_arns")
    @classmethod
    def _role_arns(cls, arns: list[str]) -> list[str]:
        raise_problems(
            (f"[{i}]", f"'{arn}' is not an IAM role ARN") for i, arn in enumerate(arns) if not ROLE_ARN.match(arn)
        )
        if len(set(arns)) != len(arns):
            raise_problems([("", "must not repeat a role")])
        return arns


class TeamConfig(ConfigModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")
    owner: str
    department: str
    members: TeamMembersConfig
    gpu_quota: dict[str, GpuQuotaConfig] = {}
    cpu: Quantity = Field(default="32", pattern=r"^\d+(\.\d+)?m?$")
    memory: Quantity = Field(default="128Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)?$")
    ray_cluster: TeamRayClusterConfig | None = None
    aws: TeamAwsConfig | None = None

    @field_validator("owner", "department")
    @classmethod
    def _label_value(cls, value: str) -> str:
        if not value or not LABEL_VALUE.match(value):
            reject(f"'{value}' must be a valid Kubernetes label value (it becomes a cost label)")
        return value

    @property
    def namespace(self) -> str:
        return f"team-{self.name}"


class RayConfig(ConfigModel):
    namespace: str = Field(default="ray", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    service_account: str = Field(default="ray", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if namespace in RESERVED_NAMESPACES:
            reject(f"'{namespace}' is reserved ({', '.join(RESERVED_NAMESPACES)})")
        return namespace


# A Google group's email (GKE's Google Groups for RBAC puts users in groups by email).
_GROUP_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")


def _account(arn: str) -> str:
    return arn.split(":")[4]


def team_identity_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """Each team's members reach the cluster through what the cloud maps into the team's group: IAM roles of
    the stack's account on EKS (one access entry per role, so a role belongs to one team), a Google group
    email on GKE."""
    cloud, cluster = raw.get("cloud"), raw_mapping(raw.get("cluster"))
    admin = cluster.get("adminRoleArn")
    platform_roles = {arn: key for key in ("adminRoleArn", "deployRoleArn") if isinstance(arn := cluster.get(key), str)}
    owner: dict[str, str] = {}
    for i, team in enumerate(raw_mapping(t) for t in raw_list(raw.get("teams"))):
        roles = raw_list(raw_mapping(team.get("aws")).get("roleArns"))
        if team.get("aws") is not None and isinstance(cloud, str) and cloud != "aws":
            yield f"teams[{i}].aws", f"does not apply when cloud is '{cloud}'"
        for j, arn in enumerate(roles):
            where = f"teams[{i}].aws.roleArns[{j}]"
            if not (isinstance(arn, str) and ROLE_ARN.match(arn)):
                continue
            if isinstance(admin, str) and ROLE_ARN.match(admin) and _account(arn) != _account(admin):
                yield where, f"'{arn}' is not in the stack's account {_account(admin)} (the account of adminRoleArn)"
            if arn in platform_roles:
                yield where, f"is cluster.{platform_roles[arn]}: EKS holds one access entry per principal"
            elif arn in owner:
                yield where, f"is already a role of team '{owner[arn]}': EKS holds one access entry per principal"
            owner.setdefault(arn, str(team.get("name")))
        high_availability = raw_mapping(team.get("rayCluster")).get("highAvailability") is True
        if high_availability and cloud == "gcp":
            yield f"teams[{i}].rayCluster.highAvailability", "is not supported on GCP yet (no Memorystore store)"
        if high_availability and cloud == "existing" and raw_mapping(raw.get("existing")).get("gcsRedis") is None:
            yield f"teams[{i}].rayCluster.highAvailability", "needs existing.gcsRedis (the Redis to keep GCS state in)"
        group = raw_mapping(team.get("members")).get("group")
        if cloud == "gcp" and isinstance(group, str) and not _GROUP_EMAIL.match(group):
            yield (
                f"teams[{i}].members.group",
                f"'{group}' is not a Google group email: GKE's Google Groups for RBAC names groups by email",
            )
