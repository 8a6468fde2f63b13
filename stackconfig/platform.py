"""The whole stack configuration: one model holding every section."""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator, model_validator

from catalog.labels import LABEL_VALUE
from catalog.registries import artifact_registry_mirror, ecr_mirror
from catalog.tagging import REQUIRED_COST_TAGS, aws_tag_problems
from stackconfig.access import AccessConfig
from stackconfig.aws import AwsConfig, NetworkConfig
from stackconfig.base import ConfigModel, raise_problems
from stackconfig.cluster import LOG_RETENTION_DAYS, ClusterConfig
from stackconfig.costs import CostsConfig
from stackconfig.existing import ExistingConfig
from stackconfig.gcp import GcpConfig
from stackconfig.images import ImagesConfig
from stackconfig.observability import ObservabilityConfig
from stackconfig.pools import GpuPoolConfig, SystemPoolConfig
from stackconfig.storage import StorageConfig
from stackconfig.team_fit import team_cluster_problems
from stackconfig.teams import RayConfig, TeamConfig
from stackconfig.tracking import TrackingConfig


class PlatformConfig(ConfigModel):
    cloud: Literal["aws", "gcp", "existing"]
    environment: Literal["dev", "staging", "prod"]
    aws: AwsConfig | None = None
    gcp: GcpConfig | None = None
    existing: ExistingConfig | None = None
    cluster: ClusterConfig = ClusterConfig()
    network: NetworkConfig | None = None
    system_pool: SystemPoolConfig = SystemPoolConfig()
    gpu_pools: list[GpuPoolConfig] = []
    storage: StorageConfig = StorageConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    ray: RayConfig = RayConfig()
    teams: list[TeamConfig] = []
    costs: CostsConfig = CostsConfig()
    access: AccessConfig = AccessConfig()
    images: ImagesConfig = ImagesConfig()
    tracking: TrackingConfig = TrackingConfig()
    tags: dict[str, str]

    @property
    def protected(self) -> bool:
        """Stateful resources are protected from deletion in production."""
        return self.environment == "prod"

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: dict[str, str]) -> dict[str, str]:
        problems = [(key, "required cost tag is missing") for key in REQUIRED_COST_TAGS if not tags.get(key)]
        problems += aws_tag_problems(tags)
        problems += [
            (key, f"'{tags[key]}' must also be a valid Kubernetes label value: the same cost labels go on namespaces")
            for key in REQUIRED_COST_TAGS
            if tags.get(key) and not LABEL_VALUE.match(tags[key])
        ]
        raise_problems(problems)
        return tags

    @model_validator(mode="after")
    def _image_mirror(self) -> PlatformConfig:
        images = self.images
        if images.mirror and self.cloud == "existing":
            raise_problems([("images.mirror", "is for aws and gcp: mirror the images in your own registry")])
        if images.mirror and self.cloud == "aws" and images.docker_hub_credential_arn is None:
            raise_problems(
                [("images.dockerHubCredentialArn", "is required with mirror on AWS: ECR pulls Docker Hub signed in")]
            )
        if images.docker_hub_credential_arn is not None and self.cloud != "aws":
            raise_problems([("images.dockerHubCredentialArn", "is for aws only")])
        return self

    @model_validator(mode="after")
    def _team_clusters_fit(self) -> PlatformConfig:
        raise_problems(team_cluster_problems(self.teams, self.gpu_pool_sizes()))
        return self

    def gpu_pool_sizes(self) -> dict[str, tuple[int, int]]:
        """Each GPU pool's maximum node count and GPUs per node (the platform's pools, or an existing cluster's)."""
        if self.existing is not None and self.cloud == "existing":
            return {p.name: (p.max_nodes, p.gpus_per_node) for p in self.existing.gpu_pools}
        return {p.name: (p.max_size, p.gpus_per_node) for p in self.gpu_pools}

    def cluster_name(self, stack: str) -> str:
        return self.cluster.name or f"ray-{stack}"

    def image_mirror(self, stack: str) -> str | None:
        """Where the Ray images are pulled through (catalog.registries), or None: Docker Hub. On AWS, the cache is
        in the stack's account: that of cluster.adminRoleArn, as for the teams' roles."""
        if not self.images.mirror:
            return None
        if self.cloud == "aws":
            return ecr_mirror(self.admin_role_arn.split(":")[4], self.aws_settings.region)
        return artifact_registry_mirror(self.gcp_settings.project, self.gcp_settings.region, self.cluster_name(stack))

    # The cloud's own section, present once validation has passed for that cloud.
    @property
    def aws_settings(self) -> AwsConfig:
        assert self.aws is not None, "validated: cloud 'aws' has an aws section"
        return self.aws

    @property
    def aws_network(self) -> NetworkConfig:
        assert self.network is not None, "validated: cloud 'aws' has a network section"
        return self.network

    @property
    def log_retention_days(self) -> int:
        return self.cluster.log_retention_days or LOG_RETENTION_DAYS[self.environment]

    @property
    def admin_role_arn(self) -> str:
        assert self.cluster.admin_role_arn is not None, "validated: cloud 'aws' names an admin role"
        return self.cluster.admin_role_arn

    @property
    def gcp_settings(self) -> GcpConfig:
        assert self.gcp is not None, "validated: cloud 'gcp' has a gcp section"
        return self.gcp

    @property
    def existing_settings(self) -> ExistingConfig:
        assert self.existing is not None, "validated: cloud 'existing' has an existing section"
        return self.existing

    def cost_tags(self) -> dict[str, str]:
        return dict(self.tags)
