"""Measure the offline plan (fresh processes and warm runs) and the policy check, and rewrite
docs/benchmarks.md: `make bench`."""

from __future__ import annotations

import argparse
import sys

from benchmarks import report
from benchmarks.cases import pool_cases, stack_cases
from benchmarks.policy import measure_policy
from benchmarks.runner import measure
from benchmarks.targets import policy_verdict, pool_fits, verdicts


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    print(f"Planning each stack, {args.runs} runs ...", file=sys.stderr)
    stacks = measure(stack_cases(), args.runs)
    print(f"Planning the dev stack with more GPU pools, {args.runs} runs ...", file=sys.stderr)
    pools = measure(pool_cases(), args.runs)
    fits = pool_fits(pools)
    print(f"Checking the policy pack on a plan of about 1,000 resources, {args.runs} runs ...", file=sys.stderr)
    policy = measure_policy(args.runs)
    results = [*verdicts(stacks, fits), policy_verdict(policy)]
    text = report.render(stacks, pools, fits, results, args.runs, policy)
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
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
