"""The gate judges a change by the rules it merges into: changes to the policy pack and the stack's policy
config are must-review items in the diff, and `rayplat check --policies-from REF` uses the ref's rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from policies import ALL_POLICIES
from rayplat import PROJECT_ROOT
from rayplat.check.engine import policy_config_path
from rayplat.cli import app
from rayplat.diff.policyconfig import compare, rule_listing

RULES = rule_listing(ALL_POLICIES)


def _dev_config() -> dict:
    return json.loads(policy_config_path("dev").read_text())


def _disable_two(config: dict) -> dict:
    return {**config, "iam-no-admin": "disabled", "s3-public-access-block": "disabled"}


def test_disabling_two_mandatory_rules_must_be_reviewed():
    changes = compare(RULES, _dev_config(), RULES, _disable_two(_dev_config()))
    assert [(c.rule, c.what, c.must_review) for c in changes] == [
        ("iam-no-admin", "enforcement disabled: mandatory → disabled", True),
        ("s3-public-access-block", "enforcement disabled: mandatory → disabled", True),
    ]


def test_raising_a_level_is_shown_but_need_not_be_reviewed():
    head = {**_dev_config(), "gpu-stack-budget": {"enforcementLevel": "mandatory", "maxGpusPerStack": 16}}
    (change,) = compare(RULES, _dev_config(), RULES, head)
    assert (change.rule, change.what, change.must_review) == (
        "gpu-stack-budget",
        "enforcement raised: advisory → mandatory",
        False,
    )


def test_parameters_and_exemptions():
    head = _dev_config()
    head["gpu-stack-budget"] = {"maxGpusPerStack": 64}
    exemption = {"resource": "*-bucket", "reason": "a public dataset"}
    head["s3-no-public-principal"] = {"enforcementLevel": "mandatory", "exemptions": [exemption]}
    head["namespace-pod-security"] = {}
    found = {(c.rule, c.what): c.must_review for c in compare(RULES, _dev_config(), RULES, head)}
    assert found == {
        ("gpu-stack-budget", "parameter `maxGpusPerStack`: 16 → 64"): True,
        ("s3-no-public-principal", "exemption added for `*-bucket` (a public dataset)"): True,
        ("namespace-pod-security", "exemption removed for `*-platform-monitoring`"): False,
    }


def test_rules_added_or_removed_from_the_pack():
    base = [*RULES, {"name": "old-rule", "enforcementLevel": "mandatory", "defaults": {}}]
    head = [r for r in RULES if r["name"] != "iam-no-admin"]
    found = {(c.rule, c.must_review) for c in compare(base, _dev_config(), head, _dev_config())}
    assert found == {("old-rule", True), ("iam-no-admin", True)}


def test_diff_of_plan_files_shows_a_config_that_disables_rules(tmp_path):
    plan = tmp_path / "plan.json"
    head_config = tmp_path / "dev.json"
    head_config.write_text(json.dumps(_disable_two(_dev_config())))
    runner = CliRunner()
    assert runner.invoke(app, ["plan", "--stack", "dev", "--json", str(plan), "-q"]).exit_code == 0
    args = ["diff", "--stack", "dev", "--base-plan", str(plan), "--head-plan", str(plan)]
    unchanged = runner.invoke(app, args)
    assert "no changes" in unchanged.output
    result = runner.invoke(app, [*args, "--head-policy-config", str(head_config), "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["summary"]["policyRulesToReview"] == 2
    markdown = runner.invoke(app, [*args, "--head-policy-config", str(head_config)]).output
    assert "no changes" not in markdown
    assert "**Policy rule change**: `iam-no-admin` enforcement disabled: mandatory → disabled" in markdown


def test_check_refuses_a_plan_file_of_another_stack_or_not_a_plan(tmp_path):
    runner = CliRunner()
    plan = tmp_path / "plan.json"
    assert runner.invoke(app, ["plan", "--stack", "dev", "--json", str(plan), "-q"]).exit_code == 0
    assert runner.invoke(app, ["check", "--plan", str(plan)]).exit_code == 0
    other = runner.invoke(app, ["check", "--plan", str(plan), "--stack", "prod"])
    assert other.exit_code == 2 and "not 'prod'" in other.output
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    assert runner.invoke(app, ["check", "--plan", str(bad)]).exit_code == 2
    assert runner.invoke(app, ["check", "--plan", str(tmp_path / "missing.json")]).exit_code == 2


def _git(repo: Path, *args: str) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, *args], cwd=repo, check=True)


def _rayplat(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    command = [sys.executable, "-c", "from rayplat.cli import app; app()", *args]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def weakening_pr(tmp_path_factory) -> Path:
    """A repository whose last commit opens the artifact bucket's ACLs and disables the rule that catches it
    in its own dev policy config."""
    repo = tmp_path_factory.mktemp("gate") / "repo"
    shutil.copytree(
        PROJECT_ROOT,
        repo,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "tests", "docs"
        ),
    )
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    storage = repo / "components" / "aws" / "storage.py"
    assert "block_public_acls=True," in storage.read_text()
    storage.write_text(storage.read_text().replace("block_public_acls=True,", "block_public_acls=False,"))
    config_file = repo / "policies" / "config" / "dev.json"
    config_file.write_text(json.dumps(_disable_two(json.loads(config_file.read_text())), indent=2))
    _git(repo, "commit", "-qam", "open the bucket, disable the rule")
    return repo


def test_a_pr_that_disables_a_rule_still_fails_under_the_base_policies(weakening_pr):
    own = _rayplat(weakening_pr, "check", "--stack", "dev")
    assert own.returncode == 0, own.stdout + own.stderr
    gated = _rayplat(weakening_pr, "check", "--stack", "dev", "--policies-from", "HEAD~1", "--format", "json")
    assert gated.returncode == 1, gated.stdout + gated.stderr
    failed = {f["policy"] for f in json.loads(gated.stdout)["results"] if f["status"] == "failed"}
    assert "s3-public-access-block" in failed
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=weakening_pr, capture_output=True, text=True).stdout
    assert len(worktrees.strip().splitlines()) == 1, "the temporary worktree was not removed"


def test_diff_against_the_base_ref_shows_the_disabled_rules(weakening_pr):
    result = _rayplat(weakening_pr, "diff", "--stack", "dev", "--base", "HEAD~1")
    assert result.returncode == 0, result.stderr
    assert "**Policy rule change**: `s3-public-access-block` enforcement disabled: mandatory → disabled" in (
        result.stdout
    )
    assert "**Policy rule change**: `iam-no-admin` enforcement disabled: mandatory → disabled" in result.stdout
