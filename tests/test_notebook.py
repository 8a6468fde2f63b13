"""`rayplat team notebook`: a JupyterLab pod in the team's namespace, valid against Kubernetes' schema, passing
the policy pack's Pod Security controls, with the team's Ray token by Secret reference, and the notebook image
pinned to the platform's Ray version."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner

from catalog import versions
from catalog.ray_sizing import quantity
from policies.pod_security import CONTROLS
from policies.ray_pods import Pod
from policies.ray_workloads import SECRET_NAMES, _secret_like
from rayplat import PROJECT_ROOT
from rayplat.cli import app
from rayplat.notebook import notebook_pod
from rayplat.plan.engine import read_stack_config
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_problems, get_key, set_key

STACKS = ["dev", "staging", "prod", "gcp-dev", "gcp-prod", "local"]
REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/vision/ray-notebook"
DOCKERFILE = PROJECT_ROOT / "docs" / "examples" / "notebook" / "Dockerfile"
runner = CliRunner()


def _config(stack: str, config: dict | None = None):
    return parse_config(project_keys(config or read_stack_config(stack)))


def _pod_findings(pod: dict) -> list[str]:
    judged = Pod("notebook", pod["spec"])
    return [f"{c.name}: {m}" for c in CONTROLS for m in [*judged.shape_problems(), *c.check(judged)]]


def _teams_with_clusters():
    found = [(s, t) for s in STACKS for t in _config(s).teams if t.ray_cluster is not None]
    assert found, "no stack has a team with a standing Ray cluster"
    return found


@pytest.mark.parametrize(("stack", "team"), [(s, t.name) for s, t in _teams_with_clusters()])
def test_the_notebook_pod_is_valid_restricted_and_authenticates_with_the_teams_secret(stack, team):
    config = _config(stack)
    pod = notebook_pod(config, team, REPOSITORY)
    kubernetes_validate.validate(pod, "1.34.0", strict=True)
    assert _pod_findings(pod) == []
    assert pod["metadata"]["namespace"] == f"team-{team}"
    spec = pod["spec"]
    assert spec["serviceAccountName"] == "ray"
    (container,) = spec["containers"]
    assert container["image"] == f"{REPOSITORY}:{versions.RAY_VERSION}-py311-jupyterlab{versions.JUPYTERLAB_VERSION}"
    env = {e["name"]: e for e in container["env"]}
    assert env["RAY_AUTH_MODE"] == {"name": "RAY_AUTH_MODE", "value": "token"}
    assert env["RAY_AUTH_TOKEN"]["valueFrom"] == {"secretKeyRef": {"name": f"{team}-ray-auth", "key": "auth_token"}}
    assert env["RAY_API_SERVER_ADDRESS"]["value"] == f"http://{team}-ray-head-svc:8265"
    config_patterns = {"secretNamePatterns": SECRET_NAMES}
    assert not [e for e in container["env"] if "value" in e and _secret_like(e["name"], config_patterns)]
    # Reached by port-forward only: JupyterLab on the pod's loopback, no hostPort, and no Service.
    assert "--ip=127.0.0.1" in container["command"]
    assert all("hostPort" not in port for port in container["ports"])
    (quota_team,) = [t for t in config.teams if t.name == team]
    requests = container["resources"]["requests"]
    assert quantity(requests["cpu"]) <= quantity(quota_team.cpu)
    assert quantity(requests["memory"]) <= quantity(quota_team.memory)
    assert container["resources"]["limits"]["memory"] == requests["memory"]  # the quota counts limits.memory


@pytest.mark.parametrize(
    ("control", "change"),
    [
        ("seccomp", lambda spec: spec["securityContext"].pop("seccompProfile")),
        ("run-as-non-root-user", lambda spec: spec["securityContext"].update(runAsUser=0)),
        ("privilege-escalation", lambda spec: spec["containers"][0]["securityContext"].pop("allowPrivilegeEscalation")),
        ("capabilities", lambda spec: spec["containers"][0]["securityContext"].pop("capabilities")),
    ],
)
def test_the_pod_security_controls_judge_the_notebook_pod(control, change):
    pod = notebook_pod(_config("dev"), "vision", REPOSITORY)
    change(pod["spec"])
    assert [f for f in _pod_findings(pod) if f.startswith(f"{control}:")]


def test_a_quota_smaller_than_a_notebook_is_refused_by_the_config():
    """A notebook needs a standing cluster, whose head alone asks more than a notebook: the config's
    team-fit rule refuses a quota too small for either, before any notebook is printed."""
    config = read_stack_config("dev")
    teams = get_key(config, "teams")
    index = next(i for i, t in enumerate(teams) if t["name"] == "vision")
    teams[index]["memory"] = "2Gi"
    problems = config_problems(set_key(config, "teams", teams))
    assert any(p.startswith(f"teams[{index}].rayCluster:") and "memory quota of 2Gi" in p for p in problems)


def test_the_dockerfile_builds_the_pinned_ray_image_with_the_pinned_jupyterlab():
    text = DOCKERFILE.read_text()
    (base,) = re.findall(r"^ARG RAY_IMAGE=(\S+)$", text, re.M)
    assert base == versions.RAY_IMAGE
    assert re.findall(r"jupyterlab==(\S+)", text) == [versions.JUPYTERLAB_VERSION]
    assert f":{versions.NOTEBOOK_IMAGE_TAG} " in text  # the build line tags what `rayplat team notebook` runs
    assert re.search(r"^USER 1000$", text, re.M)


def test_the_users_guide_names_the_pinned_versions_and_the_command():
    guide = (PROJECT_ROOT / "docs" / "users" / "README.md").read_text()
    section = guide[guide.index("## 7.") : guide.index("## 8.")]
    assert section.count(versions.NOTEBOOK_IMAGE_TAG) == 2
    assert f'"ray[default]=={versions.RAY_VERSION}" "jupyterlab=={versions.JUPYTERLAB_VERSION}"' in section
    assert "rayplat team notebook --stack prod --team vision --image-repository" in section
    assert "port-forward pod/notebook 8888:8888" in section


def test_the_cli_prints_the_pod():
    result = runner.invoke(
        app, ["team", "notebook", "--stack", "dev", "--team", "vision", "--image-repository", REPOSITORY]
    )
    assert result.exit_code == 0, result.output
    pod = yaml.safe_load(result.stdout)
    assert pod["kind"] == "Pod" and pod["metadata"]["namespace"] == "team-vision"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nobody", "--image-repository", REPOSITORY], "no team 'nobody'"),
        (["--team", "nlp", "--image-repository", REPOSITORY], "no standing Ray cluster"),
        (["--team", "vision", "--image-repository", f"{REPOSITORY}:latest"], "without tag or digest"),
    ],
)
def test_bad_input_exits_2_with_the_reason(args, message):
    result = runner.invoke(app, ["team", "notebook", "--stack", "dev", *args])
    assert result.exit_code == 2
    assert message in result.output
