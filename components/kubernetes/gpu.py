"""The NVIDIA device plugin: advertises nvidia.com/gpu on GPU pools, and runs nowhere else."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from catalog import versions
from catalog.labels import GPU_TOLERATION
from components.helm import pinned_release
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "kube-system"


def gpu_node_affinity(pools: list[PoolSpec]) -> dict:
    """Nodes of any of the GPU pools (each pool's selector is one term; terms are ORed)."""
    terms = [
        {"matchExpressions": [{"key": k, "operator": "In", "values": [v]} for k, v in sorted(pool.selector.items())]}
        for pool in pools
    ]
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}


def device_plugin_values(pools: list[PoolSpec]) -> dict:
    return {
        "affinity": gpu_node_affinity(pools),
        "tolerations": [GPU_TOLERATION],
        "priorityClassName": "system-node-critical",
    }


class NvidiaDevicePlugin(pulumi.ComponentResource):
    def __init__(
        self, name: str, pools: list[PoolSpec], *, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:kubernetes:NvidiaDevicePlugin", name, None, opts)
        pinned_release(
            name,
            versions.NVIDIA_DEVICE_PLUGIN,
            namespace=NAMESPACE,
            values=device_plugin_values(pools),
            opts=child_options(self, provider, opts),
        )
        self.register_outputs({"version": versions.NVIDIA_DEVICE_PLUGIN.version})
