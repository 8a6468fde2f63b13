"""Tables in a CI log (no terminal) are never cut; COLUMNS, where set, is the width."""

from __future__ import annotations

from typer.testing import CliRunner

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
