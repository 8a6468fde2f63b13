"""Karpenter's own knobs on a GPU pool, and the rules that keep them to stacks that run Karpenter."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import Field

from stackconfig.base import ConfigModel, raw_int, raw_list, raw_mapping

PROVISIONERS = ("cluster-autoscaler", "karpenter")
Provisioner = Literal["cluster-autoscaler", "karpenter"]
DEFAULT_PROVISIONER: Provisioner = "cluster-autoscaler"

# Karpenter's duration format (NodePool consolidateAfter / expireAfter): Go durations in s, m, h, or Never.
_DURATION = r"^(([0-9]+(s|m|h))+|Never)$"


class KarpenterPoolConfig(ConfigModel):
    """How Karpenter buys and retires one GPU pool's nodes (``gpuPools[].karpenter``)."""

    # How long a node stays empty or underutilised before Karpenter consolidates it away.
    consolidate_after: str = Field(default="10m", pattern=_DURATION)
    # A node's maximum lifetime: it is replaced after this, so nodes pick up new AMIs.
    expire_after: str = Field(default="720h", pattern=_DURATION)
    # At most this share (or number) of the pool's nodes disrupted at once by consolidation, drift, expiry.
    disruption_budget: str = Field(default="10%", pattern=r"^((100|[0-9]{1,2})%|[0-9]+)$")
    # A spot pool may fall back to on-demand when spot capacity is short.
    on_demand_fallback: bool = False


def provisioner(raw: Mapping[str, Any]) -> Any:
    return raw_mapping(raw.get("aws")).get("provisioner", DEFAULT_PROVISIONER)


def karpenter_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """Karpenter's knobs only where Karpenter runs; a Karpenter pool launches nodes for pending pods only."""
    karpenter = provisioner(raw) == "karpenter"
    for i, pool in enumerate(map(raw_mapping, raw_list(raw.get("gpuPools")))):
        where = f"gpuPools[{i}]"
        knobs = pool.get("karpenter")
        if knobs is not None and not karpenter:
            yield f"{where}.karpenter", "applies only when aws.provisioner is 'karpenter'"
        if not karpenter:
            continue
        if raw_mapping(knobs).get("onDemandFallback") is True and pool.get("capacityType") != "spot":
            yield f"{where}.karpenter.onDemandFallback", "applies to spot pools only (capacityType: spot)"
        if (raw_int(pool.get("minSize")) or 0) > 0:
            yield f"{where}.minSize", "must be 0 with Karpenter: it launches nodes for pending pods only"
        if pool.get("desiredSize") is not None:
            yield f"{where}.desiredSize", "does not apply with Karpenter: it sizes the pool from pending pods"
