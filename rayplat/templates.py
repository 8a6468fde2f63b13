"""A team's RayJob and RayService generated from its stack, so that image, service account, storage prefix,
queue, tolerations and pool selectors are those the platform gives the team (`rayplat team job-template`),
and the manifests of docs/examples/ (`python -m rayplat.templates` writes them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from catalog import versions
from components.kubernetes.raycluster import RayClusterSpec
from components.kubernetes.rayjob import RayJobSpec, ray_job, to_yaml
from components.kubernetes.rayservice import TeamServe, team_ray_service
from components.kubernetes.teams import TEAM_SERVICE_ACCOUNT, team_token_secret
from components.kubernetes.tenancy import LOCAL_QUEUE
from components.nodes import PoolSpec
from infra.platform import team_secret_env
from infra.pools import pool_specs
from rayplat import PROJECT_ROOT
from rayplat.plan.engine import read_stack_config
from stackconfig.loading import parse_config, project_keys
from stackconfig.platform import PlatformConfig

# Where the templates look for the code: a zip of docs/examples/ (or the team's own) under its prefix.
CODE_ARCHIVE = "code/examples.zip"
# What `--outputs` would have filled in: the stack's artifactBucketUri output.
BUCKET_PLACEHOLDER = "<artifactBucketUri>"
EXAMPLES_DIR = PROJECT_ROOT / "docs" / "examples"


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


def _team_cluster(
    config: PlatformConfig, team_name: str, bucket_uri: str, pool_name: str | None, image_mirror: str | None
) -> tuple[RayClusterSpec, PoolSpec]:
    """The team's cluster settings and the GPU pool (one the team has quota on) its workers go to."""
    teams = {t.name: t for t in config.teams}
    if team_name not in teams:
        raise TemplateError(f"no team '{team_name}' in this stack ({', '.join(teams) or 'it has no teams'})")
    team = teams[team_name]
    if not team.gpu_quota:
        raise TemplateError(f"team '{team_name}' has no GPU quota (teams[].gpuQuota): its jobs would never be admitted")
    pool_name = pool_name or next(iter(team.gpu_quota))
    if pool_name not in team.gpu_quota:
        quota = ", ".join(team.gpu_quota)
        raise TemplateError(f"--pool: team '{team_name}' has GPU quota on {quota}, not '{pool_name}'")
    system, gpu_pools = pool_specs(config)
    (pool,) = [p for p in gpu_pools if p.name == pool_name]
    cluster = RayClusterSpec(
        name=team_name,
        namespace=team.namespace,
        service_account=TEAM_SERVICE_ACCOUNT,
        queue=LOCAL_QUEUE,
        storage_uri=team_storage_uri(bucket_uri, team_name),
        system_pool=system,
        gpu_pools=[pool],
        max_workers_per_pool=1,
        token_secret=team_token_secret(team_name),
        image_mirror=image_mirror,
        secret_env=team_secret_env(team),
    )
    return cluster, pool


def job_template(
    config: PlatformConfig, team_name: str, bucket_uri: str, options: JobOptions, image_mirror: str | None = None
) -> dict[str, Any]:
    """The team's RayJob; ``image_mirror``: where the stack pulls the Ray images through (its image_mirror)."""
    base, pool = _team_cluster(config, team_name, bucket_uri, options.pool, image_mirror)
    if options.workers < 1:
        raise TemplateError(f"--workers: a job needs at least one GPU worker, not {options.workers}")
    if options.workers > pool.max_size:
        raise TemplateError(f"--workers: pool '{pool.name}' has at most {pool.max_size} nodes, not {options.workers}")
    runtime_env: dict[str, Any] = {
        "working_dir": f"{base.storage_uri}/{CODE_ARCHIVE}",
        "pip": [versions.MLFLOW_CLIENT],
    }
    if options.tracking_uri:
        runtime_env["env_vars"] = {"MLFLOW_TRACKING_URI": options.tracking_uri}
    entrypoint = options.entrypoint or (
        f"python train_mlflow.py --workers {options.workers} --gpus-per-worker {pool.gpus_per_node}"
    )
    cluster = replace(base, name=options.name, max_workers_per_pool=options.workers)
    return ray_job(RayJobSpec(name=options.name, cluster=cluster, entrypoint=entrypoint, runtime_env=runtime_env))


def service_template(config: PlatformConfig, team_name: str, bucket_uri: str, serve: TeamServe) -> dict[str, Any]:
    base, pool = _team_cluster(config, team_name, bucket_uri, serve.pool, None)
    return team_ray_service(base, pool, serve)


# docs/examples/: the dev stack's team vision, the bucket left for the reader.
EXAMPLE_STACK, EXAMPLE_TEAM, EXAMPLE_BUCKET = "dev", "vision", "s3://<artifact bucket>"
EXAMPLE_TRACKING_URI = "<MLflow tracking URI>"
EXAMPLE_SERVE = TeamServe(
    pool="a10g",
    min_replicas=1,
    max_replicas=2,
    gpus_per_replica=1,
    import_path="serve_app:app",
    deployment="LinearModel",
    code_archive=CODE_ARCHIVE,
    user_config={"weights": [2.0, -3.0, 0.5], "bias": 1.0},
)


def examples() -> dict[str, dict[str, Any]]:
    """The manifests of docs/examples/, by file name."""
    config = parse_config(project_keys(read_stack_config(EXAMPLE_STACK)))
    args = (config, EXAMPLE_TEAM, EXAMPLE_BUCKET)
    return {
        "rayjob-train.yaml": job_template(*args, JobOptions(workers=2, tracking_uri=EXAMPLE_TRACKING_URI)),
        "rayjob-tune.yaml": job_template(
            *args,
            JobOptions(
                name="lr-sweep",
                workers=2,
                entrypoint="python tune_sweep.py --gpus-per-trial 1",
                tracking_uri=EXAMPLE_TRACKING_URI,
            ),
        ),
        "rayservice.yaml": service_template(*args, EXAMPLE_SERVE),
    }


HEADER = """\
# Generated by `python -m rayplat.templates` from the {stack} stack for team {team} (a test keeps it current).
# Your team's own: rayplat team job-template --stack <stack> --team <team> --outputs outputs.json
# The code: docs/examples/*.py zipped to <your prefix>/{archive}; see docs/users/README.md.
"""


def write_examples() -> None:
    header = HEADER.format(stack=EXAMPLE_STACK, team=EXAMPLE_TEAM, archive=CODE_ARCHIVE)
    for name, manifest in examples().items():
        (EXAMPLES_DIR / name).write_text(header + to_yaml(manifest))


if __name__ == "__main__":
    write_examples()
