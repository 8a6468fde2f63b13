"""Teams (namespace, quota, group, standing RayCluster) and the shared Ray namespace."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from catalog.labels import LABEL_VALUE
from stackconfig.base import ConfigModel, Quantity, describe_value, raise_problems, raw_list, raw_mapping, reject
from stackconfig.cluster import ROLE_ARN
from stackconfig.existing import SecretKeyConfig
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


class HighAvailabilityConfig(ConfigModel):
    """Where the head keeps the cluster's GCS state: a Redis (ElastiCache on AWS, Memorystore on GCP,
    existing.gcsRedis on an existing cluster), or KubeRay's embedded RocksDB on a persistent volume of
    ``storage`` (encrypted, retained, protected in prod). KubeRay cannot change the backend of a cluster."""

    backend: Literal["redis", "rocksdb"] = "redis"
    storage: str | None = Field(default=None, pattern=r"^[1-9]\d*(Mi|Gi|Ti)$")

    @model_validator(mode="after")
    def _check(self) -> HighAvailabilityConfig:
        if self.backend == "rocksdb" and self.storage is None:
            raise_problems([("storage", "is required with backend rocksdb: the size of its volume, for example 20Gi")])
        if self.backend == "redis" and self.storage is not None:
            raise_problems([("storage", "applies to backend rocksdb only (a Redis holds the state of backend redis)")])
        return self


class TeamRayClusterConfig(ConfigModel):
    """A standing RayCluster for the team: the head on the system pool, a worker group per GPU pool."""

    max_workers_per_pool: int = Field(default=4, ge=0, le=MAX_POOL_SIZE)
    # GCS fault tolerance, so that a head failure loses neither jobs' state nor actors: `true` (a Redis) or
    # {backend, storage}.
    high_availability: HighAvailabilityConfig | None = None

    @field_validator("high_availability", mode="before")
    @classmethod
    def _high_availability(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return HighAvailabilityConfig() if value else None
        if value is not None and not isinstance(value, Mapping | HighAvailabilityConfig):
            reject(f"input should be true, false or a mapping ({{backend, storage}}), not {describe_value(value)}")
        return value


class TeamServeConfig(ConfigModel):
    """A Ray Serve application for the team (a RayService): code from a zip under the team's storage prefix,
    replicas autoscaled within bounds on one of the team's GPU pools, through its queue."""

    import_path: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    deployment: str = Field(pattern=r"^[A-Za-z_][\w-]*$")
    code_archive: str = Field(default="code/serve.zip", pattern=r"^[\w./-]+\.zip$")
    pool: str | None = None
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=2, ge=1, le=MAX_POOL_SIZE)
    gpus_per_replica: float = Field(default=1, gt=0, le=8)

    @model_validator(mode="after")
    def _check(self) -> TeamServeConfig:
        if self.min_replicas > self.max_replicas:
            raise_problems([("minReplicas", f"must be <= maxReplicas ({self.max_replicas})")])
        return self


class TeamWandbConfig(ConfigModel):
    """Weights & Biases for the team's jobs: WANDB_API_KEY from a Secret in the team's namespace (which the team
    creates; the platform never holds the key), by reference."""

    api_key_secret: SecretKeyConfig


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
    serve: TeamServeConfig | None = None
    wandb: TeamWandbConfig | None = None
    aws: TeamAwsConfig | None = None

    @model_validator(mode="after")
    def _serve_on_a_quota_pool(self) -> TeamConfig:
        if self.serve is not None and not self.gpu_quota:
            raise_problems([("serve", "needs gpuQuota: its GPU replicas go through the team's queue")])
        if self.serve is not None and self.serve.pool is not None and self.serve.pool not in self.gpu_quota:
            quota = ", ".join(self.gpu_quota)
            raise_problems([("serve.pool", f"team has GPU quota on {quota}, not '{self.serve.pool}'")])
        return self

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


# ElastiCache's replication group id is at most 40 characters. The platform's is Pulumi's auto-name (the
# logical name, a dash and 7 random characters) of the team's store, "<stack>-platform-team-<team>-gcs"
# (components.kubernetes: the platform, its Team component, the Team's store); an existing group keeps its id.
ELASTICACHE_ID_LIMIT = 40
AUTONAME_SUFFIX = 8


def gcs_backend(team: Mapping[str, Any]) -> str | None:
    """The GCS fault tolerance backend a raw team asks for (None: none, or a value the model refuses)."""
    value = raw_mapping(team.get("rayCluster")).get("highAvailability")
    if value is True:
        return "redis"
    backend = value.get("backend", "redis") if isinstance(value, Mapping) else None
    return backend if backend in ("redis", "rocksdb") else None


def elasticache_store_name(stack: str, team: str) -> str:
    return f"{stack}-platform-team-{team}-gcs"


def gcs_store_name_problems(raw: Mapping[str, Any], stack: str) -> Iterable[tuple[str, str]]:
    """On AWS, each highly available team's ElastiCache replication group id fits ElastiCache's limit. (On GCP
    the Memorystore instance id, ray-<team>-gcs plus the suffix, fits its own limit of 40 for every valid name.)"""
    if raw.get("cloud") != "aws":
        return
    room = ELASTICACHE_ID_LIMIT - AUTONAME_SUFFIX - len(elasticache_store_name(stack, ""))
    for i, team in enumerate(raw_mapping(t) for t in raw_list(raw.get("teams"))):
        name = team.get("name")
        if gcs_backend(team) == "redis" and isinstance(name, str) and len(name) > room:
            yield (
                f"teams[{i}].name",
                f"'{name}' is too long for highAvailability in stack '{stack}': the team's ElastiCache replication "
                f"group id ('{elasticache_store_name(stack, name)}-' and 7 characters) would exceed ElastiCache's "
                f"limit of {ELASTICACHE_ID_LIMIT} characters; use a team name of at most {max(room, 0)} characters",
            )


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
        backend = gcs_backend(team)
        if backend == "redis" and cloud == "existing" and raw_mapping(raw.get("existing")).get("gcsRedis") is None:
            yield f"teams[{i}].rayCluster.highAvailability", "needs existing.gcsRedis (the Redis to keep GCS state in)"
        if backend == "rocksdb" and cloud == "existing":
            yield (
                f"teams[{i}].rayCluster.highAvailability.backend",
                "rocksdb is not available on an existing cluster: the platform knows no StorageClass there that "
                "encrypts and retains volumes; use backend redis with existing.gcsRedis",
            )
        group = raw_mapping(team.get("members")).get("group")
        if cloud == "gcp" and isinstance(group, str) and not _GROUP_EMAIL.match(group):
            yield (
                f"teams[{i}].members.group",
                f"'{group}' is not a Google group email: GKE's Google Groups for RBAC names groups by email",
            )
