"""One measured process: plan the requested cases and print what it took as one JSON line on stdout.

The request comes as JSON on stdin::

    {"cases": [{"stack": "dev", "overrides": {"ray-platform:gpuPools": "[...]"}}],
     "rounds": 1, "warm_up": false, "inventory": false}

Each round plans every case once, in order. ``overrides`` replace keys of the stack's flat config map.
With ``warm_up``, one untimed plan of the first case comes first, so that the provider SDK modules the
program imports on its first run are already loaded. With ``inventory``, the reply also lists the modules
the process had loaded at the end and the type of each resource of the last plan (custom or component),
for the bare mock-engine floor (benchmarks.floor).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from rayplat.heap import short_lived_heap


def main() -> None:
    started = time.perf_counter()
    import rayplat.plan.engine  # noqa: F401 (timed: the import a user pays for before any plan)

    import_s = time.perf_counter() - started
    request = json.load(sys.stdin)
    if request["warm_up"]:
        _plan(request["cases"][0])
    results, last = _rounds(request["cases"], request["rounds"])
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    reply = {"import_s": import_s, "maxrss_kib": maxrss_kib, "cases": results}
    if request.get("inventory"):
        reply["inventory"] = {"modules": _loaded_modules(), "resources": [[r.type, r.custom] for r in last]}
    print(json.dumps(reply))


def _loaded_modules() -> list[str]:
    """The modules imported so far, in order; not those registered for a lazy import (the provider SDKs'
    subpackages, importlib.util.LazyLoader) that nothing used: importing one by name would load it."""
    return [name for name, module in sys.modules.items() if type(module).__name__ != "_LazyModule"]


def _rounds(cases: list[dict], rounds: int) -> tuple[list[dict], list]:
    seconds: list[list[float]] = [[] for _ in cases]
    resources = [0] * len(cases)
    last: list = []
    for _ in range(rounds):
        for i, case in enumerate(cases):
            elapsed, last = _plan(case)
            resources[i] = len(last)
            seconds[i].append(elapsed)
    return [{"seconds": s, "resources": r} for s, r in zip(seconds, resources, strict=True)], last


def _plan(case: dict) -> tuple[float, list]:
    from rayplat.plan.engine import PROJECT_ROOT, read_stack_config, run_program

    start = time.perf_counter()
    config = {**read_stack_config(case["stack"]), **case["overrides"]}
    plan = run_program(case["stack"], config, PROJECT_ROOT / "infra" / "__main__.py")
    return time.perf_counter() - start, plan.resources


if __name__ == "__main__":
    # As the `rayplat` entry point runs a command (rayplat.cli.run).
    with short_lived_heap():
        main()
