"""The GitHub workflows parse, run over every stack, and call only commands and files that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
import yaml

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from tests.conftest import EXISTING_STACKS, STACKS

WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", (PROJECT_ROOT / "Makefile").read_text(), re.MULTILINE))
CLI_COMMANDS = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


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
    return text.replace("${{ matrix.stack }}", stack).replace('"$stack"', stack).replace("$stack", stack)


def test_the_three_workflows_exist():
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "preview.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_parses_with_jobs_and_triggers(path):
    document = _load(path)
    assert document["on"] and document["jobs"]
    for job in document["jobs"].values():
        assert job["runs-on"].startswith("ubuntu-") and job["timeout-minutes"] > 0


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actions_are_pinned_to_a_version(path):
    for _, _, step in _steps(_load(path)):
        if "uses" in step:
            assert re.search(r"@(v\d+(\.\d+)*|[0-9a-f]{40})$", step["uses"]), step["uses"]


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
    words = shlex.split(line.removeprefix("do ").replace("${{ github.base_ref }}", "main"))
    if words[0] == "make":
        assert set(words[1:]) <= MAKE_TARGETS, f"{where}: make {words[1:]}"
    elif words[0] == ".venv/bin/rayplat":
        assert words[1] in CLI_COMMANDS, f"{where}: rayplat {words[1]}"
        _check_paths(words, where)
    else:
        pytest.fail(f"{where}: unexpected command {line!r}")


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


def test_each_cloud_gets_its_credentials():
    for name in ("preview.yml", "deploy.yml"):
        for _, _, step in _steps(_load(PROJECT_ROOT / ".github/workflows" / name)):
            uses = step.get("uses", "")
            if uses.startswith("aws-actions/"):
                assert step["if"] == "matrix.cloud == 'aws'"
            if uses.startswith("google-github-actions/auth"):
                assert step["if"] == "matrix.cloud == 'gcp'"


def test_pulumi_steps_use_the_policy_pack_and_the_stacks_config():
    for name in ("preview.yml", "deploy.yml"):
        for _, _, step in _steps(_load(PROJECT_ROOT / ".github/workflows" / name)):
            if step.get("uses", "").startswith("pulumi/actions"):
                assert step["with"]["policyPacks"] == "policies"
                assert step["with"]["policyPackConfigs"] == "policies/config/${{ matrix.stack }}.json"


def test_prod_deploys_behind_an_environment_and_after_the_policy_check():
    deploy = _load(PROJECT_ROOT / ".github/workflows/deploy.yml")["jobs"]["deploy"]
    assert deploy["environment"] == "${{ matrix.stack }}" and deploy["needs"] == "check"
    assert deploy["strategy"]["max-parallel"] == 1
    assert [e["stack"] for e in deploy["strategy"]["matrix"]["include"]][:3] == ["dev", "staging", "prod"]


def test_preview_comments_once_per_stack_from_the_diff_it_wrote():
    steps = [s for _, _, s in _steps(_load(PROJECT_ROOT / ".github/workflows/preview.yml"))]
    comment = next(s for s in steps if s.get("uses", "").startswith("marocchino/sticky-pull-request-comment"))
    diff = next(s for s in steps if "rayplat diff" in s.get("run", ""))
    assert comment["with"]["header"] == "rayplat-${{ matrix.stack }}"
    assert comment["with"]["path"] in diff["run"]
