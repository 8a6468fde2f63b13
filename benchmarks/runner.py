"""Run the cases in child processes (benchmarks.child): one fresh process per cold run, one for warm runs."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from benchmarks.cases import ROOT, Case


@dataclass(frozen=True)
class ColdRun:
    """One plan in a fresh interpreter, as a user runs it: start-up, imports, the plan, and exit."""

    wall_s: float
    import_s: float
    plan_s: float
    maxrss_mib: float
    resources: int

    @property
    def other_s(self) -> float:
        """Interpreter start-up and exit (module teardown, garbage collection)."""
        return self.wall_s - self.import_s - self.plan_s


@dataclass(frozen=True)
class Measured:
    case: Case
    cold: list[ColdRun]
    warm_s: list[float]

    @property
    def resources(self) -> int:
        return self.cold[0].resources

    @property
    def warm_median(self) -> float:
        return statistics.median(self.warm_s)

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.cold)


def measure(cases: list[Case], runs: int) -> list[Measured]:
    """``runs`` cold runs of each case (interleaved), then ``runs`` warm plans of each in one process."""
    cold: list[list[ColdRun]] = [[] for _ in cases]
    for round_ in range(1, runs + 1):
        for case, runs_so_far in zip(cases, cold, strict=True):
            run = _cold_run(case)
            runs_so_far.append(run)
            log(f"{case.label}: fresh process {round_}/{runs}: {run.wall_s:.2f} s")
    warm = _warm_seconds(cases, runs)
    for case, seconds in zip(cases, warm, strict=True):
        log(f"{case.label}: warm plan, median of {runs}: {statistics.median(seconds):.2f} s")
    return [Measured(*measured) for measured in zip(cases, cold, warm, strict=True)]


def _cold_run(case: Case) -> ColdRun:
    reply, wall_s = _spawn([case], rounds=1, warm_up=False)
    return _cold(reply, wall_s)


def _cold(reply: dict, wall_s: float) -> ColdRun:
    result = reply["cases"][0]
    return ColdRun(
        wall_s=wall_s,
        import_s=reply["import_s"],
        plan_s=result["seconds"][0],
        maxrss_mib=reply["maxrss_kib"] / 1024,
        resources=result["resources"],
    )


def _warm_seconds(cases: list[Case], rounds: int) -> list[list[float]]:
    reply, _ = _spawn(cases, rounds=rounds, warm_up=True)
    return [result["seconds"] for result in reply["cases"]]


def inventory(case: Case) -> tuple[ColdRun, dict]:
    """One cold run of ``case`` and what its process imported and registered (benchmarks.child)."""
    reply, wall_s = _spawn([case], rounds=1, warm_up=False, inventory=True)
    return _cold(reply, wall_s), reply["inventory"]


def _spawn(cases: list[Case], rounds: int, warm_up: bool, inventory: bool = False) -> tuple[dict, float]:
    request = {
        "cases": [{"stack": c.stack, "overrides": c.overrides} for c in cases],
        "rounds": rounds,
        "warm_up": warm_up,
        "inventory": inventory,
    }
    return run_child("benchmarks.child", request)


def run_child(module: str, request: dict) -> tuple[dict, float]:
    """Run ``python -m module`` with ``request`` as JSON on stdin: its last stdout line (JSON), and its wall time."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", module],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child {module} exited with {done.returncode}:\n{done.stderr}")
    return json.loads(done.stdout.splitlines()[-1]), wall_s


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)
