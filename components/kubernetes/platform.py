"""The kubernetes layer: what every stack installs onto its cluster, whatever the cloud."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.handle import ClusterHandle
from components.kubernetes import manifests
from components.kubernetes.gpu import NvidiaDevicePlugin
from components.kubernetes.kuberay import KubeRayArgs, KubeRayOperator


@dataclass(frozen=True)
class RayWorkloads:
    namespace: str
    service_account: str


class KubernetesPlatform(pulumi.ComponentResource):
    ray_service_account_annotations: pulumi.Output[dict[str, str]]

    def __init__(
        self, name: str, handle: ClusterHandle, ray: RayWorkloads, *, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:kubernetes:Platform", name, None, opts)
        provider = handle.provider
        after_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=handle.ready)

        KubeRayOperator(
            f"{name}-kuberay",
            KubeRayArgs(system_pool=handle.system_pool, cost_labels=handle.cost_labels),
            provider=provider,
            opts=after_cluster,
        )
        if handle.gpu_pools and handle.installs_device_plugin:
            NvidiaDevicePlugin(f"{name}-nvidia-device-plugin", handle.gpu_pools, provider=provider, opts=after_cluster)

        namespace = k8s.core.v1.Namespace(
            f"{name}-{ray.namespace}",
            metadata=manifests.namespace(ray.namespace, handle.cost_labels, "baseline")["metadata"],
            opts=after_cluster,
        )
        annotations = handle.bind_identity(
            f"{name}-ray", ray.namespace, ray.service_account, opts=pulumi.ResourceOptions(depends_on=[namespace])
        )
        k8s.core.v1.ServiceAccount(
            f"{name}-ray",
            metadata=annotations.apply(
                lambda a: manifests.service_account(ray.service_account, ray.namespace, handle.cost_labels, a)[
                    "metadata"
                ]
            ),
            opts=pulumi.ResourceOptions.merge(after_cluster, pulumi.ResourceOptions(depends_on=[namespace])),
        )
        self.ray_service_account_annotations = annotations
        self.register_outputs({"ray_service_account_annotations": annotations})
