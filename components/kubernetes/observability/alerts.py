"""Alerts that catch an outage early and money burning quietly, each linked to its runbook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog.labels import GPU_RESOURCE
from components.kubernetes.observability.monitors import RELEASE_LABEL, job_name
from components.nodes import PoolSpec


@dataclass(frozen=True)
class Alert:
    name: str
    runbook: str  # docs/runbooks/<runbook>.md
    expr: str
    duration: str
    severity: str
    summary: str
    labels: tuple[tuple[str, str], ...] = ()


def metric_label(label: str) -> str:
    """How kube-state-metrics names a Kubernetes label on kube_node_labels."""
    return "label_" + "".join(c if c.isalnum() else "_" for c in label)


def gpu_pending_expr(pool: PoolSpec) -> str:
    """GPU pods the scheduler cannot place while the pool already runs its maximum number of nodes.
    (Unschedulable, not merely Pending: a pod pulling a large image on its node is Pending too.)"""
    selector = ",".join(f'{metric_label(k)}="{v}"' for k, v in sorted(pool.selector.items()))
    return f"count(kube_node_labels{{{selector}}}) >= {pool.max_size} and on () {_UNSCHEDULABLE_GPU_PODS}"


_UNSCHEDULABLE_GPU_PODS = (
    'sum(kube_pod_container_resource_requests{resource="nvidia_com_gpu"} '
    "* on (namespace, pod) group_left () (kube_pod_status_unschedulable == 1)) > 0"
)


def karpenter_pending_expr(pool: PoolSpec) -> str:
    """GPU pods the scheduler cannot place while the pool's NodePool already provisions its GPU limit."""
    selector = f'nodepool="{pool.name}", resource_type="{GPU_RESOURCE}"'
    return (
        f"max(karpenter_nodepools_usage{{{selector}}}) >= max(karpenter_nodepools_limit{{{selector}}}) "
        f"and on () {_UNSCHEDULABLE_GPU_PODS}"
    )


def karpenter_alerts() -> list[Alert]:
    return [
        Alert(
            "KarpenterDown",
            "karpenter-not-launching",
            'absent(up{job=~".*karpenter.*"} == 1)',
            "10m",
            "critical",
            "Karpenter is down: no GPU node is launched for pending pods, and none is consolidated away.",
        ),
        Alert(
            "KarpenterLaunchesFailing",
            "karpenter-not-launching",
            f"sum by (reason, capacity_type) (increase({LAUNCH_FAILURES}[15m])) > 0",
            "15m",
            "warning",
            "Karpenter's EC2 launches keep failing ({{ $labels.reason }}, {{ $labels.capacity_type }}): pods wait.",
        ),
        Alert(
            "KarpenterInsufficientCapacity",
            "karpenter-not-launching",
            f'sum by (zone, capacity_type) (increase({LAUNCH_FAILURES}{{reason=~"{INSUFFICIENT_CAPACITY}"}}[30m])) > 0',
            "30m",
            "warning",
            "EC2 has no {{ $labels.capacity_type }} capacity for the pool's GPU types in {{ $labels.zone }} "
            "for 30 minutes: add instance types, zones, or on-demand fallback.",
        ),
    ]


LAUNCH_FAILURES = "karpenter_cloudprovider_instance_launch_failures_total"
# EC2's insufficient-capacity error codes (InsufficientInstanceCapacity, ...), as Karpenter's reason label.
INSUFFICIENT_CAPACITY = "(?i).*insufficient.*capacity.*"
# dcgm-exporter labels a GPU with the pod using it; with honorLabels, an unallocated GPU keeps the
# exporter's own pod label instead, so those are left out.
ALLOCATED_GPU = 'pod!="", pod!~"dcgm-exporter.*"'


# The money idle GPUs of the alert's pod burn, from the cost recording rule (catalogue prices).
IDLE_COST_TEMPLATE = (
    " ({{ with printf \"sum(rayplat:gpu_idle_allocated:usd_per_hour{namespace='%s', pod='%s'})\" "
    '$labels.namespace $labels.pod | query }}{{ . | first | value | printf "$%.2f" }}{{ end }} per hour).'
)


def alerts(gpu_pools: list[PoolSpec], namespace: str = "monitoring", *, karpenter: bool = False) -> list[Alert]:
    head_job = job_name(namespace, "ray-head")
    fixed = [
        Alert(
            "RayHeadDown",
            "ray-head-down",
            f'up{{job="{head_job}", endpoint="metrics"}} == 0',
            "5m",
            "critical",
            "Ray head of cluster {{ $labels.ray_io_cluster }} is not answering: jobs cannot be submitted.",
        ),
        Alert(
            "KubeRayOperatorDown",
            "kuberay-operator-down",
            'absent(up{job=~".*kuberay-operator.*"} == 1)',
            "10m",
            "critical",
            "The KubeRay operator is down: Ray clusters are neither created, scaled nor repaired.",
        ),
        Alert(
            "GpuAllocatedButIdle",
            "gpu-idle",
            f"avg by (namespace, pod, Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL{{{ALLOCATED_GPU}}}) < 5",
            "30m",
            "warning",
            "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} is allocated to {{ $labels.namespace }}/"
            "{{ $labels.pod }} but idle for 30 minutes: it is costing money for nothing" + IDLE_COST_TEMPLATE,
        ),
        Alert(
            "ClusterAutoscalerFailingToScaleUp",
            "autoscaler-failing",
            "increase(cluster_autoscaler_failed_scale_ups_total[15m]) > 0",
            "0m",
            "warning",
            "cluster-autoscaler failed to add nodes ({{ $labels.reason }}): pending pods wait.",
        ),
        Alert(
            "PrometheusDiskFilling",
            "prometheus-disk-filling",
            'predict_linear(kubelet_volume_stats_available_bytes{persistentvolumeclaim=~"prometheus-.*"}[6h], '
            "4 * 3600) < 0",
            "30m",
            "warning",
            "Prometheus will run out of disk within 4 hours.",
        ),
    ]
    pools = [
        Alert(
            "GpuPoolAtMaxWithPendingPods",
            "gpu-pods-pending",
            karpenter_pending_expr(pool) if karpenter else gpu_pending_expr(pool),
            "15m",
            "warning",
            f"GPU pool {pool.name} is at its maximum of {pool.max_size} nodes and GPU pods are pending.",
            labels=(("pool", pool.name),),
        )
        for pool in gpu_pools
    ]
    return fixed + pools + (karpenter_alerts() if karpenter else [])


def runbook_annotations(alert: Alert, runbook_base: str | None) -> dict[str, str]:
    """The alert's page by its path in the repository, and, where the stack says where the pages are
    browsable, the absolute link Alertmanager and Grafana show (``runbook_url``)."""
    page = f"{alert.runbook}.md"
    return {"runbook": f"docs/runbooks/{page}", **({"runbook_url": f"{runbook_base}{page}"} if runbook_base else {})}


def prometheus_rule(
    name: str, namespace: str, gpu_pools: list[PoolSpec], runbook_base: str | None, *, karpenter: bool = False
) -> dict[str, Any]:
    rules = [
        {
            "alert": alert.name,
            "expr": alert.expr,
            "for": alert.duration,
            "labels": {"severity": alert.severity, **dict(alert.labels)},
            "annotations": runbook_annotations(alert, runbook_base) | {"summary": alert.summary},
        }
        for alert in alerts(gpu_pools, namespace, karpenter=karpenter)
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": namespace, "labels": RELEASE_LABEL},
        "spec": {"groups": [{"name": "ray-platform", "rules": rules}]},
    }
