"""A team's RayService as a pure manifest: the team's RayCluster (components/kubernetes/raycluster.py) serving a
Ray Serve application with autoscaling bounds and GPU replicas, upgraded without downtime, behind an
internal Service only."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import yaml

from catalog.ray_ports import RAY_SERVICE_PORTS
from components.kubernetes.raycluster import RayClusterSpec, ray_cluster
from components.nodes import PoolSpec

# KubeRay's zero-downtime upgrade: a new cluster is brought up and traffic moves once it serves. (The
# incremental variant needs the Gateway API, which the platform does not install.)
UPGRADE_STRATEGY = "NewCluster"
TARGET_ONGOING_REQUESTS = 4


@dataclass(frozen=True)
class ServeSpec:
    name: str
    # The cluster the application runs on; Ray's autoscaler adds GPU workers as Serve adds replicas.
    cluster: RayClusterSpec
    import_path: str
    deployment: str
    min_replicas: int
    max_replicas: int
    gpus_per_replica: float
    # Ray's runtime environment of the application: working_dir (a zip URI), pip.
    runtime_env: dict[str, Any] = field(default_factory=dict)
    user_config: dict[str, Any] | None = None


def serve_config(spec: ServeSpec) -> dict[str, Any]:
    deployment: dict[str, Any] = {
        "name": spec.deployment,
        "autoscaling_config": {
            "min_replicas": spec.min_replicas,
            "max_replicas": spec.max_replicas,
            "target_ongoing_requests": TARGET_ONGOING_REQUESTS,
        },
        "ray_actor_options": {"num_cpus": 1, "num_gpus": spec.gpus_per_replica},
    }
    if spec.user_config is not None:
        deployment["user_config"] = spec.user_config
    application: dict[str, Any] = {"name": spec.name, "route_prefix": "/", "import_path": spec.import_path}
    if spec.runtime_env:
        application["runtime_env"] = spec.runtime_env
    return {"applications": [{**application, "deployments": [deployment]}]}


def serve_service(name: str) -> dict[str, Any]:
    """The Service in front of Serve's proxies: cluster-internal; reach it through an internal ingress."""
    port = RAY_SERVICE_PORTS["serve"]
    return {
        "metadata": {"name": f"{name}-serve"},
        "spec": {"type": "ClusterIP", "ports": [{"name": "serve", "port": port, "targetPort": port}]},
    }


def ray_service(spec: ServeSpec) -> dict[str, Any]:
    cluster = ray_cluster(spec.cluster)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {
            "name": spec.name,
            "namespace": spec.cluster.namespace,
            "labels": dict(cluster["metadata"]["labels"]),
        },
        "spec": {
            "serveConfigV2": yaml.safe_dump(serve_config(spec), sort_keys=False),
            "upgradeStrategy": {"type": UPGRADE_STRATEGY},
            "serveService": serve_service(spec.name),
            "rayClusterConfig": cluster["spec"],
        },
    }


@dataclass(frozen=True)
class TeamServe:
    """A team's Serve application as its stack configures it (teams[].serve)."""

    pool: str
    min_replicas: int
    max_replicas: int
    gpus_per_replica: float
    import_path: str
    deployment: str
    # The application's code: a zip under the team's storage prefix.
    code_archive: str
    user_config: dict[str, Any] | None = None


def team_ray_service(base: RayClusterSpec, pool: PoolSpec, serve: TeamServe, name: str | None = None) -> dict[str, Any]:
    """The RayService of a team whose cluster is ``base`` (namespace, account, queue, storage, pools): a
    worker group on ``pool`` large enough for the most replicas Serve may run."""
    workers = math.ceil(serve.max_replicas * serve.gpus_per_replica / max(pool.gpus_per_node, 1))
    name = name or f"{base.name}-serve"
    cluster = replace(base, name=name, gpu_pools=[pool], max_workers_per_pool=workers)
    return ray_service(
        ServeSpec(
            name=name,
            cluster=cluster,
            import_path=serve.import_path,
            deployment=serve.deployment,
            min_replicas=serve.min_replicas,
            max_replicas=serve.max_replicas,
            gpus_per_replica=serve.gpus_per_replica,
            runtime_env={"working_dir": f"{base.storage_uri}/{serve.code_archive}"},
            user_config=serve.user_config,
        )
    )
