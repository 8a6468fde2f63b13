"""One measured process: plan the requested cases and print what it took as one JSON line on stdout.

The request comes as JSON on stdin::

    {"cases": [{"stack": "dev", "overrides": {"ray-platform:gpuPools": "[...]"}}],
     "rounds": 1, "warm_up": false}

Each round plans every case once, in order. ``overrides`` replace keys of the stack's flat config map.
With ``warm_up``, one untimed plan of the first case comes first, so that the provider SDK modules the
program imports on its first run are already loaded.
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main() -> None:
    started = time.perf_counter()
    import rayplat.plan.engine  # noqa: F401 (timed: the import a user pays for before any plan)

    import_s = time.perf_counter() - started
    request = json.load(sys.stdin)
    if request["warm_up"]:
        _plan(request["cases"][0])
    results = _rounds(request["cases"], request["rounds"])
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"import_s": import_s, "maxrss_kib": maxrss_kib, "cases": results}))


def _rounds(cases: list[dict], rounds: int) -> list[dict]:
    seconds: list[list[float]] = [[] for _ in cases]
    resources = [0] * len(cases)
    for _ in range(rounds):
        for i, case in enumerate(cases):
            elapsed, resources[i] = _plan(case)
            seconds[i].append(elapsed)
    return [{"seconds": s, "resources": r} for s, r in zip(seconds, resources, strict=True)]


def _plan(case: dict) -> tuple[float, int]:
    from rayplat.plan.engine import PROJECT_ROOT, read_stack_config, run_program

    start = time.perf_counter()
    config = {**read_stack_config(case["stack"]), **case["overrides"]}
    plan = run_program(case["stack"], config, PROJECT_ROOT / "infra" / "__main__.py")
    return time.perf_counter() - start, len(plan.resources)


if __name__ == "__main__":
    main()
