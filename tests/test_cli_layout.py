"""Tables in a CI log (no terminal) are never cut; COLUMNS, where set, is the width; only what applies to a
stack is listed."""

from __future__ import annotations

from typer.testing import CliRunner

from policies import ALL_POLICIES
from rayplat.cli import app

runner = CliRunner()


def test_without_a_terminal_tables_are_as_wide_as_their_content(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    assert "│ gpu-instance-types-allowed " in result.output
    assert "…" not in result.output
    assert max(len(line) for line in result.output.splitlines()) > 80


def test_columns_sets_the_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "72")
    result = runner.invoke(app, ["check", "--stack", "dev"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines and max(len(line) for line in lines) <= 72


def _policy_rows(output: str) -> set[str]:
    names = {p.name for p in ALL_POLICIES}
    return {cell for line in output.splitlines() if (cell := line.strip("│ ").split(" ")[0]) in names}


def test_check_lists_only_the_rules_that_apply_and_counts_the_others_in_one_line():
    aws = runner.invoke(app, ["check", "--stack", "dev"])
    gcp = runner.invoke(app, ["check", "--stack", "gcp-dev"])
    assert aws.exit_code == 0 and gcp.exit_code == 0, aws.output + gcp.output
    aws_rows, gcp_rows = _policy_rows(aws.output), _policy_rows(gcp.output)
    assert "s3-versioning" in aws_rows and "gke-private-nodes" not in aws_rows
    assert "gke-private-nodes" in gcp_rows and "s3-versioning" not in gcp_rows
    left_out = len(ALL_POLICIES) - len(aws_rows)
    notes = [line for line in aws.output.splitlines() if line.startswith("Not applicable")]
    assert len(notes) == 1 and f": {left_out} rules (" in notes[0] and "gcp " in notes[0], notes
    assert "│      0 │      0 │       0 │" not in aws.output


def test_a_stack_without_gpu_pools_shows_no_empty_gpu_table():
    result = runner.invoke(app, ["plan", "--stack", "local"])
    assert result.exit_code == 0, result.output
    assert "GPU pools: none" in result.output and "total max GPUs" not in result.output
    dev = runner.invoke(app, ["plan", "--stack", "dev"])
    assert "total max GPUs: 6" in dev.output
