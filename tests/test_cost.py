"""The cost model and `rayplat cost`: hand-computed bills, unknown prices, team shares, price provenance."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from catalog import prices
from catalog.aws_instances import GPU_INSTANCE_TYPES
from catalog.cost import Item, bill
from catalog.karpenter import NODEPOOL_TYPE
from rayplat.cli import app
from rayplat.cost.report import bill_of
from rayplat.plan import Plan, PlannedResource
from tests.conftest import STACKS, planned

runner = CliRunner()
HOURS = 730


def _resource(type_: str, name: str, inputs: dict[str, Any], dependencies: tuple[str, ...] = ()) -> PlannedResource:
    return PlannedResource(
        urn=f"urn:pulumi:small::ray-platform::{type_}::{name}",
        type=type_,
        name=name,
        custom=True,
        parent="",
        provider="",
        dependencies=list(dependencies),
        inputs=inputs,
        protect=False,
        retainOnDelete=False,
    )


def _pool(name: str, types: list[str], capacity: str, low: int, high: int, disk: int, role: str):
    template = _resource(
        "aws:ec2/launchTemplate:LaunchTemplate",
        f"small-{name}",
        {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": disk, "volumeType": "gp3"}}]},
    )
    group = _resource(
        "aws:eks/nodeGroup:NodeGroup",
        f"small-{name}",
        {
            "instanceTypes": types,
            "capacityType": capacity,
            "labels": {"rayplat.io/pool": name, "rayplat.io/node-role": role},
            "scalingConfig": {"minSize": float(low), "maxSize": float(high), "desiredSize": float(low)},
        },
        (template.urn,),
    )
    return [template, group]


def small_plan(gpu_types: list[str] | None = None, gpu_max: int = 3) -> Plan:
    """A small AWS stack in us-west-2: a cluster, one NAT gateway, a system pool and one spot GPU pool."""
    resources = [
        _resource("pulumi:providers:aws", "small-aws", {"region": "us-west-2"}),
        _resource("aws:eks/cluster:Cluster", "small", {"name": "ray-small"}),
        _resource("aws:ec2/natGateway:NatGateway", "small-nat", {}),
        *_pool("system", ["m6i.xlarge"], "ON_DEMAND", 2, 4, 100, "system"),
        *_pool("a10g", gpu_types or ["g5.xlarge"], "SPOT", 0, gpu_max, 200, "gpu"),
    ]
    return Plan("small", "ray-platform", resources, {})


def test_floor_and_ceiling_of_a_small_stack_match_a_hand_computation(tmp_path):
    eks, nat, gp3 = 0.10 * HOURS, 0.045 * HOURS, 0.08  # the catalogue's us-west-2 prices
    system_node = 0.192 * HOURS + 100 * gp3
    gpu_node = 1.006 * 0.4 * HOURS + 200 * gp3  # g5.xlarge on-demand x the g5 spot factor
    floor = eks + nat + 2 * system_node
    ceiling = eks + nat + 4 * system_node + 3 * gpu_node

    path = tmp_path / "plan.json"
    small_plan().write(path)
    result = runner.invoke(app, ["cost", "--plan", str(path), "--format", "json", "--utilisation", "0.5"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["floorMonthly"]["usd"] == pytest.approx(floor, abs=0.01)
    assert report["ceilingMonthly"]["usd"] == pytest.approx(ceiling, abs=0.01)
    assert report["expectedMonthly"]["usd"] == pytest.approx((floor + ceiling) / 2, abs=0.01)
    assert (report["floorGpus"], report["ceilingGpus"]) == (0, 3)
    gpu_line = next(line for line in report["lines"] if line["pool"] == "a10g")
    assert gpu_line["unitMonthlyUsd"] == pytest.approx(gpu_node)
    assert {s["key"] for s in gpu_line["sources"]} == {"aws-pricing-page", "assumption", "aws-ebs-pricing-page"}


def test_a_type_without_a_price_is_reported_unknown_never_zero(tmp_path):
    path = tmp_path / "plan.json"
    small_plan(["g5.xlarge", "g9.xlarge"]).write(path)
    report = json.loads(runner.invoke(app, ["cost", "--plan", str(path), "--format", "json"]).output)
    assert report["ceilingMonthly"]["usd"] is None
    assert report["ceilingMonthly"]["unknown"] == ["a10g: g5.xlarge | g9.xlarge spot + 200 GiB disk"]
    assert report["floorMonthly"]["usd"] is not None  # the pool is at zero nodes at the floor
    markdown = runner.invoke(app, ["cost", "--plan", str(path), "--format", "markdown"]).output
    assert "≥ $" in markdown and "**no price** for a10g: g5.xlarge | g9.xlarge" in markdown


def test_the_gcp_t4_pool_has_no_catalogue_price_and_says_so():
    gcp_dev = bill_of(planned("gcp-dev"))
    assert gcp_dev.total("ceiling").usd is None
    assert any("nvidia-tesla-t4" in what for what in gcp_dev.total("ceiling").unknown)


@pytest.mark.parametrize("stack", ["dev", "prod", "gcp-prod"])
def test_the_teams_shares_and_the_unallocated_rest_add_up_to_the_gpu_pools_ceiling(stack):
    stack_bill = bill_of(planned(stack))
    shares = [t.nominal_monthly.usd for t in stack_bill.teams] + [stack_bill.unallocated_monthly.usd]
    assert None not in shares and stack_bill.gpu_pools_ceiling().usd
    assert sum(s for s in shares if s is not None) == pytest.approx(stack_bill.gpu_pools_ceiling().usd, abs=0.05)


def test_a_team_pays_its_nominal_quota_at_its_pools_price_per_gpu_and_borrowing_apart():
    dev = bill_of(planned("dev"))
    per_gpu = {line.pool: line.unit_monthly / line.gpus_per_unit for line in dev.lines if line.gpus_per_unit}
    nlp = next(t for t in dev.teams if t.team == "nlp")
    assert nlp.nominal == {"a10g": 2, "l4": 2}
    assert nlp.nominal_monthly.usd == pytest.approx(2 * per_gpu["a10g"] + 2 * per_gpu["l4"], abs=0.01)
    assert nlp.borrowing_monthly.usd == pytest.approx(1 * per_gpu["a10g"], abs=0.01)


def test_a_standing_ray_cluster_is_priced_at_its_minimum_workers():
    dev = planned("dev")
    resources = [
        Item(r.type, r.urn, json.loads(json.dumps(r.inputs)), r.dependencies)
        for r in dev.resources
        if r.type != "kubernetes:ray.io/v1:RayCluster"
    ]
    ray = next(r for r in dev.resources if r.type == "kubernetes:ray.io/v1:RayCluster")
    inputs = json.loads(json.dumps(ray.inputs))
    inputs["spec"]["workerGroupSpecs"][0]["minReplicas"] = 1
    standing = bill([*resources, Item(ray.type, ray.urn, inputs)])
    vision = next(t for t in standing.teams if t.team == "vision")
    a10g = next(line for line in standing.lines if line.pool == "a10g")
    assert vision.standing_gpus == {"a10g": 1}
    assert vision.standing_monthly.usd == pytest.approx(a10g.unit_monthly, abs=0.01)


def test_the_dev_stacks_idle_floor_holds_no_gpu():
    assert bill_of(planned("dev")).gpus("floor") == 0


@pytest.mark.parametrize("stack", STACKS)
def test_plan_summary_shows_the_same_totals_as_rayplat_cost(stack):
    result = runner.invoke(app, ["cost", "--stack", stack, "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    summary = runner.invoke(app, ["plan", "--stack", stack], env={"COLUMNS": "250"}).output
    total_row = next(line for line in summary.splitlines() if re.match(r"^\W*total\W", line) and "$" in line)
    for level in ("floor", "expected", "ceiling"):
        known = report[f"{level}Monthly"]["knownUsd"]
        assert f"${known:,.0f}" in total_row


def test_every_price_names_a_dated_source():
    document = json.loads(prices.PRICES_FILE.read_text())
    entries = [
        entry
        for cloud in ("aws", "gcp")
        for region in document[cloud].values()
        for value in region.values()
        for entry in (value.values() if "usd" not in value else [value])
    ] + [e for factors in document["spotFactors"].values() for e in factors.values()]
    assert len(entries) > 100
    sources = prices.sources()
    for entry in entries:
        assert entry["usd"] > 0 and entry["source"] in sources
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", s.date) and s.reference for s in sources.values())


def test_the_readmes_cost_table_is_what_rayplat_cost_all_prints():
    from rayplat import PROJECT_ROOT
    from rayplat.cost.report import TABLE_END, TABLE_START

    result = runner.invoke(app, ["cost", "--all"])
    assert result.exit_code == 0, result.output
    readme = (PROJECT_ROOT / "README.md").read_text()
    shown = readme[readme.index(TABLE_START) : readme.index(TABLE_END) + len(TABLE_END)] + "\n"
    assert shown == result.output, "regenerate with `rayplat cost --all` and paste it into the README"
    assert "| `dev` | aws us-west-2 | $418 |" in shown  # the dev stack's idle floor: no GPU, see the floor test


def test_a_karpenter_pool_is_priced_from_its_gpu_limit_and_node_class_disk():
    (line,) = [line for line in bill_of(planned("staging")).lines if line.pool == "a10g"]
    (nodepool,) = planned("staging").of_type(NODEPOOL_TYPE)
    limit = int(nodepool.inputs["spec"]["limits"]["nvidia.com/gpu"])
    assert line.floor == 0 and line.ceiling == limit / GPU_INSTANCE_TYPES["g5.2xlarge"].gpus
    price = prices.instance_hourly("aws", "us-west-2", "g5.2xlarge", spot=True)
    disk = prices.fee("aws", "us-west-2", "blockGbMonth")
    assert line.unit_monthly == pytest.approx(price.usd * prices.HOURS_PER_MONTH + 300 * disk.usd)
