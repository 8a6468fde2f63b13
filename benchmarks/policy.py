"""Policy evaluation at scale: the whole pack over a synthetic plan of about 1,000 resources."""

from __future__ import annotations

import copy
import json
import statistics
import time
from dataclasses import dataclass

from benchmarks.cases import POOLS_KEY, ROOT, TEAMS_KEY, gpu_pools

TARGET_RESOURCES = 1000
POLICY_LIMIT_S = 2.0


@dataclass(frozen=True)
class PolicyFigures:
    resources: int
    policies: int
    evaluations: int
    times_s: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.times_s)


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


def measure_policy(runs: int) -> PolicyFigures:
    from policies import ALL_POLICIES
    from rayplat.check.engine import check_plan, load_policy_config, policy_config_path

    plan = synthetic_plan()
    config = load_policy_config(policy_config_path("prod"))
    times, evaluations = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        evaluations = len(check_plan(plan, config).findings)
        times.append(time.perf_counter() - start)
    return PolicyFigures(len(plan.resources), len(ALL_POLICIES), evaluations, times)


__all__ = ["POLICY_LIMIT_S", "ROOT", "PolicyFigures", "measure_policy"]
