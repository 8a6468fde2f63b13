"""Teams (namespace, quota, group, standing RayCluster) and the shared Ray namespace."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from catalog.labels import LABEL_VALUE
from stackconfig.base import ConfigModel, raise_problems, reject
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


class TeamMembersConfig(ConfigModel):
    # The Kubernetes group the cluster's authentication maps the team to (EKS access entries'
    # kubernetesGroups, Google Groups for RBAC on GKE, the IdP's group claim elsewhere).
    group: str = Field(min_length=1, max_length=253)


class TeamConfig(ConfigModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")
    owner: str
    department: str
    members: TeamMembersConfig
    gpu_quota: dict[str, GpuQuotaConfig] = {}
    cpu: str = Field(default="32", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field(default="128Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)?$")
    ray_cluster: TeamRayClusterConfig | None = None
    serve: TeamServeConfig | None = None

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
