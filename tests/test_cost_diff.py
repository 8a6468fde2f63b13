"""`rayplat diff` prices a change: floor and ceiling before and after, and a must-review mark above the
share or amount the base's stack-cost-ceiling config sets."""

from __future__ import annotations

import copy
import json

import pytest
from typer.testing import CliRunner

from rayplat.cli import app
from rayplat.cost.report import bill_of
from tests.conftest import planned

runner = CliRunner()


def _diff(tmp_path, a10g_max: int, limits: dict) -> dict:
    base = planned("dev")
    head = copy.deepcopy(base)
    group = next(r for r in head.resources if r.type == "aws:eks/nodeGroup:NodeGroup" and r.name == "dev-a10g")
    group.inputs["scalingConfig"]["maxSize"] = a10g_max
    base.write(tmp_path / "base.json")
    head.write(tmp_path / "head.json")
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"stack-cost-ceiling": {"maxMonthlyUsd": 100000, **limits}}))
    args = ["diff", "--stack", "dev", "--base-plan", str(tmp_path / "base.json"), "--head-plan"]
    args += [str(tmp_path / "head.json"), "--base-policy-config", str(config), "--head-policy-config", str(config)]
    args += ["--policy-config", str(config)]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    markdown = runner.invoke(app, [*args, "--format", "markdown"]).output
    return {"json": json.loads(result.output), "markdown": markdown}


def test_raising_a_pools_max_size_raises_the_ceiling_by_its_nodes_price(tmp_path):
    a10g = next(line for line in bill_of(planned("dev")).lines if line.pool == "a10g")
    report = _diff(tmp_path, 6, {"reviewIncreaseShare": 0.5, "reviewIncreaseUsd": 1000})
    cost = report["json"]["cost"]
    assert cost["ceilingAfter"]["known"] - cost["ceilingBefore"]["known"] == pytest.approx(
        2 * a10g.unit_monthly, abs=0.02
    )
    assert cost["floorAfter"] == cost["floorBefore"]
    assert report["json"]["summary"]["costToReview"] is False
    assert "ceiling $2,696 → $3,436/month" in report["markdown"]
    assert "**Cost ceiling**" not in report["markdown"]


@pytest.mark.parametrize(
    ("a10g_max", "limits", "reason"),
    [
        (8, {"reviewIncreaseShare": 0.9, "reviewIncreaseUsd": 1000}, "rises by $1,480 (+55%), more than 90% or $1,000"),
        (6, {"reviewIncreaseShare": 0.1, "reviewIncreaseUsd": 5000}, "rises by $740 (+27%), more than 10% or $5,000"),
    ],
)
def test_a_ceiling_rise_over_the_share_or_the_amount_must_be_reviewed(tmp_path, a10g_max, limits, reason):
    report = _diff(tmp_path, a10g_max, limits)
    assert report["json"]["summary"]["costToReview"] is True
    assert f"**Cost ceiling**: the monthly ceiling {reason}" in report["markdown"]
