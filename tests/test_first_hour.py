"""What a newcomer meets first: a misspelled namespace, one typo's follow-on errors, YAML's number types, a
team cluster that outgrows its quota. Each is refused (or accepted) plainly, naming the key."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_stack_config
from tests.conftest import read_stack_config

runner = CliRunner()


def _stack_dir(tmp_path: Path, stack: str, edit) -> Path:
    document = yaml.safe_load((PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_misspelled_namespace_is_refused_by_plan_naming_the_key(tmp_path):
    def misspell(config):
        config["ray-platfrom:teams"] = config.pop("ray-platform:teams")

    stacks = _stack_dir(tmp_path, "dev", misspell)
    result = runner.invoke(app, ["plan", "--stack", "dev", "--stacks-dir", str(stacks)])
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "ray-platfrom:teams: unknown config namespace 'ray-platfrom'" in output
    assert "did you mean `ray-platform:`?" in output


def test_provider_namespaces_are_accepted_and_a_bare_key_is_refused():
    config = {**read_stack_config("dev"), "aws:region": "us-west-2", "pulumi:tags": "{}", "kubernetes:context": "x"}
    assert parse_stack_config(config).cloud == "aws"
    try:
        parse_stack_config({**config, "teams": "[]"})
    except ConfigError as exc:
        assert exc.problems == ["teams: has no namespace; write `ray-platform:teams`"]
    else:
        raise AssertionError("a key without a namespace was accepted")
