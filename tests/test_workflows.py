"""The GitHub workflows parse, are hardened, and call only commands, options and files that exist."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from functools import cache
from pathlib import Path

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from tests.conftest import EXISTING_STACKS, STACKS

WORKFLOW_DIR = PROJECT_ROOT / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))
CLI_COMMANDS = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
SHELL_WORDS = {"for", "do", "done", "if", "then", "else", "fi", "echo", "cat", "mkdir", "gh"}
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
PRIVATE_RUNNER = "${{ fromJSON(vars.RAYPLAT_PRIVATE_RUNNER_LABELS || '\"ubuntu-24.04\"') }}"
DEPLOYABLE = sorted(set(STACKS) - set(EXISTING_STACKS))


def _load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True.
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))
    return document


def _jobs(name: str) -> dict:
    return _load(WORKFLOW_DIR / name)["jobs"]


def _steps(document: dict):
    for job_name, job in document["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def _expand(text: str, stack: str) -> str:
    return text.replace('"$STACK"', stack).replace('"$stack"', stack).replace("$stack", stack)


@cache
def _cli_options(command: str) -> set[str]:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return set(re.findall(r"(--[a-z][a-z-]+)", result.output))


def test_the_four_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "drift.yml", "preview.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses_with_jobs_and_triggers(path):
    document = _load(path)
    assert document["on"] and document["jobs"] and "pull_request_target" not in document["on"]
    for job in document["jobs"].values():
        assert job["runs-on"].startswith("ubuntu-") or job["runs-on"] == PRIVATE_RUNNER
        assert job["timeout-minutes"] > 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_by_commit_with_the_version_as_a_comment(path):
    uses = re.findall(r"uses: (\S+)(.*)$", path.read_text(), re.MULTILINE)
    assert uses
    for action, comment in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", action), action
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{action}{comment}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_per_job_and_no_expression_reaches_a_script(path):
    document = _load(path)
    assert document["permissions"] == {} and "concurrency" in document
    for job in document["jobs"].values():
        assert job["permissions"], "each job states what it needs"
    for _, _, step in _steps(document):
        assert "${{" not in step.get("run", ""), step["run"]
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_command_a_workflow_runs_exists(path):
    runs = [(job, step) for _, job, step in _steps(_load(path)) if "run" in step]
    assert runs
    for job, step in runs:
        for stack in _matrix_stacks(job) or STACKS:
            for line in _expand(step["run"], stack).splitlines():
                _check_command(line.strip(), path.name)


def _matrix_stacks(job: dict) -> list[str]:
    matrix = job.get("strategy", {}).get("matrix", {})
    return list(matrix.get("stack", [])) + [entry["stack"] for entry in matrix.get("include", [])]


def _check_command(line: str, where: str) -> None:
    if not line or line.startswith("#"):
        return
    words = shlex.split(line.removeprefix("do ").replace("$BASE_REF", "main"))
    if words[0] == "make":
        assert set(words[1:]) <= MAKE_TARGETS, f"{where}: make {words[1:]}"
    elif words[0] in (".venv/bin/rayplat", ".venv/bin/pytest"):
        if words[0] == ".venv/bin/rayplat":
            _check_rayplat(words[1:], where)
    else:
        assert words[0] in SHELL_WORDS or re.match(r"[a-z]+=", words[0]), f"{where}: unexpected command {line!r}"


def _check_rayplat(words: list[str], where: str) -> None:
    command = words[0]
    assert command in CLI_COMMANDS, f"{where}: rayplat {command}"
    options = [w for w in words if w.startswith("--")]
    assert set(options) <= _cli_options(command), f"{where}: rayplat {command} {options}"
    if "--stack" in words:
        assert words[words.index("--stack") + 1] in STACKS
    if "--policy-config" in words:
        assert (PROJECT_ROOT / words[words.index("--policy-config") + 1]).is_file()


def test_stack_matrices_cover_every_stack():
    preview = _jobs("preview.yml")
    assert sorted(_matrix_stacks(preview["offline"])) == STACKS
    assert sorted(_matrix_stacks(preview["pulumi"])) == DEPLOYABLE
    assert sorted(_matrix_stacks(_jobs("deploy.yml")["deploy"])) == DEPLOYABLE
    assert sorted(_matrix_stacks(_jobs("drift.yml")["preview"])) == DEPLOYABLE


def test_each_cloud_gets_its_credentials():
    for name in ("preview.yml", "deploy.yml", "drift.yml"):
        for _, _, step in _steps(_load(WORKFLOW_DIR / name)):
            uses = step.get("uses", "")
            if uses.startswith("aws-actions/"):
                assert step["if"] == "matrix.cloud == 'aws'"
            if uses.startswith("google-github-actions/auth"):
                assert step["if"] == "matrix.cloud == 'gcp'"


def test_pulumi_steps_take_the_backend_from_variables_and_the_policy_pack():
    steps = [
        (name, step)
        for name in ("preview.yml", "deploy.yml", "drift.yml")
        for _, _, step in _steps(_load(WORKFLOW_DIR / name))
        if step.get("uses", "").startswith("pulumi/actions")
    ]
    assert len(steps) == 3
    for name, step in steps:
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert step["with"]["secrets-provider"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
        assert "matrix.stack" in step["with"]["stack-name"] and "ray-platform" in step["with"]["stack-name"]
        if name != "drift.yml":
            assert step["with"]["policyPacks"] == "policies"
            assert step["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"


def test_jobs_that_reach_the_cluster_may_run_inside_the_network():
    assert _jobs("deploy.yml")["deploy"]["runs-on"] == PRIVATE_RUNNER
    assert _jobs("drift.yml")["preview"]["runs-on"] == PRIVATE_RUNNER
    assert _jobs("preview.yml")["pulumi"]["runs-on"] == PRIVATE_RUNNER
    assert _jobs("preview.yml")["offline"]["runs-on"].startswith("ubuntu-")


def test_prod_deploys_behind_an_environment_and_after_the_policy_check():
    deploy = _jobs("deploy.yml")["deploy"]
    assert deploy["environment"] == "${{ matrix.stack }}" and deploy["needs"] == "check"
    assert deploy["strategy"]["max-parallel"] == 1
    assert [e["stack"] for e in deploy["strategy"]["matrix"]["include"]][:3] == ["dev", "staging", "prod"]


def test_pr_code_never_runs_with_credentials_that_change_infrastructure():
    preview = _jobs("preview.yml")
    assert SAME_REPOSITORY in preview["pulumi"]["if"]
    role = next(s for _, _, s in _steps({"jobs": {"p": preview["pulumi"]}}) if "role-to-assume" in s.get("with", {}))
    assert "PREVIEW" in role["with"]["role-to-assume"]
    for name, job in preview.items():
        assert "id-token" not in job["permissions"] or name == "pulumi"


def test_the_gate_uses_the_base_branchs_policies_and_the_prs_own_run_is_informative():
    steps = [s for _, _, s in _steps({"jobs": {"o": _jobs("preview.yml")["offline"]}})]
    gate = next(s for s in steps if "--policies-from" in s.get("run", ""))
    assert '--policies-from "origin/$BASE_REF"' in gate["run"] and "continue-on-error" not in gate
    own = next(s for s in steps if "rayplat check" in s.get("run", "") and s is not gate)
    assert own["continue-on-error"] is True and "--policies-from" not in own["run"]


def test_check_knows_policies_from():
    """Passes once the CLI side of the base-branch gate has landed."""
    assert "--policies-from" in _cli_options("check")


def test_one_comment_per_pr_and_sarif_uploaded_only_when_written():
    preview = _jobs("preview.yml")
    comments = [(name, s) for name, _, s in _steps({"jobs": preview}) if s.get("uses", "").startswith("marocchino/")]
    assert [name for name, _ in comments] == ["comment"] and "strategy" not in preview["comment"]
    assert comments[0][1]["with"]["header"] == "rayplat"
    upload = next(s for _, _, s in _steps({"jobs": preview}) if "upload-sarif" in s.get("uses", ""))
    assert "hashFiles('build/check-*.sarif') != ''" in upload["if"]


def test_pip_is_cached_and_lint_and_types_run_only_in_ci():
    for path in WORKFLOWS:
        for _, _, step in _steps(_load(path)):
            if step.get("uses", "").startswith("actions/setup-python@"):
                assert step["with"]["cache"] == "pip" and step["with"]["cache-dependency-path"] == "pyproject.toml"
            if path.name != "ci.yml":
                assert not re.search(r"make (lint|typecheck|test)|ruff|mypy", step.get("run", ""))


def test_only_the_drift_issue_job_writes_issues():
    writers = [
        (path.name, name)
        for path in WORKFLOWS
        for name, job in _load(path)["jobs"].items()
        if job["permissions"].get("issues") == "write"
    ]
    assert writers == [("drift.yml", "issue")]
    assert "id-token" not in _jobs("drift.yml")["issue"]["permissions"]


def test_zizmor_finds_nothing_of_medium_or_high_severity():
    result = subprocess.run(
        [str(PROJECT_ROOT / ".venv/bin/zizmor"), "--offline", "--format", "json", str(WORKFLOW_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings = json.loads(result.stdout)
    serious = [f["ident"] for f in findings if f["determinations"]["severity"] in ("Medium", "High")]
    assert serious == [], result.stdout
