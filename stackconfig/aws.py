"""AWS: the region and the VPC (created, or an existing one)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stackconfig.base import ConfigModel, cidr_problem, raise_problems, reject
from stackconfig.karpenter import DEFAULT_PROVISIONER, Provisioner

_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class ExistingVpcConfig(ConfigModel):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    private_subnet_ids: list[str] = Field(min_length=2)

    @field_validator("private_subnet_ids")
    @classmethod
    def _subnet_ids(cls, ids: list[str]) -> list[str]:
        raise_problems(
            (f"[{i}]", f"'{s}' is not a subnet id") for i, s in enumerate(ids) if not s.startswith("subnet-")
        )
        return ids


class NetworkConfig(ConfigModel):
    vpc_cidr: str | None = None
    availability_zones: list[str] = []
    nat_gateways: Literal["single", "perAz"] | None = None
    existing: ExistingVpcConfig | None = None

    @property
    def nat_per_az(self) -> bool:
        return self.nat_gateways == "perAz"

    @model_validator(mode="after")
    def _check(self) -> NetworkConfig:
        raise_problems(self._problems())
        return self

    def _problems(self) -> Iterable[tuple[str, str]]:
        if self.existing is not None:
            if self.vpc_cidr or self.availability_zones or self.nat_gateways:
                yield "existing", "use either an existing VPC or vpcCidr/availabilityZones/natGateways, not both"
            return
        if self.vpc_cidr is None:
            yield "vpcCidr", "required unless network.existing names a VPC"
        else:
            problem = cidr_problem(self.vpc_cidr)
            if problem:
                yield "vpcCidr", problem
            elif not 16 <= ipaddress.ip_network(self.vpc_cidr).prefixlen <= 20:
                yield "vpcCidr", "must be a /16 to /20 network (room for a private and a public subnet per AZ)"
        if len(self.availability_zones) < 2:
            yield "availabilityZones", "EKS needs at least 2 availability zones"
        if len(set(self.availability_zones)) != len(self.availability_zones):
            yield "availabilityZones", "must not repeat a zone"


class AwsConfig(ConfigModel):
    region: str
    # What adds and removes GPU nodes: cluster-autoscaler on managed node groups, or Karpenter NodePools.
    provisioner: Provisioner = DEFAULT_PROVISIONER

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if not _AWS_REGION.match(region):
            reject(f"'{region}' is not an AWS region")
        return region
