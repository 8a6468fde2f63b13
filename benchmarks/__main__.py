"""Measure the offline plan (fresh processes and warm runs) beside the bare mock-engine floor, the plan on
a grid of GPU pools x teams, and the policy check (its cost over the plan, and the pack at scale), and
rewrite docs/benchmarks.md: `make bench`."""

from __future__ import annotations

import argparse
import sys

from benchmarks import report
from benchmarks.cases import grid_cases, pool_cases, stack_cases
from benchmarks.floor import measure_floor
from benchmarks.overhead import measure_check_overhead
from benchmarks.policy import measure_policy
from benchmarks.runner import measure
from benchmarks.targets import check_verdict, floor_verdict, grid_verdict, policy_verdicts, pool_fits, verdicts


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    runs = report.Runs(args.runs, args.long_runs)
    print(f"Planning each stack, {args.runs} runs ...", file=sys.stderr)
    stacks = measure(stack_cases(), args.runs)
    dev = next(m.case for m in stacks if m.case.stack == "dev")
    print(f"The dev plan beside the bare mock-engine floor, {args.runs} runs ...", file=sys.stderr)
    floor = measure_floor(dev, args.runs)
    print(f"Planning the dev stack with more GPU pools, {args.runs} runs ...", file=sys.stderr)
    pools = measure(pool_cases(), args.runs)
    fits = pool_fits(pools)
    print(f"Planning the dev stack on a grid of GPU pools x teams, {args.long_runs} runs ...", file=sys.stderr)
    grid = measure(grid_cases(), args.long_runs)
    print(f"`rayplat plan` and `rayplat check` of the dev stack, {args.runs} runs ...", file=sys.stderr)
    overhead = measure_check_overhead(dev.stack, args.runs)
    print(f"Checking the policy pack on a plan of about 1,000 resources, {args.long_runs} runs ...", file=sys.stderr)
    policy = measure_policy(args.long_runs)
    results = [
        *verdicts(stacks, fits),
        floor_verdict(floor),
        grid_verdict(grid),
        check_verdict(overhead),
        *policy_verdicts(policy),
    ]
    text = report.render(report.Figures(stacks, floor, pools, fits, grid, overhead, policy), results, runs)
    path = report.write(text)
    print(text)
    for verdict in results:
        print(verdict.line())
    print(f"figures written to {path.relative_to(report.ROOT)}")
    missed = not all(v.passed for v in results)
    return 1 if args.check and missed else 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--runs", type=_positive, default=5, help="runs behind each figure (default 5)")
    parser.add_argument(
        "--long-runs",
        type=_positive,
        default=3,
        help="runs behind the pools x teams grid and the 1,000-resource policy check (default 3)",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
