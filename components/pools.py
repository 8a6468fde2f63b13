"""The stack's node pools as the kubernetes layer sees them (PoolSpec), whatever the cloud."""

from __future__ import annotations

from components.nodes import PoolSpec, gpu_labels, gpu_taints, system_labels
from infra.config import GpuPool, PlatformConfig
from infra.config import NodePool as PoolConfig


def pool_specs(config: PlatformConfig) -> tuple[PoolSpec, list[PoolSpec]]:
    system = config.system_pool
    system_spec = PoolSpec(
        name=system.name,
        labels=system_labels(system.name, system.labels),
        taints=_taints(system),
        min_size=system.min_size,
        max_size=system.max_size,
        instance_types=list(system.instance_types),
    )
    return system_spec, [_gpu_spec(pool) for pool in config.gpu_pools]


def _gpu_spec(pool: GpuPool) -> PoolSpec:
    return PoolSpec(
        name=pool.name,
        labels=gpu_labels(pool.name, pool.gpu_model, pool.labels),
        taints=gpu_taints(_taints(pool)),
        min_size=pool.min_size,
        max_size=pool.max_size,
        instance_types=list(pool.instance_types),
        gpu_model=pool.gpu_model,
        gpus_per_node=pool.gpus_per_node,
    )


def _taints(pool: PoolConfig) -> list[dict[str, str]]:
    return [{"key": t.key, "value": t.value, "effect": t.effect} for t in pool.taints]
