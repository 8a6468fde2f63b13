"""The bare mock-engine floor of a plan: what any program pays that imports the same modules as the dev plan
and registers the same number of resources of the same types, without the project's program.

The parent (``measure_floor``) takes the dev plan's inventory (benchmarks.child with ``inventory``: the
modules its process loaded and the type of each resource) and runs this module in fresh processes
(``python -m benchmarks.floor``), interleaved with fresh dev plans, so both share the machine's load.
The child imports the modules in the order the plan imported them, then registers each resource as a plain
``pulumi.CustomResource`` or ``pulumi.ComponentResource`` (no inputs, no parent) on ``pulumi.runtime.set_mocks``
with mocks that echo the inputs, and prints one JSON line. It runs under the same collector settings as
the plan's process (rayplat.heap, as `rayplat` and benchmarks.child run), so that the ratio of the two
measures the program, not the collector.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import dataclass

from benchmarks.runner import Case, ColdRun, inventory, log, run_child

# The child's own modules (and the interpreter's entry module) are no part of the plan's imports.
_NOT_PLAN = ("__main__", "__mp_main__", "benchmarks")


@dataclass(frozen=True)
class FloorRun:
    wall_s: float
    import_s: float
    register_s: float
    resources: int
    failed_imports: int


@dataclass(frozen=True)
class FloorFigures:
    plan: list[ColdRun]
    floor: list[FloorRun]
    modules: int

    @property
    def resources(self) -> int:
        return self.plan[0].resources


def measure_floor(case: Case, runs: int) -> FloorFigures:
    """``runs`` fresh plans of ``case`` and ``runs`` fresh floor processes, interleaved."""
    first, found = inventory(case)
    request = {"modules": plan_modules(found["modules"]), "resources": found["resources"]}
    plan_runs, floor_runs = [first], []
    for round_ in range(1, runs + 1):
        if round_ > 1:
            plan_runs.append(inventory(case)[0])
        floor_runs.append(_floor_run(request))
        log(f"floor {round_}/{runs}: plan {plan_runs[-1].wall_s:.2f} s, floor {floor_runs[-1].wall_s:.2f} s")
    return FloorFigures(plan_runs, floor_runs, len(request["modules"]))


def plan_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if not any(m == n or m.startswith(n + ".") for n in _NOT_PLAN)]


def _floor_run(request: dict) -> FloorRun:
    reply, wall_s = run_child("benchmarks.floor", request)
    return FloorRun(wall_s, reply["import_s"], reply["register_s"], reply["resources"], reply["failed_imports"])


def main() -> None:
    request = json.load(sys.stdin)
    started = time.perf_counter()
    failed = _import_all(request["modules"])
    imported = time.perf_counter()
    resources = _register(request["resources"])
    registered = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": imported - started,
                "register_s": registered - imported,
                "resources": resources,
                "failed_imports": failed,
            }
        )
    )


def _import_all(modules: list[str]) -> int:
    failed = 0
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (a module that cannot be imported on its own is counted, not fatal)
            failed += 1
    return failed


def _register(resources: list[list]) -> int:
    """Register ``resources`` ([type, custom] pairs); return how many registrations the engine received."""
    import pulumi
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    class Echo(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs):
            return f"{args.name}-id", args.inputs

        def call(self, args: pulumi.runtime.MockCallArgs):
            return {}, []

    class Counting(MockMonitor):
        registered = 0

        def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
            if request.type != "pulumi:pulumi:Stack":
                Counting.registered += 1
            return super().RegisterResource(request)

    def register() -> None:
        for i, (type_, custom) in enumerate(resources):
            if custom:
                pulumi.CustomResource(type_, f"r{i}")
            else:
                pulumi.ComponentResource(type_, f"r{i}")

    mocks = Echo()
    pulumi.runtime.set_mocks(mocks, project="ray-platform", stack="dev", preview=False, monitor=Counting(mocks))
    _sync_await(run_pulumi_func(register))
    return Counting.registered


if __name__ == "__main__":
    from rayplat.heap import short_lived_heap

    with short_lived_heap():
        main()
