"""What Prometheus scrapes: Ray heads and workers (PodMonitors), as KubeRay's examples do."""

from __future__ import annotations

from typing import Any

from catalog.ray_ports import RAY_METRICS_PORTS

# kube-prometheus-stack selects every monitor and rule (the *NilUsesHelmValues switches are off); the
# release label is kept as well, so the monitors are still found if someone turns them back on.
RELEASE_NAME = "kube-prometheus-stack"
RELEASE_LABEL = {"release": RELEASE_NAME}
_CLUSTER_RELABEL = {
    "action": "replace",
    "sourceLabels": ["__meta_kubernetes_pod_label_ray_io_cluster"],
    "targetLabel": "ray_io_cluster",
}


def job_name(namespace: str, monitor: str) -> str:
    """The `job` label prometheus-operator gives a PodMonitor's targets (no jobLabel set)."""
    return f"{namespace}/{monitor}"


def _pod_monitor(name: str, namespace: str, node_type: str, ports: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": name, "namespace": namespace, "labels": RELEASE_LABEL},
        "spec": {
            "namespaceSelector": {"any": True},
            "selector": {"matchLabels": {"ray.io/node-type": node_type}},
            "podMetricsEndpoints": [{"port": port, "relabelings": [_CLUSTER_RELABEL]} for port in ports],
        },
    }


def cluster_autoscaler_monitor(namespace: str) -> dict[str, Any]:
    """cluster-autoscaler (installed by the AWS layer before these CRDs exist) is scraped from here."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "cluster-autoscaler", "namespace": namespace, "labels": RELEASE_LABEL},
        "spec": {
            "namespaceSelector": {"matchNames": ["kube-system"]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "aws-cluster-autoscaler"}},
            "podMetricsEndpoints": [{"port": "http"}],
        },
    }


def karpenter_monitor(namespace: str) -> dict[str, Any]:
    """Karpenter's controller (installed by the AWS layer before these CRDs exist): its chart's Service in
    kube-system exposes the metrics on the port named http-metrics."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "karpenter", "namespace": namespace, "labels": RELEASE_LABEL},
        "spec": {
            "namespaceSelector": {"matchNames": ["kube-system"]},
            "selector": {"matchLabels": {"app.kubernetes.io/name": "karpenter"}},
            "endpoints": [{"port": "http-metrics"}],
        },
    }


def ray_pod_monitors(namespace: str) -> list[dict[str, Any]]:
    """Heads expose node, autoscaler and dashboard metrics; workers, node metrics only."""
    return [
        _pod_monitor("ray-head", namespace, "head", list(RAY_METRICS_PORTS)),
        _pod_monitor("ray-workers", namespace, "worker", ["metrics"]),
        cluster_autoscaler_monitor(namespace),
    ]
