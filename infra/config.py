"""The typed configuration of one ray-platform stack.

A stack file (``stacks/Pulumi.<stack>.yaml``) holds keys under the ``ray-platform:`` namespace. Each key
is validated by its own model (shape, types, and the rules within it), and the rules that span keys run on
the raw keys whatever else failed, so every problem is reported at once with its key path, for example
``gpuPools[1].maxSize: must be >= minSize (2)``. Nothing is built while any remains.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components import versions
from components.aws.instance_types import GPU_FAMILIES, GPU_INSTANCE_TYPES
from components.gcp.machine_types import (
    ATTACHABLE,
    CPU_MACHINE_FAMILIES,
    CPU_MACHINES,
    GCP_REGIONS,
    GPU_MACHINES,
    ZONE_ACCELERATORS,
    GpuMachine,
    accelerator_model,
)
from components.tagging import REQUIRED_COST_TAGS, aws_tag_problems

PROJECT = "ray-platform"
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34")
# EKS allows at most 450 nodes in one managed node group.
MAX_POOL_SIZE = 450
RESERVED_LABEL_PREFIX = "rayplat.io/"
# Namespaces that exist already or that the platform installs into.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kuberay-system")

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

_NO_GPU = GpuMachine("", None, 0, 0.0)
_GKE_SECURITY_GROUP = re.compile(r"^gke-security-groups@([a-z0-9-]+\.)+[a-z]{2,}$")
_GKE_CLUSTER_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$")
_GCP_LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_GCP_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
# At most 30 characters: node groups and GKE pools are named with the pool name and a dash as prefix.
_POOL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_LABEL_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_INT: TypeAdapter[int] = TypeAdapter(int)
_BOOL: TypeAdapter[bool] = TypeAdapter(bool)


class ConfigError(pulumi.RunError):
    """A stack's configuration is invalid. ``problems`` holds one ``path: message`` line each.

    A ``RunError``, so that ``pulumi up`` prints the message alone, without a traceback.
    """

    def __init__(self, problems: list[str], source: str = "stack config"):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"Invalid {source}: {len(problems)} {noun}:\n{lines}")


def _problems(problems: Iterable[tuple[str, str]]) -> None:
    """Raise every (relative key path, message) pair found by a validator as one pydantic error."""
    found = list(problems)
    if found:
        raise PydanticCustomError("rayplat_problems", "{count} problems", {"count": len(found), "problems": found})


def _fail(message: str) -> None:
    """Reject one field's value with ``message``."""
    raise PydanticCustomError("rayplat", "{message}", {"message": message})


def _cidr_problem(cidr: str) -> str | None:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        return f"'{cidr}' is not a valid CIDR ({exc})"
    return None


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic would read ``maxSize: true`` as 1: a boolean where a number belongs is a mistake."""
        if isinstance(value, bool) and info.field_name and _numeric(cls.model_fields[info.field_name].annotation):
            _fail(f"input should be a number, not {describe_value(value)}")
        return value


def _numeric(annotation: Any) -> bool:
    types = get_args(annotation) or (annotation,)
    return bool not in types and any(t in (int, float) for t in types)


class Taint(_Model):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePool(_Model):
    name: str
    instance_types: list[str] = Field(min_length=1)
    capacity_type: Literal["spot", "onDemand"] = "onDemand"
    min_size: int = Field(ge=0)
    desired_size: int | None = Field(default=None, ge=0)
    max_size: int = Field(ge=1, le=MAX_POOL_SIZE)
    disk_size_gib: int = Field(default=100, ge=20, le=16384)
    labels: dict[str, str] = {}
    taints: list[Taint] = []

    @property
    def initial_size(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> NodePool:
        _problems(self._problems(info.context or {}))
        return self

    def _problems(self, context: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
        if not _POOL_NAME.match(self.name):
            yield "name", f"'{self.name}' must match {_POOL_NAME.pattern} (lowercase, at most 30 characters)"
        if self.max_size < self.min_size:
            yield "maxSize", f"must be >= minSize ({self.min_size})"
        if self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            yield "desiredSize", f"must be between minSize ({self.min_size}) and maxSize ({self.max_size})"
        for key, value in self.labels.items():
            if not _LABEL_NAME.match(key):
                yield f"labels.{key}", "is not a valid Kubernetes label name"
            elif key.startswith(RESERVED_LABEL_PREFIX):
                yield f"labels.{key}", f"the prefix '{RESERVED_LABEL_PREFIX}' is reserved for the platform"
            if not _LABEL_VALUE.match(value):
                yield f"labels.{key}", f"'{value}' is not a valid Kubernetes label value"
        seen_keys = set()
        for i, taint in enumerate(self.taints):
            if not _LABEL_NAME.match(taint.key):
                yield f"taints[{i}].key", f"'{taint.key}' is not a valid taint key"
            elif taint.key in seen_keys:
                yield f"taints[{i}].key", f"'{taint.key}' is tainted twice"
            if not _LABEL_VALUE.match(taint.value):
                yield f"taints[{i}].value", f"'{taint.value}' is not a valid taint value"
            seen_keys.add(taint.key)


class SystemPool(NodePool):
    name: str = "system"
    min_size: int = Field(default=2, ge=1)
    max_size: int = Field(default=4, ge=1, le=MAX_POOL_SIZE)
    instance_types: list[str] = Field(default=["m6i.xlarge"], min_length=1)

    def _problems(self, context: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
        yield from super()._problems(context)
        for i, name in enumerate(self.instance_types):
            if name in GPU_INSTANCE_TYPES or GPU_MACHINES.get(name, _NO_GPU).gpus:
                yield f"instanceTypes[{i}]", f"'{name}' is a GPU instance type; the system pool runs CPU nodes"
            # An AWS type on GCP is reported with the cross-key rules.
            elif context.get("cloud") == "gcp" and "." not in name and name not in CPU_MACHINES:
                families = ", ".join(f"{f}-*" for f in CPU_MACHINE_FAMILIES)
                yield f"instanceTypes[{i}]", f"'{name}' is not a known GCP CPU machine type ({families})"


class Accelerator(_Model):
    """A GPU attached to a GCP N1 machine (other GPU machine types have theirs built in)."""

    type: str
    count: int = Field(default=1, ge=1)


class GpuPool(NodePool):
    accelerator: Accelerator | None = None

    @property
    def gpus_per_node(self) -> int:
        return self._shape()[1]

    @property
    def gpu_model(self) -> str:
        return self._shape()[0]

    @property
    def accelerator_type(self) -> str | None:
        """The GCP accelerator type of the pool's nodes (None on AWS)."""
        machine = GPU_MACHINES.get(self.instance_types[0])
        if machine is None:
            return None
        return machine.accelerator or (self.accelerator.type if self.accelerator else None)

    @property
    def max_gpus(self) -> int:
        return self.max_size * self.gpus_per_node

    def _shape(self) -> tuple[str, int]:
        name = self.instance_types[0]
        if name in GPU_INSTANCE_TYPES:
            return GPU_INSTANCE_TYPES[name].gpu_model, GPU_INSTANCE_TYPES[name].gpus
        machine = GPU_MACHINES[name]
        if machine.accelerator:
            return accelerator_model(machine.accelerator), machine.gpus
        assert self.accelerator is not None, "validated: an N1 GPU pool names its accelerator"
        return accelerator_model(self.accelerator.type), self.accelerator.count

    def _problems(self, context: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
        yield from super()._problems(context)
        if context.get("cloud") == "gcp":
            yield from self._gcp_problems(context.get("zones") or [])
        else:
            yield from self._aws_problems()

    def _aws_problems(self) -> Iterable[tuple[str, str]]:
        if self.accelerator is not None:
            yield "accelerator", "applies to GCP N1 machines only; AWS GPU instance types have their GPUs built in"
        known = [t for t in self.instance_types if t in GPU_INSTANCE_TYPES]
        for i, name in enumerate(self.instance_types):
            if name not in GPU_INSTANCE_TYPES:
                families = ", ".join(sorted(GPU_FAMILIES))
                yield f"instanceTypes[{i}]", f"'{name}' is not a known GPU instance type (families: {families})"
        shapes = {(GPU_INSTANCE_TYPES[t].gpu_model, GPU_INSTANCE_TYPES[t].gpus) for t in known}
        if len(shapes) > 1:
            listed = ", ".join(f"{n}x{m}" for m, n in sorted(shapes))
            yield (
                "instanceTypes",
                f"all instance types of a pool must have the same GPU model and count "
                f"(the autoscaler assumes identical nodes); found {listed}",
            )

    def _gcp_problems(self, zones: list[str]) -> Iterable[tuple[str, str]]:
        if len(self.instance_types) != 1:
            yield "instanceTypes", "a GKE node pool has exactly one machine type"
        name = self.instance_types[0]
        machine = GPU_MACHINES.get(name)
        if machine is None:
            yield "instanceTypes[0]", f"'{name}' is not a known GPU machine type ({', '.join(sorted(GPU_MACHINES))})"
            return
        if machine.accelerator and self.accelerator is not None:
            yield "accelerator", f"{name} has its GPUs built in ({machine.accelerator}); remove accelerator"
        if not machine.accelerator:
            yield from self._attached_problems(name)
        accelerator = self.accelerator_type
        for zone in zones if accelerator else []:
            if accelerator not in ZONE_ACCELERATORS.get(zone, frozenset()):
                yield "instanceTypes[0]", f"{accelerator} ({name}) is not offered in zone {zone}"

    def _attached_problems(self, name: str) -> Iterable[tuple[str, str]]:
        if self.accelerator is None:
            yield "accelerator", f"{name} has no GPU: name an accelerator ({', '.join(sorted(ATTACHABLE))})"
        elif self.accelerator.type not in ATTACHABLE:
            yield "accelerator.type", f"'{self.accelerator.type}' is not one of {', '.join(sorted(ATTACHABLE))}"
        elif self.accelerator.count not in ATTACHABLE[self.accelerator.type]:
            counts = ", ".join(map(str, ATTACHABLE[self.accelerator.type]))
            yield "accelerator.count", f"{self.accelerator.type} attaches in counts of {counts}"


class Endpoint(_Model):
    access: Literal["private", "public"] = "private"
    public_cidrs: list[str] = []

    @model_validator(mode="after")
    def _check(self) -> Endpoint:
        _problems(self._problems())
        return self

    def _problems(self) -> Iterable[tuple[str, str]]:
        if self.access == "public" and not self.public_cidrs:
            yield "publicCidrs", "a public endpoint needs at least one allowed CIDR"
        if self.access == "private" and self.public_cidrs:
            yield "publicCidrs", "must be empty when access is 'private'"
        for i, cidr in enumerate(self.public_cidrs):
            problem = _cidr_problem(cidr)
            if problem:
                yield f"publicCidrs[{i}]", problem
            elif ipaddress.ip_network(cidr).prefixlen == 0:
                yield f"publicCidrs[{i}]", "0.0.0.0/0 opens the Kubernetes API to the internet; list your CIDRs"


class Cluster(_Model):
    name: str | None = None
    kubernetes_version: str = versions.KUBERNETES_VERSION
    endpoint: Endpoint = Endpoint()
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
            _fail(f"'{name}' is not a valid EKS cluster name")
        return name

    @field_validator("kubernetes_version")
    @classmethod
    def _kubernetes_version(cls, version: str) -> str:
        if version not in SUPPORTED_KUBERNETES_VERSIONS:
            _fail(f"'{version}' is not supported ({', '.join(SUPPORTED_KUBERNETES_VERSIONS)})")
        return version

    @field_validator("admin_role_arn", "deploy_role_arn")
    @classmethod
    def _role_arn(cls, arn: str | None) -> str | None:
        if arn is not None and not _ROLE_ARN.match(arn):
            _fail(f"'{arn}' is not an IAM role ARN")
        return arn

    @field_validator("log_retention_days")
    @classmethod
    def _log_retention_days(cls, days: int | None) -> int | None:
        if days is not None and days not in CLOUDWATCH_RETENTION_DAYS:
            _fail(
                f"{days} is not a retention CloudWatch Logs accepts ({', '.join(map(str, CLOUDWATCH_RETENTION_DAYS))})"
            )
        return days


class ExistingVpc(_Model):
    vpc_id: str = Field(pattern=r"^vpc-[0-9a-f]{8,17}$")
    private_subnet_ids: list[str] = Field(min_length=2)

    @field_validator("private_subnet_ids")
    @classmethod
    def _subnet_ids(cls, ids: list[str]) -> list[str]:
        _problems((f"[{i}]", f"'{s}' is not a subnet id") for i, s in enumerate(ids) if not s.startswith("subnet-"))
        return ids


class Network(_Model):
    vpc_cidr: str | None = None
    availability_zones: list[str] = []
    nat_gateways: Literal["single", "perAz"] | None = None
    existing: ExistingVpc | None = None

    @property
    def nat_per_az(self) -> bool:
        return self.nat_gateways == "perAz"

    @model_validator(mode="after")
    def _check(self) -> Network:
        _problems(self._problems())
        return self

    def _problems(self) -> Iterable[tuple[str, str]]:
        if self.existing is not None:
            if self.vpc_cidr or self.availability_zones or self.nat_gateways:
                yield "existing", "use either an existing VPC or vpcCidr/availabilityZones/natGateways, not both"
            return
        if self.vpc_cidr is None:
            yield "vpcCidr", "required unless network.existing names a VPC"
        else:
            problem = _cidr_problem(self.vpc_cidr)
            if problem:
                yield "vpcCidr", problem
            elif not 16 <= ipaddress.ip_network(self.vpc_cidr).prefixlen <= 20:
                yield "vpcCidr", "must be a /16 to /20 network (room for a private and a public subnet per AZ)"
        if len(self.availability_zones) < 2:
            yield "availabilityZones", "EKS needs at least 2 availability zones"
        if len(set(self.availability_zones)) != len(self.availability_zones):
            yield "availabilityZones", "must not repeat a zone"


class Storage(_Model):
    bucket_name: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    force_destroy: bool = False
    noncurrent_version_expiration_days: int = Field(default=30, ge=1)
    abort_incomplete_multipart_upload_days: int = Field(default=7, ge=1)


class Aws(_Model):
    region: str

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if not _AWS_REGION.match(region):
            _fail(f"'{region}' is not an AWS region")
        return region


class Observability(_Model):
    enabled: bool = True
    retention: str = Field(default="15d", pattern=r"^\d+[hdwy]$")
    storage_gib: int = Field(default=50, ge=5, le=16384)
    # Alert runbook links: this prefix + <runbook>.md. Point it at your copy of docs/runbooks/.
    runbook_base_url: str = "docs/runbooks/"
    # Remote write to Amazon Managed Prometheus (AWS only), with its own IRSA role.
    managed_prometheus: bool = False


class QueueQuota(_Model):
    """A team's share of one GPU pool, in GPUs (Kueue nominal quota, borrowing and lending limits)."""

    nominal: int = Field(ge=0)
    borrowing_limit: int | None = Field(default=None, ge=0)
    lending_limit: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self) -> QueueQuota:
        if self.lending_limit is not None and self.lending_limit > self.nominal:
            _problems([("lendingLimit", f"must be <= nominal ({self.nominal}): a team lends only what it has")])
        return self


class TeamRayCluster(_Model):
    """A standing RayCluster for the team: the head on the system pool, a worker group per GPU pool."""

    max_workers_per_pool: int = Field(default=4, ge=0, le=MAX_POOL_SIZE)


class TeamMembers(_Model):
    # The Kubernetes group the cluster's authentication maps the team to (EKS access entries'
    # kubernetesGroups, Google Groups for RBAC on GKE, the IdP's group claim elsewhere).
    group: str = Field(min_length=1, max_length=253)


class Team(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")
    owner: str
    department: str
    members: TeamMembers
    gpu_quota: dict[str, QueueQuota] = {}
    cpu: str = Field(default="32", pattern=r"^\d+(\.\d+)?m?$")
    memory: str = Field(default="128Gi", pattern=r"^\d+(Ki|Mi|Gi|Ti)?$")
    ray_cluster: TeamRayCluster | None = None

    @field_validator("owner", "department")
    @classmethod
    def _label_value(cls, value: str) -> str:
        if not value or not _LABEL_VALUE.match(value):
            _fail(f"'{value}' must be a valid Kubernetes label value (it becomes a cost label)")
        return value

    @property
    def namespace(self) -> str:
        return f"team-{self.name}"


class Ray(_Model):
    namespace: str = Field(default="ray", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    service_account: str = Field(default="ray", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if namespace in RESERVED_NAMESPACES:
            _fail(f"'{namespace}' is reserved ({', '.join(RESERVED_NAMESPACES)})")
        return namespace


class GcpNetwork(_Model):
    subnet_cidr: str = "10.10.0.0/20"
    pods_cidr: str = "10.16.0.0/14"
    services_cidr: str = "10.20.0.0/20"
    # The control plane's private range: a /28 GKE peers with the VPC.
    master_cidr: str = "172.16.0.0/28"

    @model_validator(mode="after")
    def _check(self) -> GcpNetwork:
        cidrs = {
            "subnetCidr": self.subnet_cidr,
            "podsCidr": self.pods_cidr,
            "servicesCidr": self.services_cidr,
            "masterCidr": self.master_cidr,
        }
        problems = [(key, p) for key, cidr in cidrs.items() if (p := _cidr_problem(cidr))]
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
        _problems(problems)
        return self


class Gcp(_Model):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str
    zones: list[str] = Field(min_length=1)
    release_channel: Literal["RAPID", "REGULAR", "STABLE"] = "REGULAR"
    network: GcpNetwork = GcpNetwork()
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
            _fail(
                f"'{group}' must be gke-security-groups@<your domain>: GKE resolves group membership for RBAC "
                "only through the group of that name"
            )
        return group

    @field_validator("region")
    @classmethod
    def _region(cls, region: str) -> str:
        if region not in GCP_REGIONS:
            _fail(f"'{region}' is not a GPU region the platform supports ({', '.join(sorted(GCP_REGIONS))})")
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
        _problems(unknown + repeated)
        return zones


class ExistingPool(_Model):
    """A node pool that already exists: how to select its nodes, and what they hold."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    labels: dict[str, str] = Field(min_length=1)
    taints: list[Taint] = []
    gpu_model: str | None = None
    gpus_per_node: int = Field(default=0, ge=0)
    max_nodes: int = Field(default=1, ge=0)

    @model_validator(mode="after")
    def _check(self) -> ExistingPool:
        problems = [
            (f"labels.{k}", "is not a valid Kubernetes label name") for k in self.labels if not _LABEL_NAME.match(k)
        ]
        if self.gpus_per_node and not self.gpu_model:
            problems.append(("gpuModel", "required when gpusPerNode > 0"))
        _problems(problems)
        return self


class S3Compatible(_Model):
    endpoint: str = Field(pattern=r"^https?://[^\s/]+")
    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    region: str = "us-east-1"
    # A Secret in the Ray namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
    credentials_secret: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class Minio(_Model):
    bucket: str = Field(default="ray-artifacts", pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    storage_gib: int = Field(default=20, ge=1)


class ExistingObjectStore(_Model):
    s3: S3Compatible | None = None
    minio: Minio | None = None

    @model_validator(mode="after")
    def _check(self) -> ExistingObjectStore:
        if (self.s3 is None) == (self.minio is None):
            _problems([("", "name exactly one of s3 (an existing endpoint) or minio (installed in the cluster)")])
        return self


class Existing(_Model):
    """A cluster that already exists: the platform installs its kubernetes layer there and nothing else."""

    context: str = Field(min_length=1)
    kubeconfig: str | None = None
    system_pool: ExistingPool
    gpu_pools: list[ExistingPool] = []
    object_store: ExistingObjectStore
    # False where the cluster already runs the NVIDIA device plugin (for example the GPU Operator).
    install_device_plugin: bool = True
    # The stack's statement that the cluster's CNI enforces NetworkPolicy (Calico, Cilium, kindnetd in
    # kind 0.24 and later, ...): team isolation rests on it.
    network_policy_enforced: bool = False

    @model_validator(mode="after")
    def _unique_pools(self) -> Existing:
        names = [self.system_pool.name]
        problems = []
        for i, pool in enumerate(self.gpu_pools):
            if pool.name in names:
                problems.append((f"gpuPools[{i}].name", f"duplicate pool name '{pool.name}'"))
            names.append(pool.name)
        _problems(problems)
        return self


class PlatformConfig(_Model):
    cloud: Literal["aws", "gcp", "existing"]
    environment: Literal["dev", "staging", "prod"]
    aws: Aws | None = None
    gcp: Gcp | None = None
    existing: Existing | None = None
    cluster: Cluster = Cluster()
    network: Network | None = None
    system_pool: SystemPool = SystemPool()
    gpu_pools: list[GpuPool] = []
    storage: Storage = Storage()
    observability: Observability = Observability()
    ray: Ray = Ray()
    teams: list[Team] = []
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
            if tags.get(key) and not _LABEL_VALUE.match(tags[key])
        ]
        _problems(problems)
        return tags

    def cluster_name(self, stack: str) -> str:
        return self.cluster.name or f"ray-{stack}"

    # The cloud's own section, present once validation has passed for that cloud.
    @property
    def aws_settings(self) -> Aws:
        assert self.aws is not None, "validated: cloud 'aws' has an aws section"
        return self.aws

    @property
    def aws_network(self) -> Network:
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
    def gcp_settings(self) -> Gcp:
        assert self.gcp is not None, "validated: cloud 'gcp' has a gcp section"
        return self.gcp

    @property
    def existing_settings(self) -> Existing:
        assert self.existing is not None, "validated: cloud 'existing' has an existing section"
        return self.existing

    def cost_tags(self) -> dict[str, str]:
        return dict(self.tags)


# The keys each cloud needs, and those that belong to another cloud.
_CLOUD_KEYS = {
    "aws": {"required": ("aws", "network", "cluster.adminRoleArn"), "foreign": ("gcp", "existing")},
    # The system pool's default instance type is an AWS one: GCP stacks name their machine type.
    "gcp": {
        "required": ("gcp", "systemPool.instanceTypes"),
        "foreign": (
            "aws",
            "network",
            "existing",
            "cluster.adminRoleArn",
            "cluster.deployRoleArn",
            "cluster.logRetentionDays",
            "cluster.kubernetesVersion",
        ),
    },
    "existing": {
        "required": ("existing",),
        "foreign": ("aws", "gcp", "network", "cluster", "systemPool", "gpuPools", "storage"),
    },
}


def cross_key_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The rules that span keys, run on the raw keys so that they report even when other keys are invalid.
    Each rule looks only at values of the shape it needs; shape errors are the models' to report."""
    yield from _cloud_keys(raw)
    environment, tags = raw.get("environment"), _mapping(raw.get("tags"))
    if isinstance(tags.get("env"), str) and isinstance(environment, str) and tags["env"] != environment:
        yield "tags.env", f"'{tags['env']}' must equal environment ('{environment}')"
    if environment == "prod" and _bool(_mapping(raw.get("storage")).get("forceDestroy")):
        yield "storage.forceDestroy", "is not allowed in prod: the artifact bucket holds data"
    if raw.get("cloud") == "aws":
        yield from _eks_access_and_logs(raw)
    region = _mapping(raw.get("aws")).get("region")
    zones = _mapping(raw.get("network")).get("availabilityZones")
    if isinstance(region, str) and region and isinstance(zones, list):
        for i, zone in enumerate(zones):
            if isinstance(zone, str) and not (zone.startswith(region) and len(zone) == len(region) + 1):
                yield f"network.availabilityZones[{i}]", f"'{zone}' is not a zone of {region}"
    yield from _duplicate_pool_names(raw)
    yield from _team_rules(raw)
    if _bool(_mapping(raw.get("observability")).get("managedPrometheus")) and raw.get("cloud") != "aws":
        yield "observability.managedPrometheus", "is supported on AWS (Amazon Managed Prometheus) only"
    if raw.get("cloud") == "gcp":
        yield from _gcp_rules(raw, tags)
    yield from _team_enforcers(raw)


def _present(raw: Mapping[str, Any], path: str) -> bool:
    section, _, key = path.partition(".")
    return raw.get(section) is not None if not key else _mapping(raw.get(section)).get(key) is not None


def _cloud_keys(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    cloud = raw.get("cloud")
    if not isinstance(cloud, str) or cloud not in _CLOUD_KEYS:
        return
    for path in _CLOUD_KEYS[cloud]["required"]:
        if not _present(raw, path):
            yield path, f"required when cloud is '{cloud}'"
    for path in _CLOUD_KEYS[cloud]["foreign"]:
        if _present(raw, path):
            yield path, f"does not apply when cloud is '{cloud}'"


def _eks_access_and_logs(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    cluster = _mapping(raw.get("cluster"))
    deploy, retention = cluster.get("deployRoleArn"), cluster.get("logRetentionDays")
    if raw.get("environment") == "prod":
        if deploy is None:
            yield (
                "cluster.deployRoleArn",
                "required in prod: the cluster's creator gets no implicit admin there, so the role that runs "
                "`pulumi up` needs its own access entry to install the kubernetes layer",
            )
        if isinstance(retention, int) and retention < LOG_RETENTION_DAYS["prod"]:
            yield (
                "cluster.logRetentionDays",
                f"must be at least {LOG_RETENTION_DAYS['prod']} in prod ({retention} given)",
            )
    if isinstance(deploy, str) and deploy == cluster.get("adminRoleArn"):
        yield "cluster.deployRoleArn", "must differ from adminRoleArn: EKS holds one access entry per principal"


def _gcp_rules(raw: Mapping[str, Any], tags: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    gcp = _mapping(raw.get("gcp"))
    region, zones = gcp.get("region"), gcp.get("zones")
    if isinstance(region, str) and region and isinstance(zones, list):
        for i, zone in enumerate(zones):
            if isinstance(zone, str) and zone.rsplit("-", 1)[0] != region:
                yield f"gcp.zones[{i}]", f"'{zone}' is not a zone of {region}"
    # The cost tags become GCP labels: lowercase, digits, '_' and '-'.
    for key, value in tags.items():
        if not (isinstance(value, str) and _GCP_LABEL.match(key) and _GCP_LABEL_VALUE.match(value)):
            yield f"tags.{key}", f"'{key}: {value}' is not a valid GCP label (lowercase [a-z0-9_-], at most 63)"
    pools = [("systemPool", _mapping(raw.get("systemPool")))]
    pools += [(f"gpuPools[{i}]", _mapping(p)) for i, p in enumerate(_list(raw.get("gpuPools")))]
    for where, pool in pools:
        machines = _list(pool.get("instanceTypes"))
        for j, machine in enumerate(machines):
            if isinstance(machine, str) and "." in machine:
                yield f"{where}.instanceTypes[{j}]", f"'{machine}' is an AWS instance type, not a GCP machine type"
        if where == "systemPool" and len(machines) > 1:
            yield "systemPool.instanceTypes", "a GKE node pool has exactly one machine type"
    name = _mapping(raw.get("cluster")).get("name")
    if isinstance(name, str) and not _GKE_CLUSTER_NAME.match(name):
        yield "cluster.name", f"'{name}' is not a GKE cluster name (lowercase, at most 40 characters)"


def _team_enforcers(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """Teams are isolated by NetworkPolicies and given access by RoleBindings to their group: refuse teams
    on a cluster where nothing would enforce the one or fill the other."""
    if not raw.get("teams"):
        return
    if raw.get("cloud") == "gcp" and _mapping(raw.get("gcp")).get("rbacSecurityGroup") is None:
        yield (
            "gcp.rbacSecurityGroup",
            "required when teams are declared: each team's RoleBinding names a Google group, and GKE puts "
            "users in groups only through Google Groups for RBAC (gke-security-groups@<your domain>)",
        )
    existing = _mapping(raw.get("existing"))
    if raw.get("cloud") == "existing" and existing and existing.get("networkPolicyEnforced") is not True:
        yield (
            "existing.networkPolicyEnforced",
            "must be true when teams are declared: teams are isolated by NetworkPolicies, which only a CNI that "
            "enforces them applies (Calico, Cilium, kindnetd from kind 0.24); elsewhere they are ignored",
        )


def _team_rules(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """Team names are unique, quotas name GPU pools that exist, and no pool is promised more GPUs
    (sum of nominal quotas) than it can hold (max nodes x GPUs per node)."""
    capacity = gpu_pool_capacity(raw)
    promised: dict[str, int] = {}
    seen: set[str] = set()
    for i, team in enumerate(_mapping(t) for t in _list(raw.get("teams"))):
        name = team.get("name")
        if isinstance(name, str):
            if name in seen:
                yield f"teams[{i}].name", f"duplicate team name '{name}'"
            seen.add(name)
        for pool, quota in _mapping(team.get("gpuQuota")).items():
            if pool not in capacity:
                yield f"teams[{i}].gpuQuota.{pool}", f"no GPU pool '{pool}' ({', '.join(sorted(capacity)) or 'none'})"
            elif (nominal := _int(_mapping(quota).get("nominal"))) is not None:
                promised[pool] = promised.get(pool, 0) + nominal
    for pool, gpus in sorted(promised.items()):
        limit = capacity[pool]
        if limit is not None and gpus > limit:
            yield (
                "teams",
                (
                    f"the teams' nominal quotas on pool '{pool}' add up to {gpus} GPUs, more than its capacity "
                    f"of {limit} (maxSize x GPUs per node)"
                ),
            )


def gpu_pool_capacity(raw: Mapping[str, Any]) -> dict[str, int | None]:
    """Max GPUs of each GPU pool the raw config names (platform pools, or an existing cluster's); None where
    the pool's own keys do not say (the models report why)."""
    if raw.get("cloud") == "existing":
        pools = _list(_mapping(raw.get("existing")).get("gpuPools"))
        return {
            p["name"]: _product(_int(p.get("maxNodes", 1)), _int(p.get("gpusPerNode", 0)))
            for p in map(_mapping, pools)
            if isinstance(p.get("name"), str)
        }
    capacity = {}
    for pool in map(_mapping, _list(raw.get("gpuPools"))):
        if isinstance(pool.get("name"), str):
            types = _list(pool.get("instanceTypes")) or [""]
            gpus = _gpus_per_node(types[0], _mapping(pool.get("accelerator")))
            capacity[pool["name"]] = _product(_int(pool.get("maxSize")), gpus)
    return capacity


def _product(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a * b


def _gpus_per_node(instance_type: Any, accelerator: Mapping[str, Any]) -> int | None:
    """GPUs per node of a GPU instance or machine type, None if it is not one."""
    if not isinstance(instance_type, str):
        return None
    if instance_type in GPU_INSTANCE_TYPES:
        return GPU_INSTANCE_TYPES[instance_type].gpus
    machine = GPU_MACHINES.get(instance_type)
    if machine is None or machine.gpus:
        return machine.gpus if machine else None
    return _int(accelerator.get("count", 1)) if accelerator else None


def _duplicate_pool_names(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    system_name = _mapping(raw.get("systemPool")).get("name", SystemPool.model_fields["name"].default)
    seen = {system_name} if isinstance(system_name, str) else set()
    for i, pool in enumerate(_list(raw.get("gpuPools"))):
        name = _mapping(pool).get("name")
        if isinstance(name, str):
            if name in seen:
                yield f"gpuPools[{i}].name", f"duplicate pool name '{name}'"
            seen.add(name)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    """A raw value read as the models read an integer, or None where they would reject it."""
    if isinstance(value, bool):
        return None
    try:
        return _INT.validate_python(value)
    except ValidationError:
        return None


def _bool(value: Any) -> bool | None:
    """A raw value read as the models read a boolean (``true``, ``"yes"``, 1, ...), or None."""
    try:
        return _BOOL.validate_python(value)
    except ValidationError:
        return None


def _path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += f".{part}" if out else part
    return out


def _join(base: str, sub: str) -> str:
    if not base or not sub:
        return base or sub
    return base + sub if sub.startswith("[") else f"{base}.{sub}"


def describe_value(value: Any) -> str:
    """A YAML value as an error message names it: its kind, and a short text as itself."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str) and not value:
        return "an empty string"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:37]}...'"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, Mapping) else type(value).__name__


# pydantic's wording for a value of the wrong type, where the stack file's words are clearer.
_TYPE_MESSAGES = {"model_type": "input should be a mapping", "dict_type": "input should be a mapping"}


def _message(err: Any, loc: tuple[str | int, ...]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key" + _did_you_mean(loc)
    message = _TYPE_MESSAGES.get(err["type"]) or err["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if err["type"].endswith("_type") or err["type"] == "literal_error":
        message += f", not {describe_value(err['input'])}"
    return message


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    """A hint naming the closest key the model at ``loc``'s parent knows, if one is close."""
    model = model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return ""
    known = {(f.alias or name).lower(): f.alias or name for name, f in model.model_fields.items()}
    close = difflib.get_close_matches(loc[-1].lower(), known, n=1)
    return f"; did you mean `{known[close[0]]}`?" if close else ""


def model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model that validates the value at key path ``loc`` (``("gpuPools", 0)`` is a GpuPool), or None."""
    annotation: Any = PlatformConfig
    for part in loc:
        model = _unwrap(annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = {f.alias or name: f for name, f in model.model_fields.items()}
            field = fields.get(str(part)) or model.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(model) in (list, dict):
            annotation = get_args(model)[-1]
        else:
            return None
    found = _unwrap(annotation)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` as ``X``."""
    if get_origin(annotation) in (UnionType, Union):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _messages(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        base = _path(err["loc"])
        if err["type"] == "rayplat_problems":
            lines += [f"{_join(base, sub)}: {msg}" for sub, msg in err["ctx"]["problems"]]
        else:
            lines.append(f"{base or '(top level)'}: {_message(err, err['loc'])}")
    return lines


def parse_config(raw: Mapping[str, Any], source: str = "stack config") -> PlatformConfig:
    """Validate the ``ray-platform:*`` keys of a stack (namespace already stripped)."""
    problems: list[str] = []
    context: dict[str, Any] = {
        "cloud": raw.get("cloud"),
        "zones": [z for z in _list(_mapping(raw.get("gcp")).get("zones")) if isinstance(z, str)],
    }
    try:
        config = PlatformConfig.model_validate(dict(raw), context=context)
    except ValidationError as exc:
        problems = _messages(exc)
    problems += [f"{path}: {message}" for path, message in cross_key_problems(raw)]
    if problems:
        raise ConfigError(problems, source)
    return config


def _decode(value: Any) -> Any:
    """Pulumi hands a program structured values as JSON text; a plain string that only looks like JSON stays
    a string, for the models to reject with its key path."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def project_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ray-platform:<key>`` entries of a flat Pulumi config map, namespace stripped, JSON decoded."""
    prefix = f"{PROJECT}:"
    return {key.removeprefix(prefix): _decode(value) for key, value in config.items() if key.startswith(prefix)}


def load_config() -> PlatformConfig:
    """Read the running stack's config (from the Pulumi engine, or the offline plan) and validate it."""
    from pulumi.runtime.config import CONFIG  # the whole config map: unknown keys must be reported too

    return parse_config(project_keys(CONFIG.get()), source=f"config of stack '{pulumi.get_stack()}'")
