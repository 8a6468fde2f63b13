"""A team's Ray clusters authenticate with the team's Ray token (its RayService too), and get its Weights & Biases
API key (teams[].wandb) from the team's own Secret, by reference only."""

from __future__ import annotations

from policies.ray_pods import RAY_KINDS
from rayplat.plan.engine import read_stack_config, run_program
from rayplat.templates import JobOptions, job_template
from stackconfig.loading import parse_config, project_keys
from tests.conftest import PROGRAM, config_problems, get_key, planned, resource, set_key
from tests.policy_support import _synthetic, baseline, check, outcome

WANDB = {"name": "WANDB_API_KEY", "valueFrom": {"secretKeyRef": {"name": "wandb", "key": "api-key"}}}


def _containers(cluster: dict) -> list[dict]:
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [c for g in groups for c in g["template"]["spec"]["containers"]]


def test_the_team_service_authenticates_with_the_teams_ray_token():
    plan = planned("dev")
    service = resource(plan, "kubernetes:ray.io/v1:RayService")
    cluster = resource(plan, "kubernetes:ray.io/v1:RayCluster")
    auth = service.inputs["spec"]["rayClusterConfig"]["authOptions"]
    assert auth == {"mode": "token", "secretName": "vision-ray-auth"}
    assert auth == cluster.inputs["spec"]["authOptions"]
    token = resource(plan, "kubernetes:core/v1:Secret", "dev-platform-team-vision-ray-token")
    assert token.inputs["metadata"] == {"name": "vision-ray-auth", "namespace": "team-vision"}
    assert token.urn in service.dependencies


def _dev_with_vision(change) -> dict[str, str]:
    config = read_stack_config("dev")
    teams = get_key(config, "teams")
    change(teams[0])
    return set_key(config, "teams", teams)


def test_a_team_with_a_service_and_no_standing_cluster_still_gets_its_token():
    plan = run_program("dev", _dev_with_vision(lambda team: team.pop("rayCluster")), PROGRAM)
    assert not plan.of_type("kubernetes:ray.io/v1:RayCluster")
    service = resource(plan, "kubernetes:ray.io/v1:RayService")
    assert service.inputs["spec"]["rayClusterConfig"]["authOptions"]["secretName"] == "vision-ray-auth"
    token = resource(plan, "kubernetes:core/v1:Secret", "dev-platform-team-vision-ray-token")
    assert token.inputs["metadata"]["name"] == "vision-ray-auth" and token.urn in service.dependencies


def test_the_team_cluster_and_service_get_the_key_where_the_team_configures_it():
    wandb = {"apiKeySecret": {"name": "wandb", "key": "api-key"}}
    plan = run_program("dev", _dev_with_vision(lambda team: team.update(wandb=wandb)), PROGRAM)
    cluster = resource(plan, "kubernetes:ray.io/v1:RayCluster").inputs["spec"]
    service = resource(plan, "kubernetes:ray.io/v1:RayService").inputs["spec"]["rayClusterConfig"]
    containers = _containers(cluster) + _containers(service)
    assert len(containers) >= 4
    for container in containers:
        assert WANDB in container["env"]
    # The shipped dev stack configures none for vision.
    assert all(e["name"] != "WANDB_API_KEY" for c in _containers(planned_cluster()) for e in c["env"])


def planned_cluster() -> dict:
    return resource(planned("dev"), "kubernetes:ray.io/v1:RayCluster").inputs["spec"]


def test_the_job_template_gets_the_wandb_key_by_reference_on_every_ray_container():
    config = parse_config(project_keys(read_stack_config("dev")))
    job = job_template(config, "nlp", "s3://bucket", JobOptions())
    containers = _containers(job["spec"]["rayClusterSpec"])
    assert len(containers) >= 2
    for container in containers:
        assert WANDB in container["env"]
    # A team without wandb gets no such variable.
    vision = job_template(config, "vision", "s3://bucket", JobOptions())
    assert all(e["name"] != "WANDB_API_KEY" for c in _containers(vision["spec"]["rayClusterSpec"]) for e in c["env"])


def test_the_wandb_key_keeps_ray_no_plain_secrets_satisfied():
    config = parse_config(project_keys(read_stack_config("dev")))
    job = job_template(config, "nlp", "s3://bucket", JobOptions())
    plan = baseline("dev")
    (kind,) = [k for k in RAY_KINDS if k.endswith("RayJob")]
    plan.resources.append(
        _synthetic(kind, "nlp-train", {k: v for k, v in job.items() if k not in ("apiVersion", "kind")})
    )
    assert outcome(check(plan), "ray-no-plain-secrets", kind, "nlp-train").status == "passed"


def test_a_wandb_secret_must_be_a_secret_name():
    config = read_stack_config("dev")
    teams = get_key(config, "teams")
    teams[1]["wandb"] = {"apiKeySecret": {"name": "Not A Name", "key": "api-key"}}
    problems = config_problems(set_key(config, "teams", teams))
    assert any(p.startswith("teams[1].wandb.apiKeySecret.name") for p in problems), problems
