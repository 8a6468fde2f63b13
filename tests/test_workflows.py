"""The GitHub workflows parse, run over every stack, and call only commands and files that exist."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from tests.conftest import EXISTING_STACKS, STACKS

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))
CLI_COMMANDS = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
PRIVATE_RUNNER = """${{ fromJSON(vars.RAYPLAT_PRIVATE_RUNNER_LABELS || '"ubuntu-24.04"') }}"""
FORKS_EXCLUDED = "github.event.pull_request.head.repo.full_name == github.repository"
# Shell words a workflow script may use besides make and rayplat.
SHELL_WORDS = {"echo", "cat", "gh", "if", "then", "else", "fi", "title", "body", "number"}


def _load(path: Path) -> dict:
    # YAML 1.1 reads the key `on` as True.
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))
    return document


def _steps(document: dict):
    for job_name, job in document["jobs"].items():
        for step in job.get("steps", []):
            yield job_name, job, step


def _expand(text: str, stack: str) -> str:
    for variable in ("${{ matrix.stack }}", '"$stack"', "$stack", '"$STACK"', "$STACK"):
        text = text.replace(variable, stack)
    return text


def test_the_four_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "drift.yml", "preview.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses_with_jobs_and_triggers(path):
    document = _load(path)
    assert document["on"] and document["jobs"]
    for job in document["jobs"].values():
        assert job["runs-on"].startswith("ubuntu-") or job["runs-on"] == PRIVATE_RUNNER
        assert job["timeout-minutes"] > 0


def test_actions_are_pinned_by_commit_with_their_version_and_one_commit_per_action():
    pins: dict[str, set[str]] = {}
    for path in WORKFLOWS:
        lines = [line for line in path.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]
        assert lines, path.name
        for line in lines:
            match = re.search(r"uses: ([\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$", line)
            assert match, f"{path.name}: {line.strip()}"
            pins.setdefault(match[1].split("/upload-sarif")[0], set()).add(line.split("@")[1])
    assert all(len(commits) == 1 for commits in pins.values()), pins


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_hardening(path):
    document = _load(path)
    assert "pull_request_target" not in document["on"]
    assert document["permissions"] == {} and document["concurrency"]["group"]
    for job in document["jobs"].values():
        assert isinstance(job["permissions"], dict) and job["permissions"]
    for _, _, step in _steps(document):
        assert "${{" not in step.get("run", ""), step["run"]
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_command_a_workflow_runs_exists(path):
    for _, job, step in _steps(_load(path)):
        if "run" not in step:
            continue
        stacks = _matrix_stacks(job) or STACKS
        for stack in stacks:
            for line in _expand(step["run"], stack).splitlines():
                _check_command(line.strip(), path.name)


def _matrix_stacks(job: dict) -> list[str]:
    matrix = job.get("strategy", {}).get("matrix", {})
    return list(matrix.get("stack", [])) + [entry["stack"] for entry in matrix.get("include", [])]


def _check_command(line: str, where: str) -> None:
    if not line or line.startswith(("for ", "done", "#")):
        return
    words = shlex.split(line.removeprefix("do ").replace("$BASE_REF", "main"))
    if words[0] == "make":
        assert set(words[1:]) <= MAKE_TARGETS, f"{where}: make {words[1:]}"
    elif words[0] == ".venv/bin/rayplat":
        assert words[1] in CLI_COMMANDS, f"{where}: rayplat {words[1]}"
        options = {word.split("=")[0] for word in words[2:] if word.startswith("--")}
        assert options <= _help_options(words[1]), f"{where}: rayplat {words[1]} {options}"
        _check_paths(words, where)
    else:
        assert re.split(r"[ =\[]", line)[0] in SHELL_WORDS, f"{where}: unexpected command {line!r}"


def _help_options(command: str) -> set[str]:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return set(re.findall(r"--[a-z][a-z-]*", result.output))


def test_the_gate_judges_the_pr_by_the_base_branchs_policies():
    # `--policies-from` comes with the CLI side of issue 12.
    assert "--policies-from" in _help_options("check")
    steps = {s.get("name"): s for _, _, s in _steps(_load(PROJECT_ROOT / ".github/workflows/preview.yml"))}
    gate = steps["Policy check under the base branch's pack and config (the gate)"]
    own = steps["Policy check under the PR's own pack and config (informative)"]
    assert '--policies-from "origin/$BASE_REF"' in gate["run"] and "continue-on-error" not in gate
    assert "--policies-from" not in own["run"] and own["continue-on-error"] is True


def _check_paths(words: list[str], where: str) -> None:
    for option in ("--policy-config",):
        if option in words:
            path = PROJECT_ROOT / words[words.index(option) + 1]
            assert path.is_file(), f"{where}: {path} does not exist"
    if "--stack" in words:
        assert words[words.index("--stack") + 1] in STACKS


def test_stack_matrices_cover_every_stack():
    preview = _load(PROJECT_ROOT / ".github/workflows/preview.yml")["jobs"]
    assert sorted(_matrix_stacks(preview["offline"])) == STACKS
    deployable = sorted(set(STACKS) - set(EXISTING_STACKS))
    assert sorted(_matrix_stacks(preview["pulumi"])) == deployable
    assert sorted(_matrix_stacks(_load(PROJECT_ROOT / ".github/workflows/deploy.yml")["jobs"]["deploy"])) == deployable
    assert sorted(_matrix_stacks(_load(PROJECT_ROOT / ".github/workflows/drift.yml")["jobs"]["drift"])) == deployable


def test_each_cloud_gets_its_credentials():
    for name in ("preview.yml", "deploy.yml", "drift.yml"):
        for _, _, step in _steps(_load(PROJECT_ROOT / ".github/workflows" / name)):
            uses = step.get("uses", "")
            if uses.startswith("aws-actions/"):
                assert step["if"] == "matrix.cloud == 'aws'"
            if uses.startswith("google-github-actions/auth"):
                assert step["if"] == "matrix.cloud == 'gcp'"


def test_pulumi_steps_use_the_policy_pack_the_stacks_config_and_the_configured_backend():
    pulumi_steps = [
        (job, step)
        for name in ("preview.yml", "deploy.yml", "drift.yml")
        for _, job, step in _steps(_load(PROJECT_ROOT / ".github/workflows" / name))
        if step.get("uses", "").startswith("pulumi/actions")
    ]
    assert len(pulumi_steps) == 3
    for job, step in pulumi_steps:
        assert step["with"]["policyPacks"] == "policies"
        assert step["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"
        assert step["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert step["with"]["secrets-provider"] == "${{ vars.PULUMI_SECRETS_PROVIDER }}"
        assert "ray-platform" not in step["with"]["stack-name"].replace("format('{0}/ray-platform/{1}'", "")
        assert job["runs-on"] == PRIVATE_RUNNER and job["permissions"]["id-token"] == "write"


def test_the_real_preview_never_runs_for_a_fork_and_uses_the_read_only_role():
    jobs = _load(PROJECT_ROOT / ".github/workflows/preview.yml")["jobs"]
    assert FORKS_EXCLUDED in jobs["pulumi"]["if"]
    roles = [s["with"] for _, _, s in _steps({"jobs": {"pulumi": jobs["pulumi"]}}) if "uses" in s and "with" in s]
    credentials = [w.get("role-to-assume") or w.get("service_account") for w in roles]
    assert (
        "${{ vars.AWS_PREVIEW_ROLE_ARN }}" in credentials and "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}" in credentials
    )
    assert not any("DEPLOY" in str(c) for c in credentials)
    assert set(jobs["offline"]["permissions"]) == {"contents"}


def test_drift_fails_on_changes_and_reports_one_issue_per_stack():
    job = _load(PROJECT_ROOT / ".github/workflows/drift.yml")["jobs"]["drift"]
    steps = {s.get("id"): s for s in job["steps"]}
    assert steps["preview"]["with"]["command"] == "preview"
    assert steps["preview"]["with"]["refresh"] is True and steps["preview"]["with"]["expect-no-changes"] is True
    report = next(s for s in job["steps"] if "gh issue" in s.get("run", ""))
    assert report["if"] == "failure() && steps.preview.outcome == 'failure'"
    assert "$STACK" in report["run"] and report["env"]["STACK"] == "${{ matrix.stack }}"
    assert job["permissions"]["issues"] == "write"
    others = [
        j
        for name in ("ci.yml", "deploy.yml", "preview.yml")
        for j in _load(PROJECT_ROOT / ".github/workflows" / name)["jobs"].values()
    ]
    assert not any("issues" in j["permissions"] for j in others)


def test_prod_deploys_behind_an_environment_and_after_the_policy_check():
    deploy = _load(PROJECT_ROOT / ".github/workflows/deploy.yml")["jobs"]["deploy"]
    assert deploy["environment"] == "${{ matrix.stack }}" and deploy["needs"] == "check"
    assert deploy["strategy"]["max-parallel"] == 1
    assert [e["stack"] for e in deploy["strategy"]["matrix"]["include"]][:3] == ["dev", "staging", "prod"]


def test_preview_posts_one_comment_with_every_stacks_section():
    jobs = _load(PROJECT_ROOT / ".github/workflows/preview.yml")["jobs"]
    steps = jobs["comment"]["steps"]
    comments = [s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment")]
    assert len(comments) == 1 and comments[0]["with"] == {"header": "rayplat", "path": "build/comment.md"}
    assemble = next(s for s in steps if "build/comment.md" in s.get("run", ""))
    assert "for stack in dev staging prod gcp-dev gcp-prod local; do" in assemble["run"]
    diff = next(s for s in jobs["offline"]["steps"] if "rayplat diff" in s.get("run", ""))
    assert '--output "build/diff-$STACK.md"' in diff["run"] and 'cat "build/diff-$stack.md"' in assemble["run"]
    assert jobs["comment"]["needs"] == "offline" and "strategy" not in jobs["comment"]


def test_sarif_is_uploaded_only_when_written():
    steps = _load(PROJECT_ROOT / ".github/workflows/preview.yml")["jobs"]["comment"]["steps"]
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert "hashFiles('build/check-*.sarif') != ''" in upload["if"]


def test_pip_is_cached_and_lint_and_types_run_only_in_ci():
    for name in ("ci.yml", "preview.yml"):
        for _, _, step in _steps(_load(PROJECT_ROOT / ".github/workflows" / name)):
            if step.get("uses", "").startswith("actions/setup-python"):
                assert step["with"]["cache"] == "pip" and step["with"]["cache-dependency-path"] == "pyproject.toml"
    runs = {
        name: " ".join(s.get("run", "") for _, _, s in _steps(_load(PROJECT_ROOT / ".github/workflows" / name)))
        for name in ("ci.yml", "deploy.yml", "drift.yml", "preview.yml")
    }
    assert "make test" in runs["ci.yml"]
    assert not any(
        re.search(r"make (lint|typecheck|test)|ruff|mypy", text) for name, text in runs.items() if name != "ci.yml"
    )


def test_zizmor_finds_nothing_of_medium_or_high_severity():
    zizmor = Path(sys.executable).parent / "zizmor"
    result = subprocess.run(
        [
            str(zizmor),
            "--offline",
            "--min-severity",
            "medium",
            "--format",
            "json",
            str(PROJECT_ROOT / ".github" / "workflows"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []
