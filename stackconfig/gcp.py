"""GCP: project, region, zones, release channel and the VPC's ranges."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from catalog.gcp_machines import GCP_REGIONS, ZONE_ACCELERATORS
from stackconfig.base import ConfigModel, cidr_problem, raise_problems, reject

_GKE_SECURITY_GROUP = re.compile(r"^gke-security-groups@([a-z0-9-]+\.)+[a-z]{2,}$")


GKE_CLUSTER_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")


class GcpNetworkConfig(ConfigModel):
    subnet_cidr: str = "10.10.0.0/20"
    pods_cidr: str = "10.16.0.0/14"
    services_cidr: str = "10.20.0.0/20"
    # The control plane's private range: a /28 GKE peers with the VPC.
    master_cidr: str = "172.16.0.0/28"
    # The proxy-only subnet of the internal Application Load Balancer (access.ingress); none without it.
    proxy_only_cidr: str | None = None

    @model_validator(mode="after")
    def _check(self) -> GcpNetworkConfig:
        cidrs = {
            "subnetCidr": self.subnet_cidr,
            "podsCidr": self.pods_cidr,
            "servicesCidr": self.services_cidr,
            "masterCidr": self.master_cidr,
        }
        if self.proxy_only_cidr is not None:
            cidrs["proxyOnlyCidr"] = self.proxy_only_cidr
        problems = [(key, p) for key, cidr in cidrs.items() if (p := cidr_problem(cidr))]
        if not problems:
            networks = {key: ipaddress.ip_network(cidr) for key, cidr in cidrs.items()}
            problems += [
                (b, f"overlaps {a} ({cidrs[a]})")
                for i, (a, net_a) in enumerate(networks.items())
                for b, net_b in list(networks.items())[i + 1 :]
                if net_a.overlaps(net_b)
            ]
            if networks["masterCidr"].prefixlen != 28:
                problems.append(("masterCidr", "GKE needs a /28 for the control plane"))
        raise_problems(problems)
        return self


class GcpConfig(ConfigModel):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str
    zones: list[str] = Field(min_length=1)
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    network: GcpNetworkConfig = GcpNetworkConfig()
    # Customer-managed key for the artifact bucket, projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>.
    bucket_kms_key: str | None = Field(
        default=None, pattern=r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$"
    )
    # Google Groups for RBAC: the gke-security-groups@<domain> group whose member groups RoleBindings name.
    rbac_security_group: str | None = None

    @field_validator("rbac_security_group")
    @classmethod
    def _rbac_security_group(cls, group: str | None) -> str | None:
        if group is not None and not _GKE_SECURITY_GROUP.match(group):
            reject(
                f"'{group}' must be gke-security-groups@<your domain>: GKE resolves group membership for RBAC "
                "only through the group of that name"
            )
        return group

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if region not in GCP_REGIONS:
            reject(f"'{region}' is not a GPU region the platform supports ({', '.join(sorted(GCP_REGIONS))})")
        return region

    @field_validator("zones")
    @classmethod
    def _zones(cls, zones: list[str]) -> list[str]:
        unknown = [
            (f"[{i}]", f"'{z}' is not a GPU zone the platform knows")
            for i, z in enumerate(zones)
            if z not in ZONE_ACCELERATORS
        ]
        repeated = [("", "must not repeat a zone")] if len(set(zones)) != len(zones) else []
        raise_problems(unknown + repeated)
        return zones
