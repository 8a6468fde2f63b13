"""The NVIDIA device plugin: advertises nvidia.com/gpu on GPU pools, and runs nowhere else."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.helm import pinned_release
from components.nodes import GPU_TOLERATION, ROLE_LABEL
from components.options import child_options

NAMESPACE = "kube-system"


def device_plugin_values() -> dict:
    return {
        "nodeSelector": {ROLE_LABEL: "gpu"},
        "tolerations": [GPU_TOLERATION],
        "priorityClassName": "system-node-critical",
    }


class NvidiaDevicePlugin(pulumi.ComponentResource):
    def __init__(self, name: str, *, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:kubernetes:NvidiaDevicePlugin", name, None, opts)
        pinned_release(
            name,
            versions.NVIDIA_DEVICE_PLUGIN,
            namespace=NAMESPACE,
            values=device_plugin_values(),
            opts=child_options(self, provider, opts),
        )
        self.register_outputs({"version": versions.NVIDIA_DEVICE_PLUGIN.version})
