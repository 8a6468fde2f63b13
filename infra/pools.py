"""The stack's node pools as the cloud layers and the kubernetes layer see them, whatever the cloud."""

from __future__ import annotations

from components.aws.karpenter import KarpenterPoolOptions
from components.nodes import ManagedPool, PoolSpec, gpu_labels, gpu_taints, system_labels
from stackconfig.existing import ExistingPoolConfig
from stackconfig.karpenter import KarpenterPoolConfig
from stackconfig.platform import PlatformConfig
from stackconfig.pools import GpuPoolConfig, PoolConfig, TaintConfig


def managed_pools(config: PlatformConfig) -> tuple[ManagedPool, list[ManagedPool]]:
    """The system pool and the GPU pools a cloud layer creates."""
    system = config.system_pool
    system_spec = PoolSpec(
        name=system.name,
        labels=system_labels(system.name, system.labels),
        taints=_taints(system.taints),
        min_size=system.min_size,
        max_size=system.max_size,
        instance_types=list(system.instance_types),
    )
    return _managed(system, system_spec), [
        _managed(pool, _gpu_spec(pool), pool.accelerator_type) for pool in config.gpu_pools
    ]


def karpenter_options(config: PlatformConfig) -> dict[str, KarpenterPoolOptions]:
    """Each GPU pool's Karpenter knobs, the defaults where the pool sets none."""
    options = {}
    for pool in config.gpu_pools:
        knobs = pool.karpenter or KarpenterPoolConfig()
        options[pool.name] = KarpenterPoolOptions(
            consolidate_after=knobs.consolidate_after,
            expire_after=knobs.expire_after,
            disruption_budget=knobs.disruption_budget,
            on_demand_fallback=knobs.on_demand_fallback,
        )
    return options


def existing_pool_spec(pool: ExistingPoolConfig) -> PoolSpec:
    """A pool of an existing cluster: selected by its own labels."""
    return PoolSpec(
        name=pool.name,
        labels=dict(pool.labels),
        node_selector=dict(pool.labels),
        taints=_taints(pool.taints),
        min_size=0,
        max_size=pool.max_nodes,
        gpu_model=pool.gpu_model,
        gpus_per_node=pool.gpus_per_node,
    )


def _managed(pool: PoolConfig, spec: PoolSpec, accelerator: str | None = None) -> ManagedPool:
    return ManagedPool(
        spec=spec,
        spot=pool.capacity_type == "spot",
        initial_size=pool.initial_size,
        disk_size_gib=pool.disk_size_gib,
        accelerator=accelerator,
    )


def _gpu_spec(pool: GpuPoolConfig) -> PoolSpec:
    return PoolSpec(
        name=pool.name,
        labels=gpu_labels(pool.name, pool.gpu_model, pool.labels),
        taints=gpu_taints(_taints(pool.taints)),
        min_size=pool.min_size,
        max_size=pool.max_size,
        instance_types=list(pool.instance_types),
        gpu_model=pool.gpu_model,
        gpus_per_node=pool.gpus_per_node,
    )


def _taints(taints: list[TaintConfig]) -> list[dict[str, str]]:
    return [{"key": t.key, "value": t.value, "effect": t.effect} for t in taints]
