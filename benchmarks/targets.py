"""The performance targets of the offline plan, and the pool-scaling fits they are judged on."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.cases import POOL_COUNTS
from benchmarks.policy import POLICY_LIMIT_S, PolicyFigures
from benchmarks.runner import Measured
from benchmarks.stats import Fit, linear_fit

DEV_WALL_LIMIT_S = 5.0
LINEAR_R2_MIN = 0.95


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
            f"dev plan under {DEV_WALL_LIMIT_S:g} s wall (fresh process, median)",
            f"{dev_wall:.2f} s",
            dev_wall < DEV_WALL_LIMIT_S,
        ),
        Verdict(
            f"plan cost linear in GPU pools (R² of warm plan times >= {LINEAR_R2_MIN:g})",
            f"R² = {fits.warm.r_squared:.3f}, {fits.warm.slope * 1000:.0f} ms per pool",
            fits.warm.r_squared >= LINEAR_R2_MIN,
        ),
    ]


def policy_verdict(policy: PolicyFigures) -> Verdict:
    return Verdict(
        f"policy check of about 1,000 resources x all rules under {POLICY_LIMIT_S:g} s (in-process, median)",
        f"{policy.median_s:.2f} s for {policy.resources} resources",
        policy.median_s < POLICY_LIMIT_S,
    )
