"""The Kubernetes cluster itself: name, version, API endpoint and (AWS) access and log retention."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import field_validator, model_validator

from catalog import versions
from catalog.versions import SUPPORTED_KUBERNETES_VERSIONS
from stackconfig.base import ConfigModel, VersionText, cidr_problem, raise_problems, reject

# The retention periods CloudWatch Logs accepts (PutRetentionPolicy), and the platform's default for the
# EKS control-plane logs of each environment. Production keeps them a year at least.
CLOUDWATCH_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


# dev keeps 90 days, the retention every stack had before it was a setting: an upgrade never deletes logs.
LOG_RETENTION_DAYS = {"dev": 90, "staging": 90, "prod": 365}


_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$")


ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


class EndpointConfig(ConfigModel):
    access: Literal["private", "public"] = "private"
    public_cidrs: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> EndpointConfig:
        raise_problems(self._problems())
        return self

    def _problems(self) -> Iterable[tuple[str, str]]:
        if self.access == "public" and not self.public_cidrs:
            yield "publicCidrs", "a public endpoint needs at least one allowed CIDR"
        if self.access == "private" and self.public_cidrs:
            yield "publicCidrs", "must be empty when access is 'private'"
        for i, cidr in enumerate(self.public_cidrs):
            problem = cidr_problem(cidr)
            if problem:
                yield f"publicCidrs[{i}]", problem
            elif ipaddress.ip_network(cidr).prefixlen == 0:
                yield f"publicCidrs[{i}]", "0.0.0.0/0 opens the Kubernetes API to the internet; list your CIDRs"


class ClusterConfig(ConfigModel):
    name: str | None = None
    kubernetes_version: VersionText = versions.KUBERNETES_VERSION
    endpoint: EndpointConfig = EndpointConfig()
    admin_role_arn: str | None = None
    # The role that runs `pulumi up` (AWS): given its own cluster-admin access entry, instead of the
    # implicit admin EKS grants a cluster's creator. Required in prod.
    deploy_role_arn: str | None = None
    # Retention of the EKS control-plane logs; by default LOG_RETENTION_DAYS of the environment.
    log_retention_days: int | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, name: str | None) -> str | None:
        if name is not None and not _CLUSTER_NAME.match(name):
            reject(f"'{name}' is not a valid EKS cluster name")
        return name

    @field_validator("kubernetes_version")
    @classmethod
    def _kubernetes_version(cls, version: str) -> str:
        if version not in SUPPORTED_KUBERNETES_VERSIONS:
            reject(f"'{version}' is not supported ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)})")
        return version

    @field_validator("admin_role_arn", "deploy_role_arn")
    @classmethod
    def _role_arn(cls, arn: str | None) -> str | None:
        if arn is not None and not ROLE_ARN.match(arn):
            reject(f"'{arn}' is not an IAM role ARN")
        return arn

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention_days(cls, days: int | None) -> int | None:
        if days is not None and days not in CLOUDWATCH_RETENTION_DAYS:
            reject(
                f"{days} is not a retention CloudWatch Logs accepts ({', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))})"
            )
        return days
