"""`rayplat team notebook`: a JupyterLab pod in a team's namespace that submits work to the team's standing Ray
cluster through its Jobs API, with the team's Ray token from the team's Secret (never a literal).

The pod runs under the team's service account and the Pod Security Standard 'restricted', holds no GPU (the
driver runs in the cluster), fits the team's ResourceQuota, and is reached with `kubectl port-forward` only:
JupyterLab listens on the pod's loopback, and there is no Service.
"""

from __future__ import annotations

from typing import Any

from catalog import versions
from catalog.labels import TEAM_LABEL
from components.kubernetes.raycluster import (
    AUTH_TOKEN_KEY,
    container_security_context,
    pod_security_context,
)
from components.kubernetes.teams import TEAM_SERVICE_ACCOUNT
from rayplat.connect import ConnectError, target
from stackconfig.platform import PlatformConfig

NOTEBOOK_NAME = "notebook"
JUPYTER_PORT = 8888
NOTEBOOK_CPU = "1"
NOTEBOOK_MEMORY = "4Gi"


class NotebookError(ValueError):
    pass


def notebook_pod(config: PlatformConfig, team_name: str, image_repository: str) -> dict[str, Any]:
    """The team's notebook Pod, running ``image_repository`` at the pinned notebook tag."""
    try:
        jobs_api = target(config, team_name, "jobs")
    except ConnectError as exc:
        raise NotebookError(str(exc)) from None
    if not image_repository or ":" in image_repository.rsplit("/", 1)[-1] or "@" in image_repository:
        raise NotebookError(
            f"--image-repository: a repository without tag or digest (the tag is {versions.NOTEBOOK_IMAGE_TAG}), "
            f"not '{image_repository}'"
        )
    token = {"secretKeyRef": {"name": jobs_api.token_secret, "key": AUTH_TOKEN_KEY}}
    resources = {"cpu": NOTEBOOK_CPU, "memory": NOTEBOOK_MEMORY}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": NOTEBOOK_NAME,
            "namespace": jobs_api.namespace,
            "labels": {"app.kubernetes.io/name": "ray-notebook", TEAM_LABEL: team_name},
        },
        "spec": {
            "serviceAccountName": TEAM_SERVICE_ACCOUNT,
            "securityContext": pod_security_context(),
            "containers": [
                {
                    "name": "jupyterlab",
                    "image": f"{image_repository}:{versions.NOTEBOOK_IMAGE_TAG}",
                    # Loopback only: kubectl port-forward reaches it, nothing else in the cluster does.
                    "command": ["jupyter", "lab", "--ip=127.0.0.1", f"--port={JUPYTER_PORT}", "--no-browser"],
                    "env": [
                        {"name": "RAY_AUTH_MODE", "value": "token"},
                        {"name": "RAY_AUTH_TOKEN", "valueFrom": token},
                        {
                            "name": "RAY_API_SERVER_ADDRESS",
                            "value": f"http://{jobs_api.service}:{jobs_api.remote_port}",
                        },
                    ],
                    "ports": [{"name": "jupyter", "containerPort": JUPYTER_PORT, "protocol": "TCP"}],
                    "resources": {"requests": resources, "limits": {"memory": NOTEBOOK_MEMORY}},
                    "securityContext": container_security_context(),
                }
            ],
        },
    }
