"""A kubeconfig for a managed cluster whose credentials come from the cloud's CLI (an exec plugin)."""

from __future__ import annotations

import json
from typing import Any


def exec_kubeconfig(cluster_name: str, server: str, ca_data: str, auth: dict[str, Any]) -> str:
    """One cluster, one user, one context, all named ``cluster_name``; ``auth`` is the exec plugin's command
    and arguments, the only thing that differs between clouds."""
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", **auth}}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": cluster_name, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "users": [{"name": cluster_name, "user": user}],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
        }
    )
