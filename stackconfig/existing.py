"""An existing cluster: its kubeconfig context, the node pools already there, and an object store."""

from __future__ import annotations

from pydantic import Field, model_validator

from catalog.labels import LABEL_NAME
from stackconfig.base import ConfigModel, raise_problems
from stackconfig.pools import TaintConfig


class ExistingPoolConfig(ConfigModel):
    """A node pool that already exists: how to select its nodes, and what they hold."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    labels: dict[str, str] = Field(min_length=1)
    taints: list[TaintConfig] = []
    gpu_model: str | None = None
    gpus_per_node: int = Field(default=0, ge=0)
    max_nodes: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ExistingPoolConfig:
        problems = [
            (f"labels.{k}", "is not a valid Kubernetes label name") for k in self.labels if not LABEL_NAME.match(k)
        ]
        if self.gpus_per_node and not self.gpu_model:
            problems.append(("gpuModel", "required when gpusPerNode > 0"))
        raise_problems(problems)
        return self


class S3CompatibleConfig(ConfigModel):
    endpoint: str = Field(pattern=r"^https?://[^\s/]+")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str = "us-east-1"
    # A Secret in the Ray namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    credentials_secret: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class MinioConfig(ConfigModel):
    bucket: str = Field(default="ray-artifacts", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    storage_gib: int = Field(default=20, ge=1)


class ExistingObjectStoreConfig(ConfigModel):
    s3: S3CompatibleConfig | None = None
    minio: MinioConfig | None = None

    @model_validator(mode="after")
    def _check(self) -> ExistingObjectStoreConfig:
        if (self.s3 is None) == (self.minio is None):
            raise_problems([("", "name exactly one of s3 (an existing endpoint) or minio (installed in the cluster)")])
        return self


class SecretKeyConfig(ConfigModel):
    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    key: str = Field(min_length=1, max_length=253)


class GcsRedisConfig(ConfigModel):
    """A Redis for the GCS fault tolerance of highly available team clusters: its address (rediss:// for TLS)
    and the Secret, in each such team's namespace, that holds its password."""

    address: str = Field(pattern=r"^(rediss?://)?[A-Za-z0-9.-]+:\d{1,5}$")
    password_secret: SecretKeyConfig


class ExistingConfig(ConfigModel):
    """A cluster that already exists: the platform installs its kubernetes layer there and nothing else."""

    context: str = Field(min_length=1)
    kubeconfig: str | None = None
    system_pool: ExistingPoolConfig
    gpu_pools: list[ExistingPoolConfig] = []
    object_store: ExistingObjectStoreConfig
    # False where the cluster already runs the NVIDIA device plugin (for example the GPU Operator).
    install_device_plugin: bool = True
    # The stack's statement that the cluster's CNI enforces NetworkPolicy (Calico, Cilium, kindnetd in
    # kind 0.24 and later, ...): team isolation rests on it.
    network_policy_enforced: bool = False
    gcs_redis: GcsRedisConfig | None = None

    @model_validator(mode="after")
    def _unique_pools(self) -> ExistingConfig:
        names = [self.system_pool.name]
        problems = []
        for i, pool in enumerate(self.gpu_pools):
            if pool.name in names:
                problems.append((f"gpuPools[{i}].name", f"duplicate pool name '{pool.name}'"))
            names.append(pool.name)
        raise_problems(problems)
        return self
