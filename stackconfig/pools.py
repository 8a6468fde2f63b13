"""Node pools of the platform's own clusters: the system pool and the GPU pools."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field, ValidationInfo, model_validator

from catalog.aws_instances import GPU_FAMILIES, GPU_INSTANCE_TYPES
from catalog.gcp_machines import (
    ATTACHABLE,
    CPU_MACHINE_FAMILIES,
    CPU_MACHINES,
    GPU_MACHINES,
    ZONE_ACCELERATORS,
    GpuMachine,
    accelerator_model,
)
from catalog.labels import LABEL_NAME, LABEL_VALUE
from stackconfig.base import ConfigModel, Problem, raise_problems
from stackconfig.karpenter import KarpenterPoolConfig

# EKS allows at most 450 nodes in one managed node group.
MAX_POOL_SIZE = 450


RESERVED_LABEL_PREFIX = "rayplat.io/"


# At most 30 characters: node groups and GKE pools are named with the pool name and a dash as prefix.
_POOL_NAME = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


_NO_GPU = GpuMachine("", None, 0, 0.0)


class TaintConfig(ConfigModel):
    key: str
    value: str = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class PoolConfig(ConfigModel):
    name: str
    instance_types: list[str] = Field(min_length=1)
    capacity_type: Literal["spot", "onDemand"] = "onDemand"
    min_size: int = Field(ge=0)
    desired_size: int | None = Field(default=None, ge=0)
    max_size: int = Field(ge=1, le=MAX_POOL_SIZE)
    disk_size_gib: int = Field(default=100, ge=20, le=16384)
    labels: dict[str, str] = {}
    taints: list[TaintConfig] = []

    @property
    def initial_size(self) -> int:
        return self.min_size if self.desired_size is None else self.desired_size

    @model_validator(mode="after")
    def _check(self, info: ValidationInfo) -> PoolConfig:
        raise_problems(self._problems(info.context or {}))
        return self

    def _problems(self, context: Mapping[str, Any]) -> Iterable[tuple[str, str] | Problem]:
        if not _POOL_NAME.match(self.name):
            yield "name", f"'{self.name}' must match {_POOL_NAME.pattern} (lowercase, at most 30 characters)"
        if self.max_size < self.min_size:
            yield "maxSize", f"must be >= minSize ({self.min_size})"
        if self.desired_size is not None and not self.min_size <= self.desired_size <= self.max_size:
            yield "desiredSize", f"must be between minSize ({self.min_size}) and maxSize ({self.max_size})"
        for key, value in self.labels.items():
            if not LABEL_NAME.match(key):
                yield f"labels.{key}", "is not a valid Kubernetes label name"
            elif key.startswith(RESERVED_LABEL_PREFIX):
                yield f"labels.{key}", f"the prefix '{RESERVED_LABEL_PREFIX}' is reserved for the platform"
            if not LABEL_VALUE.match(value):
                yield f"labels.{key}", f"'{value}' is not a valid Kubernetes label value"
        seen_keys = set()
        for i, taint in enumerate(self.taints):
            if not LABEL_NAME.match(taint.key):
                yield f"taints[{i}].key", f"'{taint.key}' is not a valid taint key"
            elif taint.key in seen_keys:
                yield f"taints[{i}].key", f"'{taint.key}' is tainted twice"
            if not LABEL_VALUE.match(taint.value):
                yield f"taints[{i}].value", f"'{taint.value}' is not a valid taint value"
            seen_keys.add(taint.key)


class SystemPoolConfig(PoolConfig):
    name: str = "system"
    min_size: int = Field(default=2, ge=1)
    max_size: int = Field(default=4, ge=1, le=MAX_POOL_SIZE)
    instance_types: list[str] = Field(default=["m6i.xlarge"], min_length=1)

    def _problems(self, context: Mapping[str, Any]) -> Iterable[tuple[str, str] | Problem]:
        yield from super()._problems(context)
        for i, name in enumerate(self.instance_types):
            if name in GPU_INSTANCE_TYPES or GPU_MACHINES.get(name, _NO_GPU).gpus:
                yield f"instanceTypes[{i}]", f"'{name}' is a GPU instance type; the system pool runs CPU nodes"
            # An AWS type on GCP is reported with the cross-key rules.
            elif context.get("cloud") == "gcp" and "." not in name and name not in CPU_MACHINES:
                families = ", ".join(f"{f}-*" for f in CPU_MACHINE_FAMILIES)
                yield f"instanceTypes[{i}]", f"'{name}' is not a known GCP CPU machine type ({families})"


class AcceleratorConfig(ConfigModel):
    """A GPU attached to a GCP N1 machine (other GPU machine types have theirs built in)."""

    type: str
    count: int = Field(default=1, ge=1)


class GpuPoolConfig(PoolConfig):
    accelerator: AcceleratorConfig | None = None
    karpenter: KarpenterPoolConfig | None = None

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

    def _shape(self) -> tuple[str, int]:
        name = self.instance_types[0]
        if name in GPU_INSTANCE_TYPES:
            return GPU_INSTANCE_TYPES[name].gpu_model, GPU_INSTANCE_TYPES[name].gpus
        machine = GPU_MACHINES[name]
        if machine.accelerator:
            return accelerator_model(machine.accelerator), machine.gpus
        assert self.accelerator is not None, "validated: an N1 GPU pool names its accelerator"
        return accelerator_model(self.accelerator.type), self.accelerator.count

    def _problems(self, context: Mapping[str, Any]) -> Iterable[tuple[str, str] | Problem]:
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

    def _gcp_problems(self, zones: list[str]) -> Iterable[tuple[str, str] | Problem]:
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
                offered = f"{accelerator} ({name}) is not offered in zone {zone}"
                yield Problem("instanceTypes[0]", offered, after=("accelerator.type",))

    def _attached_problems(self, name: str) -> Iterable[tuple[str, str]]:
        if self.accelerator is None:
            yield "accelerator", f"{name} has no GPU: name an accelerator ({', '.join(sorted(ATTACHABLE))})"
        elif self.accelerator.type not in ATTACHABLE:
            yield "accelerator.type", f"'{self.accelerator.type}' is not one of {', '.join(sorted(ATTACHABLE))}"
        elif self.accelerator.count not in ATTACHABLE[self.accelerator.type]:
            counts = ", ".join(map(str, ATTACHABLE[self.accelerator.type]))
            yield "accelerator.count", f"{self.accelerator.type} attaches in counts of {counts}"
