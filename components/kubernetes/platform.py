"""The kubernetes layer: what every stack installs onto its cluster, whatever the cloud."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.handle import ClusterHandle
from components.kubernetes import manifests
from components.kubernetes.gpu import NvidiaDevicePlugin
from components.kubernetes.kuberay import KubeRayArgs, KubeRayOperator
from components.kubernetes.observability.monitors import RELEASE_NAME
from components.kubernetes.observability.stack import NAMESPACE as MONITORING_NAMESPACE
from components.kubernetes.observability.stack import MonitoringArgs, MonitoringStack
from components.kubernetes.teams import Kueue, Team, TeamWorkloads, gcs_stores, team_component_name


@dataclass(frozen=True)
class RayWorkloads:
    namespace: str
    service_account: str


@dataclass(frozen=True)
class Monitoring:
    enabled: bool
    retention: str
    storage_gib: int
    runbook_base_url: str | None
    managed_prometheus: bool
    # OpenCost's cluster id, and each GPU pool's catalogue price per GPU-hour (idle GPUs are priced with it).
    cluster_id: str = ""
    gpu_hourly_usd: dict[str, float] = field(default_factory=dict)


# The service account kube-prometheus-stack gives Prometheus (release name + "-prometheus").
PROMETHEUS_SERVICE_ACCOUNT = f"{RELEASE_NAME}-prometheus"


class KubernetesPlatform(pulumi.ComponentResource):
    ray_service_account_annotations: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        name: str,
        handle: ClusterHandle,
        ray: RayWorkloads,
        monitoring: Monitoring,
        teams: list[TeamWorkloads],
        *,
        highly_available: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:kubernetes:Platform", name, None, opts)
        provider = handle.provider
        after_cluster = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=handle.ready)

        kuberay_opts = after_cluster
        if monitoring.enabled:
            stack = self._monitoring(name, handle, monitoring, after_cluster, 2 if highly_available else 1)
            # The operator's (and Kueue's) ServiceMonitor needs the monitoring CRDs.
            kuberay_opts = pulumi.ResourceOptions.merge(after_cluster, pulumi.ResourceOptions(depends_on=[stack]))
        kuberay = KubeRayOperator(
            f"{name}-kuberay",
            KubeRayArgs(
                system_pool=handle.system_pool,
                cost_labels=handle.cost_labels,
                service_monitor=monitoring.enabled,
                replicas=2 if highly_available else 1,
            ),
            provider=provider,
            opts=kuberay_opts,
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
        if teams:
            # Teams' RayClusters need the operator's CRDs; queues need Kueue's.
            with_operator = pulumi.ResourceOptions.merge(kuberay_opts, pulumi.ResourceOptions(depends_on=[kuberay]))
            kueue = Kueue(
                f"{name}-kueue",
                handle,
                prometheus=monitoring.enabled,
                replicas=2 if highly_available else 1,
                opts=kuberay_opts,
            )
            stores = gcs_stores(name, teams, handle)
            for workloads in teams:
                Team(
                    team_component_name(name, workloads.team.name),
                    workloads,
                    handle,
                    kueue=kueue,
                    stores=stores,
                    opts=with_operator,
                )
        self.register_outputs({"ray_service_account_annotations": annotations})

    def _monitoring(
        self, name: str, handle: ClusterHandle, monitoring: Monitoring, opts: pulumi.ResourceOptions, replicas: int
    ) -> MonitoringStack:
        remote = None
        if monitoring.managed_prometheus:
            if handle.managed_prometheus is None:
                raise ValueError("this cloud offers no managed Prometheus")
            remote = handle.managed_prometheus(MONITORING_NAMESPACE, PROMETHEUS_SERVICE_ACCOUNT)
        return MonitoringStack(
            f"{name}-monitoring",
            MonitoringArgs(
                system_pool=handle.system_pool,
                gpu_pools=handle.gpu_pools,
                cost_labels=handle.cost_labels,
                retention=monitoring.retention,
                storage_gib=monitoring.storage_gib,
                runbook_base_url=monitoring.runbook_base_url,
                remote_write=remote,
                cluster_id=monitoring.cluster_id,
                gpu_hourly_usd=monitoring.gpu_hourly_usd,
                karpenter=handle.karpenter,
                replicas=replicas,
            ),
            provider=handle.provider,
            opts=opts,
        )
