"""`rayplat team job-template`: a team's RayJob generated from its stack, so that its image, service account,
storage prefix, queue, tolerations and pool selectors are those the platform gives the team."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from catalog import versions
from components.kubernetes.raycluster import RayClusterSpec
from components.kubernetes.rayjob import RayJobSpec, ray_job
from components.kubernetes.teams import TEAM_SERVICE_ACCOUNT
from components.kubernetes.tenancy import LOCAL_QUEUE
from infra.pools import pool_specs
from stackconfig.platform import PlatformConfig

# Where the template looks for the job's code: a zip of docs/examples/ (or the team's own) under its prefix.
CODE_ARCHIVE = "code/examples.zip"
# What `--outputs` would have filled in: the stack's artifactBucketUri output.
BUCKET_PLACEHOLDER = "<artifactBucketUri>"


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class JobOptions:
    name: str = "train"
    pool: str | None = None
    workers: int = 1
    # None: the Ray Train example of docs/examples/, sized to the job's workers and GPUs.
    entrypoint: str | None = None
    tracking_uri: str | None = None


def team_storage_uri(bucket_uri: str, team: str) -> str:
    """The prefix the team's service account may read and write (its IAM grant names the same prefix)."""
    return f"{bucket_uri.rstrip('/')}/teams/{team}"


def job_template(config: PlatformConfig, team_name: str, bucket_uri: str, options: JobOptions) -> dict[str, Any]:
    teams = {t.name: t for t in config.teams}
    if team_name not in teams:
        raise TemplateError(f"no team '{team_name}' in this stack ({', '.join(teams) or 'it has no teams'})")
    team = teams[team_name]
    if not team.gpu_quota:
        raise TemplateError(f"team '{team_name}' has no GPU quota (teams[].gpuQuota): its jobs would never be admitted")
    pool_name = options.pool or next(iter(team.gpu_quota))
    if pool_name not in team.gpu_quota:
        quota = ", ".join(team.gpu_quota)
        raise TemplateError(f"--pool: team '{team_name}' has GPU quota on {quota}, not '{pool_name}'")
    if options.workers < 1:
        raise TemplateError(f"--workers: a job needs at least one GPU worker, not {options.workers}")
    system, gpu_pools = pool_specs(config)
    (pool,) = [p for p in gpu_pools if p.name == pool_name]
    if options.workers > pool.max_size:
        raise TemplateError(f"--workers: pool '{pool_name}' has at most {pool.max_size} nodes, not {options.workers}")
    storage = team_storage_uri(bucket_uri, team_name)
    env_vars = {"MLFLOW_TRACKING_URI": options.tracking_uri} if options.tracking_uri else {}
    cluster = RayClusterSpec(
        name=options.name,
        namespace=team.namespace,
        service_account=TEAM_SERVICE_ACCOUNT,
        queue=LOCAL_QUEUE,
        storage_uri=storage,
        system_pool=system,
        gpu_pools=[pool],
        max_workers_per_pool=options.workers,
    )
    runtime_env: dict[str, Any] = {
        "working_dir": f"{storage}/{CODE_ARCHIVE}",
        "pip": [versions.MLFLOW_CLIENT],
    }
    if env_vars:
        runtime_env["env_vars"] = env_vars
    entrypoint = options.entrypoint or (
        f"python train_mlflow.py --workers {options.workers} --gpus-per-worker {pool.gpus_per_node}"
    )
    return ray_job(RayJobSpec(name=options.name, cluster=cluster, entrypoint=entrypoint, runtime_env=runtime_env))
