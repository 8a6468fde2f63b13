"""The performance targets of the offline plan and the check, and the fits and ratios they are judged on."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from benchmarks.cases import POOL_COUNTS
from benchmarks.floor import FloorFigures
from benchmarks.overhead import CheckOverhead
from benchmarks.policy import POLICY_LIMIT_S, PolicyFigures
from benchmarks.runner import Measured
from benchmarks.stats import Fit, linear_fit

DEV_WALL_LIMIT_S = 2.5
LINEAR_R2_MIN = 0.95
FLOOR_RATIO_MAX = 1.3
CHECK_OVERHEAD_MAX_S = 0.5
PACK_FRESH_LIMIT_S = 1.0
GRID_RATIO_MAX = 1.3


@dataclass(frozen=True)
class PoolFits:
    resources: Fit
    wall: Fit
    warm: Fit


@dataclass(frozen=True)
class Verdict:
    target: str
    measured: str
    passed: bool

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'}  {self.target}: {self.measured}"


def pool_fits(pools: list[Measured]) -> PoolFits:
    counts = list(POOL_COUNTS)
    return PoolFits(
        resources=linear_fit(counts, [m.resources for m in pools]),
        wall=linear_fit(counts, [m.median("wall_s") for m in pools]),
        warm=linear_fit(counts, [m.warm_median for m in pools]),
    )


def verdicts(stacks: list[Measured], fits: PoolFits) -> list[Verdict]:
    dev_wall = next(m for m in stacks if m.case.stack == "dev").median("wall_s")
    return [
        Verdict(
            f"dev plan at most {DEV_WALL_LIMIT_S:g} s wall (fresh process, median)",
            f"{dev_wall:.2f} s",
            dev_wall <= DEV_WALL_LIMIT_S,
        ),
        Verdict(
            f"plan cost linear in GPU pools (R² of warm plan times >= {LINEAR_R2_MIN:g})",
            f"R² = {fits.warm.r_squared:.3f}, {fits.warm.slope * 1000:.0f} ms per pool",
            fits.warm.r_squared >= LINEAR_R2_MIN,
        ),
    ]


def policy_verdicts(policy: PolicyFigures) -> list[Verdict]:
    fresh_wall = policy.fresh_median("wall_s")
    return [
        Verdict(
            f"policy check of about 1,000 resources x all rules under {POLICY_LIMIT_S:g} s (in-process, median)",
            f"{policy.median_s:.2f} s for {policy.resources} resources",
            policy.median_s < POLICY_LIMIT_S,
        ),
        Verdict(
            f"policy pack on about 1,000 resources under {PACK_FRESH_LIMIT_S:g} s wall (fresh process, median)",
            f"{fresh_wall:.2f} s for {policy.resources} resources",
            fresh_wall < PACK_FRESH_LIMIT_S,
        ),
    ]


def floor_ratio(floor: FloorFigures) -> float:
    """The dev plan's wall time over the bare mock engine's, medians of the interleaved fresh processes."""
    return statistics.median(r.wall_s for r in floor.plan) / statistics.median(r.wall_s for r in floor.floor)


def floor_verdict(floor: FloorFigures) -> Verdict:
    ratio = floor_ratio(floor)
    return Verdict(
        f"dev plan at most {FLOOR_RATIO_MAX:g}x the bare mock-engine floor (fresh processes, medians)",
        f"{ratio:.2f}x",
        ratio <= FLOOR_RATIO_MAX,
    )


def check_verdict(overhead: CheckOverhead) -> Verdict:
    return Verdict(
        f"`rayplat check` adds at most {CHECK_OVERHEAD_MAX_S:g} s to `rayplat plan` (--stack {overhead.stack}, "
        "fresh processes, medians)",
        f"{overhead.overhead_s:+.2f} s",
        overhead.overhead_s <= CHECK_OVERHEAD_MAX_S,
    )


def per_resource_s(measured: Measured) -> float:
    """Warm plan seconds per planned resource."""
    return measured.warm_median / measured.resources


def grid_ratio(grid: list[Measured]) -> float:
    """Per-resource warm plan cost at the grid's largest point over that at its smallest."""
    return per_resource_s(grid[-1]) / per_resource_s(grid[0])


def grid_verdict(grid: list[Measured]) -> Verdict:
    ratio = grid_ratio(grid)
    return Verdict(
        f"plan cost per resource at the largest pools x teams point within {GRID_RATIO_MAX:g}x of the smallest "
        "(warm plans, medians)",
        f"{ratio:.2f}x ({per_resource_s(grid[-1]) * 1000:.2f} vs {per_resource_s(grid[0]) * 1000:.2f} ms)",
        ratio <= GRID_RATIO_MAX,
    )
