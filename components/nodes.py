"""Node pools as every cloud layer and the kubernetes layer see them: labels, taints, GPU shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from catalog.capacity import max_gpus
from catalog.labels import ACCELERATOR_LABEL, GPU_PRESENT_LABEL, GPU_TAINT, POOL_LABEL, ROLE_LABEL


@dataclass(frozen=True)
class PoolSpec:
    """One node pool as the kubernetes layer sees it, whatever the cloud."""

    name: str
    labels: dict[str, str]
    taints: list[dict[str, str]]
    min_size: int
    max_size: int
    instance_types: list[str] = field(default_factory=list)
    gpu_model: str | None = None
    gpus_per_node: int = 0
    # How to select the pool's nodes; the platform's own pools carry the pool label.
    node_selector: dict[str, str] | None = None

    @property
    def is_gpu(self) -> bool:
        return self.gpus_per_node > 0

    @property
    def max_gpus(self) -> int:
        return max_gpus(self.max_size, self.gpus_per_node)

    @property
    def selector(self) -> dict[str, str]:
        return self.node_selector if self.node_selector is not None else {POOL_LABEL: self.name}


def system_labels(pool: str, extra: dict[str, str]) -> dict[str, str]:
    return {**extra, POOL_LABEL: pool, ROLE_LABEL: "system"}


def gpu_labels(pool: str, gpu_model: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        **extra,
        POOL_LABEL: pool,
        ROLE_LABEL: "gpu",
        ACCELERATOR_LABEL: f"nvidia-{gpu_model.lower()}",
        GPU_PRESENT_LABEL: "true",
    }


def gpu_taints(extra: list[dict[str, str]]) -> list[dict[str, str]]:
    return [GPU_TAINT, *(t for t in extra if t["key"] != GPU_TAINT["key"])]


@dataclass(frozen=True)
class ManagedPool:
    """A node pool a cloud layer creates: its spec, and how the cloud buys and sizes its nodes."""

    spec: PoolSpec
    spot: bool
    initial_size: int
    disk_size_gib: int
    # GCP N1 machines: the accelerator attached to each node (other machine types have theirs built in).
    accelerator: str | None = None
