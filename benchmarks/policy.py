"""Policy evaluation at scale: the whole pack over a synthetic plan of about 1,000 resources."""

from __future__ import annotations

import copy
import json
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.cases import POOLS_KEY, ROOT, TEAMS_KEY, gpu_pools
from benchmarks.runner import log, run_child

TARGET_RESOURCES = 1000
POLICY_LIMIT_S = 2.0
POLICY_STACK = "prod"


@dataclass(frozen=True)
class FreshCheck:
    """One fresh process (benchmarks.pack) checking the plan file: its wall time and the check inside it."""

    wall_s: float
    import_s: float
    check_s: float


@dataclass(frozen=True)
class PolicyFigures:
    resources: int
    policies: int
    evaluations: int
    times_s: list[float]
    fresh: list[FreshCheck] = field(default_factory=list)

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)

    def fresh_median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.fresh)


def synthetic_plan():
    """The dev stack with 20 GPU pools, its resources copied until there are about 1,000 (each copy's
    dependencies point at the same copy, so the stack rules see whole buckets and pools)."""
    from rayplat.plan import run_program
    from rayplat.plan.engine import PROGRAM, read_stack_config

    config = {**read_stack_config("dev"), POOLS_KEY: json.dumps(gpu_pools(20)), TEAMS_KEY: "[]"}
    plan = run_program("dev", config, PROGRAM)
    originals = list(plan.resources)
    copy_index = 1
    while len(plan.resources) < TARGET_RESOURCES:
        plan.resources += [_copy(r, copy_index) for r in originals]
        copy_index += 1
    return plan


def _copy(resource, index: int):
    duplicate = copy.deepcopy(resource)
    duplicate.urn = f"{resource.urn}-{index}"
    duplicate.name = f"{resource.name}-{index}"
    duplicate.dependencies = [f"{d}-{index}" for d in resource.dependencies]
    return duplicate


def measure_policy(runs: int, plan=None) -> PolicyFigures:
    """``runs`` checks of ``plan`` (default: the synthetic plan) in this process, then ``runs`` in fresh ones."""
    from policies import ALL_POLICIES
    from rayplat.check.engine import check_plan, load_policy_config, policy_config_path

    plan = plan if plan is not None else synthetic_plan()
    config = load_policy_config(policy_config_path(POLICY_STACK))
    times, evaluations = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        evaluations = len(check_plan(plan, config).findings)
        times.append(time.perf_counter() - start)
    return PolicyFigures(len(plan.resources), len(ALL_POLICIES), evaluations, times, _fresh_checks(plan, runs))


def _fresh_checks(plan, runs: int) -> list[FreshCheck]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        plan.write(path)
        fresh = []
        for round_ in range(1, runs + 1):
            reply, wall_s = run_child("benchmarks.pack", {"plan": str(path), "policy_stack": POLICY_STACK})
            fresh.append(FreshCheck(wall_s, reply["import_s"], reply["check_s"]))
            log(f"policy pack, fresh process {round_}/{runs}: {wall_s:.2f} s")
    return fresh


__all__ = ["POLICY_LIMIT_S", "ROOT", "PolicyFigures", "measure_policy"]
