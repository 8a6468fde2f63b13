"""A team's RayService where its stack configures one (teams[].serve): on the team's queue, pool and account,
Serve's autoscaling bounds from the config, a zero-downtime upgrade, and an internal Service only."""

from __future__ import annotations

import pytest
import yaml

from infra.platform import team_workloads
from rayplat.plan.engine import read_stack_config
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from tests.conftest import get_key, planned, set_key
from tests.crd_support import validate_kuberay

SERVICE = "kubernetes:ray.io/v1:RayService"


def _manifest(resource) -> dict:
    return {"apiVersion": "ray.io/v1", "kind": "RayService", **resource.inputs}


def test_the_configured_team_serves_on_its_queue_pool_and_prefix(upstream_dir):
    plan = planned("dev")
    (resource,) = plan.of_type(SERVICE)
    service = _manifest(resource)
    validate_kuberay(upstream_dir, service)
    assert service["metadata"]["namespace"] == "team-vision"
    assert service["metadata"]["labels"] == {"kueue.x-k8s.io/queue-name": "team-queue"}
    spec = service["spec"]
    assert spec["upgradeStrategy"] == {"type": "NewCluster"}
    assert spec["serveService"]["spec"]["type"] == "ClusterIP"
    assert spec["rayClusterConfig"]["headGroupSpec"]["serviceType"] == "ClusterIP"
    (application,) = yaml.safe_load(spec["serveConfigV2"])["applications"]
    assert application["import_path"] == "serve_app:app"
    bucket = plan.outputs["artifactBucketUri"]
    assert application["runtime_env"]["working_dir"] == f"{bucket}/teams/vision/code/examples.zip"
    (deployment,) = application["deployments"]
    assert deployment["name"] == "LinearModel"
    bounds = deployment["autoscaling_config"]
    assert (bounds["min_replicas"], bounds["max_replicas"]) == (1, 2)
    assert deployment["ray_actor_options"]["num_gpus"] == 1
    cluster = spec["rayClusterConfig"]
    assert cluster["enableInTreeAutoscaling"] is True  # Ray's autoscaler adds GPU workers as Serve adds replicas
    (workers,) = cluster["workerGroupSpecs"]
    assert workers["groupName"] == "a10g" and workers["minReplicas"] == 0 and workers["maxReplicas"] == 2
    pod = workers["template"]["spec"]
    assert pod["serviceAccountName"] == "ray" and pod["nodeSelector"] == {"rayplat.io/pool": "a10g"}
    storage = {e["name"]: e["value"] for e in pod["containers"][0]["env"]}["RAYPLAT_STORAGE_URI"]
    assert storage == f"{bucket}/teams/vision"
    account = next(a for a in plan.of_type("kubernetes:core/v1:ServiceAccount") if "team-vision" in a.name)
    assert account.urn in resource.dependencies


def test_no_team_without_serve_config_gets_a_service():
    assert not planned("prod").of_type(SERVICE)


def _with_serve(serve: dict, team_changes: dict | None = None):
    config = read_stack_config("dev")
    teams = get_key(config, "teams")
    teams[1] = {**teams[1], "serve": serve, **(team_changes or {})}
    return parse_config(project_keys(set_key(config, "teams", teams)))


def test_serve_settings_map_to_the_team_with_its_first_pool_by_default():
    config = _with_serve({"importPath": "app.main:build", "deployment": "Model", "minReplicas": 0})
    (team,) = [t for t in config.teams if t.name == "nlp"]
    serve = team_workloads(team, protect=False).serve
    assert serve is not None and (serve.pool, serve.min_replicas, serve.max_replicas) == ("a10g", 0, 2)
    assert (serve.import_path, serve.deployment, serve.code_archive) == ("app.main:build", "Model", "code/serve.zip")


BAD = {
    "no quota": (
        {"importPath": "a:b", "deployment": "M"},
        {"gpuQuota": {}},
        "teams[1].serve: needs gpuQuota",
    ),
    "pool without quota": (
        {"importPath": "a:b", "deployment": "M", "pool": "h100"},
        None,
        "teams[1].serve.pool: team has GPU quota on a10g, l4, not 'h100'",
    ),
    "bounds reversed": (
        {"importPath": "a:b", "deployment": "M", "minReplicas": 3, "maxReplicas": 2},
        None,
        "teams[1].serve.minReplicas: must be <= maxReplicas (2)",
    ),
    "not an import path": ({"importPath": "serve_app", "deployment": "M"}, None, "teams[1].serve.importPath"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_serve_configs_name_the_key(case):
    serve, team_changes, expected = BAD[case]
    with pytest.raises(ConfigError) as raised:
        _with_serve(serve, team_changes)
    assert any(expected in p for p in raised.value.problems), raised.value.problems
