"""Kubernetes objects as pure functions returning dicts; components only wrap them in resources."""

from __future__ import annotations

from typing import Any

POD_SECURITY_LEVELS = ("privileged", "baseline", "restricted")


def namespace(name: str, cost_labels: dict[str, str], pod_security: str) -> dict:
    """A namespace carrying the cost labels and an enforced Pod Security level."""
    if pod_security not in POD_SECURITY_LEVELS:
        raise ValueError(f"pod_security must be one of {POD_SECURITY_LEVELS}, not {pod_security!r}")
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                **cost_labels,
                "pod-security.kubernetes.io/enforce": pod_security,
                "pod-security.kubernetes.io/warn": "restricted",
                "app.kubernetes.io/managed-by": "ray-platform",
            },
        },
    }


def service_account(name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str]) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
    }


def disruption_budget(name: str, namespace: str, selector: dict[str, str]) -> dict[str, Any]:
    """Voluntary evictions (node drains, scale-down, upgrades) leave at least one selected pod running."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": dict(selector)}},
    }
