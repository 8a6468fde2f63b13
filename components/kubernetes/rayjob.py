"""A team's RayJob as a pure manifest: the team's RayCluster (components/kubernetes/raycluster.py) with a fixed
number of GPU workers, submitted through the team's Kueue queue, and torn down when the job ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from components.kubernetes.raycluster import RayClusterSpec, ray_cluster, submitter_pod_template

# How long a finished job's cluster stays for a look at its logs before KubeRay deletes it.
FINISHED_TTL_SECONDS = 300


@dataclass(frozen=True)
class RayJobSpec:
    name: str
    # The cluster the job runs on: one worker group per pool in cluster.gpu_pools, of
    # cluster.max_workers_per_pool workers each (capped by the pool's size).
    cluster: RayClusterSpec
    entrypoint: str
    # Ray's runtime environment: working_dir (a zip URI, e.g. under the team's storage prefix), pip, env_vars.
    runtime_env: dict[str, Any] = field(default_factory=dict)
    active_deadline_seconds: int | None = None


def fixed_size(cluster_spec: dict[str, Any]) -> dict[str, Any]:
    """A RayCluster spec whose worker groups hold their largest size, without the autoscaler: Kueue admits a
    RayJob for the pods it names, and does not follow an autoscaled job."""
    spec = {k: v for k, v in cluster_spec.items() if k not in ("enableInTreeAutoscaling", "autoscalerOptions")}
    spec["workerGroupSpecs"] = [
        {**group, "replicas": group["maxReplicas"], "minReplicas": group["maxReplicas"]}
        for group in cluster_spec["workerGroupSpecs"]
    ]
    return spec


def ray_job(spec: RayJobSpec) -> dict[str, Any]:
    cluster = ray_cluster(spec.cluster)
    job: dict[str, Any] = {"entrypoint": spec.entrypoint}
    if spec.runtime_env:
        job["runtimeEnvYAML"] = yaml.safe_dump(spec.runtime_env, sort_keys=False)
    if spec.active_deadline_seconds is not None:
        job["activeDeadlineSeconds"] = spec.active_deadline_seconds
    job |= {
        # Under Kueue the cluster must go when the job ends, or its quota is never released.
        "shutdownAfterJobFinishes": True,
        "ttlSecondsAfterFinished": FINISHED_TTL_SECONDS,
        "rayClusterSpec": fixed_size(cluster["spec"]),
        "submitterPodTemplate": submitter_pod_template(spec.cluster.system_pool.selector),
    }
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {
            "name": spec.name,
            "namespace": spec.cluster.namespace,
            "labels": dict(cluster["metadata"]["labels"]),
        },
        "spec": job,
    }


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (a runtimeEnvYAML, a serveConfigV2) as YAML block literals, readable in a manifest."""


_BlockDumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None),
)


def to_yaml(manifest: dict[str, Any]) -> str:
    return yaml.dump(manifest, Dumper=_BlockDumper, sort_keys=False)
