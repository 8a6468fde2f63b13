"""The typed configuration of one ray-platform stack.

A stack file (``stacks/Pulumi.<stack>.yaml``) holds keys under the ``ray-platform:`` namespace. Each key
is validated by its own model (shape, types, and the rules within it), and the rules that span keys run on
the raw keys whatever else failed, so every problem is reported at once with its key path, for example
``gpuPools[1].maxSize: must be >= minSize (2)``. Nothing is built while any remains.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from components import versions
from components.aws.instance_types import GPU_FAMILIES, GPU_INSTANCE_TYPES
from components.tagging import REQUIRED_COST_TAGS, aws_tag_problems

PROJECT = "ray-platform"
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34")
# EKS allows at most 450 nodes in one managed node group.
MAX_POOL_SIZE = 450
RESERVED_LABEL_PREFIX = "rayplat.io/"
# Namespaces that exist already or that the platform installs into.
RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease", "kuberay-system")

_POOL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_CLUSTER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$")
_AWS_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_LABEL_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")


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


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


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
    def _check(self) -> NodePool:
        _problems(self._problems())
        return self

    def _problems(self) -> Iterable[tuple[str, str]]:
        if not _POOL_NAME.match(self.name):
            yield "name", f"'{self.name}' must match {_POOL_NAME.pattern} (lowercase, at most 31 characters)"
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

    def _problems(self) -> Iterable[tuple[str, str]]:
        yield from super()._problems()
        for i, name in enumerate(self.instance_types):
            if name in GPU_INSTANCE_TYPES:
                yield f"instanceTypes[{i}]", f"'{name}' is a GPU instance type; the system pool runs CPU nodes"


class GpuPool(NodePool):
    @property
    def gpus_per_node(self) -> int:
        return GPU_INSTANCE_TYPES[self.instance_types[0]].gpus

    @property
    def gpu_model(self) -> str:
        return GPU_INSTANCE_TYPES[self.instance_types[0]].gpu_model

    @property
    def max_gpus(self) -> int:
        return self.max_size * self.gpus_per_node

    def _problems(self) -> Iterable[tuple[str, str]]:
        yield from super()._problems()
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
                (
                    f"all instance types of a pool must have the same GPU model and count "
                    f"(the autoscaler assumes identical nodes); found {listed}"
                ),
            )


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
    admin_role_arn: str

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

    @field_validator("admin_role_arn")
    @classmethod
    def _admin_role_arn(cls, arn: str) -> str:
        if not _ROLE_ARN.match(arn):
            _fail(f"'{arn}' is not an IAM role ARN")
        return arn


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


class Ray(_Model):
    namespace: str = Field(default="ray", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    service_account: str = Field(default="ray", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, namespace: str) -> str:
        if namespace in RESERVED_NAMESPACES:
            _fail(f"'{namespace}' is reserved ({', '.join(RESERVED_NAMESPACES)})")
        return namespace


class PlatformConfig(_Model):
    cloud: Literal["aws"]
    environment: Literal["dev", "staging", "prod"]
    aws: Aws
    cluster: Cluster
    network: Network
    system_pool: SystemPool = SystemPool()
    gpu_pools: list[GpuPool] = []
    storage: Storage = Storage()
    ray: Ray = Ray()
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

    def cost_tags(self) -> dict[str, str]:
        return dict(self.tags)


def cross_key_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The rules that span keys, run on the raw keys so that they report even when other keys are invalid.
    Each rule looks only at values of the shape it needs; shape errors are the models' to report."""
    environment, tags = raw.get("environment"), _mapping(raw.get("tags"))
    if isinstance(tags.get("env"), str) and isinstance(environment, str) and tags["env"] != environment:
        yield "tags.env", f"'{tags['env']}' must equal environment ('{environment}')"
    if environment == "prod" and _mapping(raw.get("storage")).get("forceDestroy") in (True, "true", "True"):
        yield "storage.forceDestroy", "is not allowed in prod: the artifact bucket holds data"
    region = _mapping(raw.get("aws")).get("region")
    zones = _mapping(raw.get("network")).get("availabilityZones")
    if isinstance(region, str) and isinstance(zones, list):
        for i, zone in enumerate(zones):
            if isinstance(zone, str) and not (zone.startswith(region) and len(zone) == len(region) + 1):
                yield f"network.availabilityZones[{i}]", f"'{zone}' is not a zone of {region}"
    yield from _duplicate_pool_names(raw)


def _duplicate_pool_names(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    system_name = _mapping(raw.get("systemPool")).get("name", SystemPool.model_fields["name"].default)
    seen = {system_name}
    pools = raw.get("gpuPools")
    for i, pool in enumerate(pools if isinstance(pools, list) else []):
        name = _mapping(pool).get("name")
        if isinstance(name, str):
            if name in seen:
                yield f"gpuPools[{i}].name", f"duplicate pool name '{name}'"
            seen.add(name)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _cidr_problem(cidr: str) -> str | None:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        return f"'{cidr}' is not a valid CIDR ({exc})"
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


def _messages(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors(include_url=False):
        base = _path(err["loc"])
        if err["type"] == "rayplat_problems":
            lines += [f"{_join(base, sub)}: {msg}" for sub, msg in err["ctx"]["problems"]]
        else:
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{base or '(top level)'}: {message[0].lower()}{message[1:]}")
    return lines


def parse_config(raw: Mapping[str, Any], source: str = "stack config") -> PlatformConfig:
    """Validate the ``ray-platform:*`` keys of a stack (namespace already stripped)."""
    problems: list[str] = []
    try:
        config = PlatformConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = _messages(exc)
    problems += [f"{path}: {message}" for path, message in cross_key_problems(raw)]
    if problems:
        raise ConfigError(problems, source)
    return config


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def project_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ray-platform:<key>`` entries of a flat Pulumi config map, namespace stripped, JSON decoded."""
    prefix = f"{PROJECT}:"
    return {key.removeprefix(prefix): _decode(value) for key, value in config.items() if key.startswith(prefix)}


def load_config() -> PlatformConfig:
    """Read the running stack's config (from the Pulumi engine, or the offline plan) and validate it."""
    from pulumi.runtime.config import CONFIG  # the whole config map: unknown keys must be reported too

    return parse_config(project_keys(CONFIG.get()), source=f"config of stack '{pulumi.get_stack()}'")
