"""Every `--output` of the CLI writes its report into a folder that need not exist yet."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rayplat.cli import app

runner = CliRunner()


@pytest.mark.parametrize(("output_format", "first_line"), [("text", "Policy check of stack local:"), ("json", "{")])
def test_check_report_goes_into_a_new_folder(tmp_path, output_format, first_line):
    report = tmp_path / "reports" / "local" / f"check.{output_format}"
    result = runner.invoke(app, ["check", "--stack", "local", "--format", output_format, "--output", str(report)])
    assert result.exit_code == 0, result.output
    assert report.read_text().startswith(first_line)
    if output_format == "json":
        assert json.loads(report.read_text())["stack"] == "local"
