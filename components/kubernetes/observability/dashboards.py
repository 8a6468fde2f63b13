"""Grafana dashboards, generated, never hand-written: Ray's own from the pinned `ray` package (committed by
`make dashboards`, see ray_dashboards.py), and the GPU and KubeRay operator dashboards built from panel
definitions."""

from __future__ import annotations

import json
from typing import Any

from components.kubernetes.observability.alerts import ALLOCATED_GPU
from components.kubernetes.observability.cost import COST_PANELS

# A ConfigMap holds at most 1 MiB of data.
CONFIGMAP_LIMIT_BYTES = 1024 * 1024
SIDECAR_LABEL = {"grafana_dashboard": "1"}


def _panel(panel_id: int, title: str, expr: str, unit: str, legend: str, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


def _dashboard(uid: str, title: str, panels: list[tuple[str, str, str, str]]) -> str:
    built = [
        _panel(i + 1, t, e, u, legend, x=(i % 2) * 12, y=(i // 2) * 8) for i, (t, e, u, legend) in enumerate(panels)
    ]
    return json.dumps(
        {
            "uid": uid,
            "title": title,
            "tags": ["ray-platform"],
            "schemaVersion": 39,
            "time": {"from": "now-6h", "to": "now"},
            "templating": {"list": [{"name": "datasource", "type": "datasource", "query": "prometheus"}]},
            "panels": built,
        }
    )


GPU_PANELS = [
    ("GPU utilization", "avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL)", "percent", "{{Hostname}} GPU {{gpu}}"),
    (
        "GPU memory used",
        "sum by (Hostname, gpu) (DCGM_FI_DEV_FB_USED) * 1024 * 1024",
        "bytes",
        "{{Hostname}} GPU {{gpu}}",
    ),
    (
        "GPUs idle while allocated to a pod",
        f"count(DCGM_FI_DEV_GPU_UTIL{{{ALLOCATED_GPU}}} < 5) or vector(0)",
        "none",
        "idle",
    ),
    ("Power draw", "sum by (Hostname) (DCGM_FI_DEV_POWER_USAGE)", "watt", "{{Hostname}}"),
    ("GPU temperature", "max by (Hostname, gpu) (DCGM_FI_DEV_GPU_TEMP)", "celsius", "{{Hostname}} GPU {{gpu}}"),
    ("XID errors", "max by (Hostname, gpu) (DCGM_FI_DEV_XID_ERRORS)", "none", "{{Hostname}} GPU {{gpu}}"),
]
KUBERAY_PANELS = [
    ("Operator up", 'up{job=~".*kuberay-operator.*"}', "none", "{{pod}}"),
    (
        "Reconciles per second",
        "sum by (controller) (rate(controller_runtime_reconcile_total[5m]))",
        "reqps",
        "{{controller}}",
    ),
    (
        "Reconcile errors per second",
        "sum by (controller) (rate(controller_runtime_reconcile_errors_total[5m]))",
        "reqps",
        "{{controller}}",
    ),
    ("Work queue depth", "sum by (name) (workqueue_depth)", "none", "{{name}}"),
    (
        "Reconcile time p99",
        "histogram_quantile(0.99, sum by (controller, le) "
        "(rate(controller_runtime_reconcile_time_seconds_bucket[5m])))",
        "s",
        "{{controller}}",
    ),
    ("Ray clusters active nodes", "sum by (ray_io_cluster) (ray_cluster_active_nodes)", "none", "{{ray_io_cluster}}"),
]


_GPU_SELECTOR = 'resource_type="nvidia.com/gpu"'
KARPENTER_PANELS = [
    (
        "GPUs provisioned per NodePool",
        f"sum by (nodepool) (karpenter_nodepools_usage{{{_GPU_SELECTOR}}})",
        "none",
        "{{nodepool}}",
    ),
    (
        "GPU limit per NodePool",
        f"max by (nodepool) (karpenter_nodepools_limit{{{_GPU_SELECTOR}}})",
        "none",
        "{{nodepool}}",
    ),
    (
        "Nodes launched per hour",
        "sum by (nodepool) (increase(karpenter_nodeclaims_created_total[1h]))",
        "none",
        "{{nodepool}}",
    ),
    (
        "Nodes disrupted per hour",
        "sum by (nodepool, reason) (increase(karpenter_nodeclaims_disrupted_total[1h]))",
        "none",
        "{{nodepool}} {{reason}}",
    ),
    (
        "Launch failures per hour",
        "sum by (reason, capacity_type) (increase(karpenter_cloudprovider_instance_launch_failures_total[1h]))",
        "none",
        "{{reason}} {{capacity_type}}",
    ),
    (
        "Interruption messages per hour",
        "sum by (message_type) (increase(karpenter_interruption_received_messages_total[1h]))",
        "none",
        "{{message_type}}",
    ),
    ("Pods waiting for Karpenter", "max(karpenter_scheduler_queue_depth)", "none", "queued"),
    (
        "Scheduling simulation p99",
        "histogram_quantile(0.99, sum by (le) (rate(karpenter_scheduler_scheduling_duration_seconds_bucket[5m])))",
        "s",
        "p99",
    ),
]


def platform_dashboards(*, karpenter: bool = False) -> dict[str, str]:
    built = {
        "gpu": _dashboard("rayplat-gpu", "GPUs (DCGM)", GPU_PANELS),
        "kuberay-operator": _dashboard("rayplat-kuberay", "KubeRay operator", KUBERAY_PANELS),
        "cost": _dashboard("rayplat-cost", "Cost per team and pool", COST_PANELS),
    }
    if karpenter:
        built["karpenter"] = _dashboard("rayplat-karpenter", "Karpenter GPU NodePools", KARPENTER_PANELS)
    return built


def dashboard_configmap(name: str, dashboard: str, namespace: str) -> dict[str, Any]:
    """One dashboard per ConfigMap, labelled for Grafana's sidecar."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"dashboard-{name}", "namespace": namespace, "labels": SIDECAR_LABEL},
        "data": {f"{name}.json": dashboard},
    }
