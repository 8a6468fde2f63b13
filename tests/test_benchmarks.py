"""The benchmark's code paths on tiny inputs (one run, one grid point, a small stack): figures, not timings."""

from __future__ import annotations

import pytest

from benchmarks import report
from benchmarks.cases import GRID_POINTS, grid_cases
from benchmarks.floor import measure_floor, plan_modules
from benchmarks.overhead import measure_check_overhead
from benchmarks.policy import measure_policy
from benchmarks.runner import Case, measure, run_child
from benchmarks.targets import check_verdict, floor_verdict, grid_ratio, grid_verdict, policy_verdicts
from rayplat.plan import plan_stack
from rayplat.plan.engine import read_stack_config
from stackconfig.loading import parse_stack_config

SMALL_STACK = "local"


@pytest.fixture(scope="module")
def floor():
    return measure_floor(Case(label=SMALL_STACK, stack=SMALL_STACK), runs=1)


@pytest.fixture(scope="module")
def grid():
    return measure(grid_cases(GRID_POINTS[:1]), runs=1)


@pytest.fixture(scope="module")
def overhead():
    return measure_check_overhead(SMALL_STACK, runs=1)


@pytest.fixture(scope="module")
def policy():
    return measure_policy(1, plan=plan_stack(SMALL_STACK))


def test_the_floor_imports_what_the_plan_imported_and_registers_as_many_resources(floor):
    assert floor.resources > 0
    assert floor.floor[0].resources == floor.resources
    assert floor.floor[0].failed_imports == 0
    assert floor.modules > 100  # the Pulumi SDK, the providers, the project
    assert len(floor.plan) == len(floor.floor) == 1


def test_the_floor_counts_what_the_engine_received_and_imports_it_cannot_do():
    resources = [["pulumi:providers:kubernetes", True], ["rayplat:test:Thing", False], ["kubernetes:core/v1:Pod", True]]
    reply, _ = run_child("benchmarks.floor", {"modules": ["json", "no_such_module_here"], "resources": resources})
    assert (reply["resources"], reply["failed_imports"]) == (3, 1)


def test_the_floor_leaves_out_the_benchmark_s_own_modules():
    found = ["__main__", "benchmarks", "benchmarks.child", "benchmarks_other", "json", "pulumi.runtime"]
    assert plan_modules(found) == ["benchmarks_other", "json", "pulumi.runtime"]


def test_every_grid_point_is_a_valid_dev_config():
    for case in grid_cases():
        parse_stack_config({**read_stack_config("dev"), **case.overrides}, stack="dev")
    assert len(grid_cases()) == len(GRID_POINTS)


def test_the_grid_s_smallest_point_plans_its_teams(grid):
    (smallest,) = grid
    assert smallest.resources > 0
    assert grid_ratio(grid) == pytest.approx(1.0)
    assert grid_verdict(grid).passed


def test_the_check_overhead_times_both_commands(overhead):
    assert overhead.stack == SMALL_STACK
    assert len(overhead.plan_s) == len(overhead.check_s) == 1
    assert check_verdict(overhead).measured.endswith(" s")


def test_the_pack_runs_in_a_fresh_process_on_the_written_plan(policy):
    assert policy.resources == len(plan_stack(SMALL_STACK).resources)
    assert policy.evaluations > 0
    (fresh,) = policy.fresh
    assert 0 < fresh.check_s < fresh.wall_s
    assert len(policy_verdicts(policy)) == 2


def test_the_report_prints_every_new_figure(floor, grid, overhead, policy):
    floor_text = report._floor_table(floor)
    assert f"**{floor_verdict(floor).measured}**" in floor_text
    assert "| bare mock engine |" in floor_text
    grid_text = report._grid_table(grid, GRID_POINTS[:1])
    assert "| 1 x 1 |" in grid_text
    assert "**1.00x**" in grid_text
    assert f"`rayplat check --stack {SMALL_STACK}`" in report._overhead_table(overhead)
    assert "| fresh process |" in report._policy_table(policy)
    machine = dict(report._machine_rows(report.Runs(1, 1)))
    assert machine["Runs per figure"].startswith("1 (")
    assert "Load average (1, 5, 15 min), after" in machine
