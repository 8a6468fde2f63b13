"""What `rayplat check` adds to the plan it checks: `rayplat plan --stack S` and `rayplat check --stack S`,
each in fresh processes through the console entry point (rayplat.cli.run), interleaved."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from benchmarks.cases import ROOT
from benchmarks.runner import log

RUN_ENTRY_POINT = "from rayplat.cli import run; run()"


@dataclass(frozen=True)
class CheckOverhead:
    stack: str
    plan_s: list[float]
    check_s: list[float]

    @property
    def overhead_s(self) -> float:
        return statistics.median(self.check_s) - statistics.median(self.plan_s)


def measure_check_overhead(stack: str, runs: int) -> CheckOverhead:
    plan_s, check_s = [], []
    for round_ in range(1, runs + 1):
        plan_s.append(_command_wall("plan", stack))
        check_s.append(_command_wall("check", stack))
        log(f"rayplat plan / check --stack {stack} {round_}/{runs}: {plan_s[-1]:.2f} s / {check_s[-1]:.2f} s")
    return CheckOverhead(stack, plan_s, check_s)


def _command_wall(command: str, stack: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUN_ENTRY_POINT, command, "--stack", stack],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"rayplat {command} --stack {stack} exited with {done.returncode}:\n{done.stderr}")
    return wall_s
