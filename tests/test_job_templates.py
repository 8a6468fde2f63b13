"""`rayplat team job-template`: a team's RayJob generated from its stack, valid against the pinned RayJob CRD,
carrying the team's queue, service account, storage prefix, GPU pool selector and tolerations."""

from __future__ import annotations

import re

import pytest
import yaml
from typer.testing import CliRunner

from catalog import versions
from rayplat.cli import app
from rayplat.plan.engine import read_stack_config
from rayplat.templates import JobOptions, TemplateError, job_template
from stackconfig.loading import parse_config, project_keys
from tests.conftest import get_key, set_key
from tests.crd_support import validate_kuberay

# The stacks whose teams have GPU quota (local has no GPU pool; staging and gcp-prod no team).
GPU_TEAM_STACKS = ["dev", "prod", "gcp-dev"]
BUCKET = "s3://artifacts-1234"
runner = CliRunner()


def _config(stack: str, config: dict | None = None):
    return parse_config(project_keys(config or read_stack_config(stack)))


def _pods(job: dict) -> list[dict]:
    cluster = job["spec"]["rayClusterSpec"]
    return [cluster["headGroupSpec"]["template"]["spec"], *(g["template"]["spec"] for g in cluster["workerGroupSpecs"])]


@pytest.mark.parametrize("stack", GPU_TEAM_STACKS)
def test_every_gpu_team_gets_a_valid_job_on_its_own_queue_account_and_prefix(stack, upstream_dir):
    config = _config(stack)
    teams = [t for t in config.teams if t.gpu_quota]
    for team in teams:
        for pool in team.gpu_quota:
            job = job_template(config, team.name, BUCKET, JobOptions(pool=pool))
            validate_kuberay(upstream_dir, job)
            assert job["metadata"]["namespace"] == f"team-{team.name}"
            assert job["metadata"]["labels"] == {"kueue.x-k8s.io/queue-name": "team-queue"}
            spec = job["spec"]
            assert spec["shutdownAfterJobFinishes"] is True
            assert all(pod["serviceAccountName"] == "ray" for pod in _pods(job))
            prefix = f"{BUCKET}/teams/{team.name}"
            for pod in _pods(job):
                (container,) = pod["containers"]
                assert {"name": "RAYPLAT_STORAGE_URI", "value": prefix} in container["env"]
            runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
            assert runtime_env["working_dir"] == f"{prefix}/code/examples.zip"
            assert runtime_env["pip"] == [versions.MLFLOW_CLIENT]
            (workers,) = spec["rayClusterSpec"]["workerGroupSpecs"]
            assert workers["groupName"] == pool
            # Kueue admits the pods a job names: a fixed size, no autoscaler.
            assert workers["replicas"] == workers["minReplicas"] == workers["maxReplicas"] == 1
            assert "enableInTreeAutoscaling" not in spec["rayClusterSpec"]
            pod = workers["template"]["spec"]
            assert pod["nodeSelector"] == {"rayplat.io/pool": pool}
            assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
            assert pod["containers"][0]["image"] == versions.RAY_GPU_IMAGE
            assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] >= 1
    assert teams, f"{stack} has no team with GPU quota to template"


def test_a_pool_taint_of_the_stack_is_tolerated():
    config = read_stack_config("dev")
    pools = get_key(config, "gpuPools")
    pools[0]["taints"] = [{"key": "dedicated", "value": "training", "effect": "NoExecute"}]
    job = job_template(_config("dev", set_key(config, "gpuPools", pools)), "vision", BUCKET, JobOptions())
    pod = job["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["template"]["spec"]
    assert {"key": "dedicated", "operator": "Equal", "value": "training", "effect": "NoExecute"} in pod["tolerations"]


def test_workers_size_the_group_and_the_training_entrypoint():
    job = job_template(
        _config("dev"), "nlp", BUCKET, JobOptions(pool="l4", workers=2, tracking_uri="http://mlflow:5000")
    )
    (workers,) = job["spec"]["rayClusterSpec"]["workerGroupSpecs"]
    assert workers["replicas"] == 2 and workers["template"]["spec"]["nodeSelector"] == {"rayplat.io/pool": "l4"}
    assert job["spec"]["entrypoint"] == "python train_mlflow.py --workers 2 --gpus-per-worker 1"
    assert yaml.safe_load(job["spec"]["runtimeEnvYAML"])["env_vars"] == {"MLFLOW_TRACKING_URI": "http://mlflow:5000"}


BAD = {
    "unknown team": (("dev", "nope", JobOptions()), "no team 'nope' in this stack (vision, nlp)"),
    "pool without quota": (("dev", "vision", JobOptions(pool="l4")), "team 'vision' has GPU quota on a10g, not 'l4'"),
    "no workers": (("dev", "vision", JobOptions(workers=0)), "at least one GPU worker, not 0"),
    "more workers than nodes": (("dev", "vision", JobOptions(workers=5)), "pool 'a10g' has at most 4 nodes, not 5"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_requests_name_what_is_wrong(case):
    (stack, team, options), expected = BAD[case]
    with pytest.raises(TemplateError, match=re.escape(expected)):
        job_template(_config(stack), team, BUCKET, options)


def test_a_team_without_gpu_quota_gets_no_job_that_would_never_be_admitted():
    config = read_stack_config("dev")
    teams = get_key(config, "teams")
    teams[1] = {k: v for k, v in teams[1].items() if k != "gpuQuota"}
    with pytest.raises(TemplateError, match="team 'nlp' has no GPU quota"):
        job_template(_config("dev", set_key(config, "teams", teams)), "nlp", BUCKET, JobOptions())


def test_the_command_prints_the_template_with_the_deployed_bucket(tmp_path, upstream_dir):
    outputs = tmp_path / "outputs.json"
    outputs.write_text('{"artifactBucketUri": "s3://dev-artifacts-abc"}')
    args = ["team", "job-template", "--stack", "dev", "--team", "vision", "--outputs", str(outputs)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    job = yaml.safe_load(result.stdout)
    validate_kuberay(upstream_dir, job)
    assert job["metadata"]["namespace"] == "team-vision"
    assert "s3://dev-artifacts-abc/teams/vision/code/examples.zip" in job["spec"]["runtimeEnvYAML"]


def test_the_command_says_what_it_could_not_fill_in_and_refuses_bad_input():
    result = runner.invoke(app, ["team", "job-template", "--stack", "dev", "--team", "vision"])
    assert result.exit_code == 0 and "pass --outputs" in result.stderr
    assert "<artifactBucketUri>/teams/vision" in result.stdout
    result = runner.invoke(app, ["team", "job-template", "--stack", "dev", "--team", "vision", "--pool", "l4"])
    assert result.exit_code == 2 and "not 'l4'" in result.stderr
