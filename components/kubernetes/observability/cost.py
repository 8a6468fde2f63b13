"""In-cluster cost: OpenCost reading the platform's Prometheus (port-forward only), a recording rule that
prices idle allocated GPUs at the catalogue's hourly price of their pool, and the panels of the cost
dashboard (per team, per pool)."""

from __future__ import annotations

from typing import Any

from catalog.labels import POOL_LABEL
from components.kubernetes.observability.alerts import ALLOCATED_GPU, metric_label
from components.kubernetes.observability.monitors import RELEASE_LABEL, RELEASE_NAME

PROMETHEUS_PORT = 9090
GPU_PRICE = "rayplat:gpu_hourly_usd"
IDLE_GPU_COST = "rayplat:gpu_idle_allocated:usd_per_hour"
TEAM_LABEL_METRIC = metric_label("team")
POOL_LABEL_METRIC = metric_label(POOL_LABEL)


def opencost_values(cluster_id: str, namespace: str, node_selector: dict[str, str]) -> dict[str, Any]:
    """OpenCost on the system pool, reading kube-prometheus-stack's Prometheus, scraped by it, its UI
    reachable through `kubectl port-forward` only (a ClusterIP service, no ingress)."""
    return {
        "service": {"type": "ClusterIP"},
        "opencost": {
            "exporter": {"defaultClusterId": cluster_id},
            "prometheus": {
                "internal": {
                    "enabled": True,
                    "serviceName": f"{RELEASE_NAME}-prometheus",
                    "namespaceName": namespace,
                    "port": PROMETHEUS_PORT,
                }
            },
            "metrics": {"serviceMonitor": {"enabled": True, "additionalLabels": RELEASE_LABEL}},
            "ui": {"enabled": True, "ingress": {"enabled": False}},
            "nodeSelector": node_selector,
        },
    }


def idle_gpu_cost_expr() -> str:
    """USD per hour of GPUs allocated to a pod but idle (under 5 % for the last 10 minutes), per namespace,
    pod and pool: each GPU's node (the exporter's node) joined to its pool, priced per GPU of the pool."""
    idle = f"(avg_over_time(DCGM_FI_DEV_GPU_UTIL{{{ALLOCATED_GPU}}}[10m]) < bool 5) == 1"
    pool = f'label_replace(kube_node_labels, "pool", "$1", "{POOL_LABEL_METRIC}", "(.+)")'
    return (
        f"sum by (namespace, pod, pool) (({idle}) * on (node) group_left (pool) {pool} "
        f"* on (pool) group_left () {GPU_PRICE})"
    )


def cost_rule(namespace: str, gpu_hourly_usd: dict[str, float]) -> dict[str, Any]:
    """Recording rules: each GPU pool's catalogue price per GPU-hour, and the money idle GPUs burn."""
    prices = [
        {"record": GPU_PRICE, "expr": f"vector({usd:.6f})", "labels": {"pool": pool}}
        for pool, usd in sorted(gpu_hourly_usd.items())
    ]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ray-platform-cost", "namespace": namespace, "labels": RELEASE_LABEL},
        "spec": {
            "groups": [
                {
                    "name": "ray-platform-cost",
                    "rules": [*prices, {"record": IDLE_GPU_COST, "expr": idle_gpu_cost_expr()}],
                }
            ]
        },
    }


def _team_cost(resource: str, price: str, scale: str = "") -> str:
    return f"sum by (namespace) ({resource}{scale} * on (node) group_left () {price})"


TEAM_HOURLY = (
    f"sum by ({TEAM_LABEL_METRIC}) (("
    + " + ".join(
        [
            _team_cost("container_cpu_allocation", "node_cpu_hourly_cost"),
            _team_cost("container_memory_allocation_bytes", "node_ram_hourly_cost", " / 1073741824"),
            _team_cost("container_gpu_allocation", "node_gpu_hourly_cost"),
        ]
    )
    + f') * on (namespace) group_left ({TEAM_LABEL_METRIC}) kube_namespace_labels{{{TEAM_LABEL_METRIC}!=""}})'
)
POOL_HOURLY = (
    f"sum by ({POOL_LABEL_METRIC}) (node_total_hourly_cost * on (node) group_left ({POOL_LABEL_METRIC}) "
    "kube_node_labels)"
)
COST_PANELS = [
    ("Cost per team, USD per hour (OpenCost allocation)", TEAM_HOURLY, "currencyUSD", "{{label_team}}"),
    ("Cost per pool, USD per hour (OpenCost)", POOL_HOURLY, "currencyUSD", "{{label_rayplat_io_pool}}"),
    (
        "Idle allocated GPUs, USD per hour (catalogue prices)",
        f"sum by (namespace, pool) ({IDLE_GPU_COST})",
        "currencyUSD",
        "{{namespace}} on {{pool}}",
    ),
    ("GPUs allocated per team (OpenCost)", "sum by (namespace) (container_gpu_allocation)", "none", "{{namespace}}"),
]
