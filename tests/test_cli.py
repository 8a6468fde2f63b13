"""`rayplat plan` end to end, through the console script's entry point."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from rayplat.cli import app

runner = CliRunner()


def test_plan_writes_the_stack_export_shape_and_a_summary(tmp_path):
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "--stack", "dev", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "Stack dev:" in result.output and "GPU pools" in result.output
    assert "total max GPUs: 6" in result.output
    plan = json.loads(out.read_text())
    assert (plan["stack"], plan["project"]) == ("dev", "ray-platform")
    keys = {
        "urn",
        "type",
        "name",
        "custom",
        "parent",
        "provider",
        "dependencies",
        "inputs",
        "protect",
        "retainOnDelete",
        "propertyDependencies",
        "ignoreChanges",
    }
    assert all(set(r) == keys for r in plan["resources"])
    assert plan["outputs"]["kuberayVersion"] == "1.7.0"


def test_plans_are_reproducible(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    for path in (first, second):
        assert runner.invoke(app, ["plan", "--stack", "staging", "--quiet", "--json", str(path)]).exit_code == 0
    assert first.read_text() == second.read_text()


def test_unknown_stack_is_a_clear_error():
    result = runner.invoke(app, ["plan", "--stack", "nope"])
    assert result.exit_code == 2
    assert "no stack 'nope'" in result.output
    assert "stacks: dev, gcp-dev, gcp-prod, local, prod, staging" in result.output.replace("\n", " ")


def test_plans_in_one_process_do_not_share_outputs():
    from rayplat.plan import plan_stack

    plan_stack("local")
    dev = plan_stack("dev")
    assert "kubeContext" not in dev.outputs and "objectStoreEndpoint" not in dev.outputs
    assert dev.outputs["cloud"] == "aws"


def test_version():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"rayplat {version('ray-platform')}"


def _stack_without_policy_config(tmp_path):
    from rayplat.plan.engine import STACKS_DIR

    (tmp_path / "Pulumi.nopolicy.yaml").write_text((STACKS_DIR / "Pulumi.dev.yaml").read_text())
    return ["check", "--stack", "nopolicy", "--stacks-dir", str(tmp_path)]


def test_a_stack_without_a_policy_config_is_an_error_naming_the_file(tmp_path):
    result = runner.invoke(app, _stack_without_policy_config(tmp_path))
    assert result.exit_code == 2
    assert "policies/config/nopolicy.json" in result.output
    assert "--allow-missing-policy-config" in result.output


def test_checking_without_a_policy_config_on_purpose_says_every_rule_is_advisory(tmp_path):
    result = runner.invoke(app, [*_stack_without_policy_config(tmp_path), "--allow-missing-policy-config"])
    assert result.exit_code == 0
    assert "every rule is advisory" in result.output
    assert "Policy check of stack nopolicy" in result.output
