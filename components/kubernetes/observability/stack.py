"""The monitoring stack: kube-prometheus-stack, dcgm-exporter on GPU pools, Ray's monitors, dashboards, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from catalog import versions
from catalog.labels import GPU_TOLERATION, POOL_LABEL, ROLE_LABEL
from components.helm import pinned_release
from components.kubernetes import manifests
from components.kubernetes.custom import custom_resource
from components.kubernetes.gpu import gpu_node_affinity
from components.kubernetes.observability import alerts, cost, dashboards, monitors
from components.kubernetes.observability.ray_dashboards import ray_dashboards
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "monitoring"
GRAFANA_SECRET = "grafana-admin"


@dataclass(frozen=True)
class MonitoringArgs:
    system_pool: PoolSpec
    gpu_pools: list[PoolSpec]
    cost_labels: dict[str, str]
    retention: str
    storage_gib: int
    runbook_base_url: str | None
    # Remote write to a managed Prometheus, with the annotations its service account needs (or None).
    remote_write: pulumi.Output[dict[str, Any]] | None = None
    cluster_id: str = ""
    gpu_hourly_usd: dict[str, float] = field(default_factory=dict)
    # The GPU pools are Karpenter NodePools: scrape Karpenter, alert and chart on its metrics.
    karpenter: bool = False
    # Protected environments: two Prometheus replicas (each its own volume) and a disruption budget.
    replicas: int = 1


def stack_values(args: MonitoringArgs, remote: dict[str, Any] | None) -> dict[str, Any]:
    selector = args.system_pool.selector
    spec: dict[str, Any] = {
        # Select monitors and rules from every namespace, whatever their labels.
        "serviceMonitorSelectorNilUsesHelmValues": False,
        "podMonitorSelectorNilUsesHelmValues": False,
        "ruleSelectorNilUsesHelmValues": False,
        "probeSelectorNilUsesHelmValues": False,
        "serviceMonitorNamespaceSelector": {},
        "podMonitorNamespaceSelector": {},
        "ruleNamespaceSelector": {},
        "replicas": args.replicas,
        "retention": args.retention,
        "retentionSize": f"{int(args.storage_gib * 0.85)}GB",
        "storageSpec": {
            "volumeClaimTemplate": {
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": f"{args.storage_gib}Gi"}},
                }
            }
        },
        "nodeSelector": selector,
        "resources": {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
    }
    if remote:
        spec["remoteWrite"] = [remote["remoteWrite"]]
    values: dict[str, Any] = {
        "crds": {
            "upgradeJob": {
                "enabled": True,
                "image": {"busybox": {"tag": versions.BUSYBOX_TAG}, "kubectl": {"tag": versions.KUBECTL_TAG}},
            }
        },
        "prometheus": {
            "prometheusSpec": spec,
            "podDisruptionBudget": {"enabled": args.replicas > 1, "minAvailable": 1},
        },
        "alertmanager": {"alertmanagerSpec": {"nodeSelector": selector}},
        "grafana": {
            "admin": {"existingSecret": GRAFANA_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"},
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
            "ingress": {"enabled": False},
        },
        # Node labels on kube_node_labels, for the per-pool alerts.
        # Node labels on kube_node_labels, for the per-pool alerts and costs; the team label of namespaces.
        "kube-state-metrics": {
            "metricLabelsAllowlist": [f"nodes=[{','.join(node_label_keys(args))}]", "namespaces=[team]"]
        },
        "prometheusOperator": {"nodeSelector": selector},
    }
    if remote:
        values["prometheus"]["serviceAccount"] = {"annotations": remote["annotations"]}
    return values


def node_label_keys(args: MonitoringArgs) -> list[str]:
    """Node labels kube-state-metrics exports: the platform's, and those existing pools are selected by."""
    keys = {POOL_LABEL, ROLE_LABEL}
    keys.update(k for pool in [args.system_pool, *args.gpu_pools] for k in pool.selector)
    return sorted(keys)


def dcgm_values(gpu_pools: list[PoolSpec]) -> dict[str, Any]:
    return {
        "image": {"tag": versions.DCGM_EXPORTER_IMAGE_TAG},
        "tolerations": [GPU_TOLERATION],
        "affinity": gpu_node_affinity(gpu_pools),
        # Keep the pod and namespace labels dcgm-exporter attaches to each GPU's series, and label each with
        # its node (the exporter's), to join GPUs to their pool and its price.
        "serviceMonitor": {
            "enabled": True,
            "honorLabels": True,
            "additionalLabels": monitors.RELEASE_LABEL,
            "relabelings": [
                {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"}
            ],
        },
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }


class MonitoringStack(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: MonitoringArgs, *, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:kubernetes:Monitoring", name, None, opts)
        child = child_options(self, provider, opts)
        # node-exporter needs the host's network and PID namespaces.
        namespace = k8s.core.v1.Namespace(
            name, metadata=manifests.namespace(NAMESPACE, args.cost_labels, "privileged")["metadata"], opts=child
        )
        password = random.RandomPassword(
            f"{name}-grafana", length=32, special=False, opts=pulumi.ResourceOptions(parent=self)
        )
        secret = k8s.core.v1.Secret(
            f"{name}-grafana",
            metadata={"name": GRAFANA_SECRET, "namespace": namespace.metadata.name},
            string_data={"admin-user": "admin", "admin-password": password.result},
            opts=child,
        )
        values: pulumi.Input[dict[str, Any]] = (
            args.remote_write.apply(lambda remote: stack_values(args, remote))
            if args.remote_write
            else stack_values(args, None)
        )
        release = pinned_release(
            name,
            versions.KUBE_PROMETHEUS_STACK,
            namespace=namespace.metadata.name,
            values=values,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[secret])),
        )
        after_crds = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release]))
        if args.gpu_pools:
            pinned_release(
                f"{name}-dcgm-exporter",
                versions.DCGM_EXPORTER,
                namespace=namespace.metadata.name,
                values=dcgm_values(args.gpu_pools),
                opts=after_crds,
            )
        for monitor in monitors.ray_pod_monitors(NAMESPACE) + (
            [monitors.karpenter_monitor(NAMESPACE)] if args.karpenter else []
        ):
            custom_resource(f"{name}-{monitor['metadata']['name']}", monitor, after_crds)
        rule = alerts.prometheus_rule(
            "ray-platform", NAMESPACE, args.gpu_pools, args.runbook_base_url, karpenter=args.karpenter
        )
        custom_resource(f"{name}-alerts", rule, after_crds)
        pinned_release(
            f"{name}-opencost",
            versions.OPENCOST,
            namespace=namespace.metadata.name,
            values=cost.opencost_values(args.cluster_id, NAMESPACE, args.system_pool.selector),
            opts=after_crds,
        )
        if args.gpu_hourly_usd:
            custom_resource(f"{name}-cost-rules", cost.cost_rule(NAMESPACE, args.gpu_hourly_usd), after_crds)
        platform = dashboards.platform_dashboards(karpenter=args.karpenter)
        for dashboard_name, dashboard in {**ray_dashboards(), **platform}.items():
            configmap = dashboards.dashboard_configmap(dashboard_name, dashboard, NAMESPACE)
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{dashboard_name}",
                metadata=configmap["metadata"],
                data=configmap["data"],
                opts=after_crds,
            )
        self.register_outputs({"namespace": NAMESPACE})
