"""Plan a stack as it is at a git ref, with that ref's own code, in a temporary worktree."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rayplat import PROJECT_ROOT
from rayplat.plan import Plan

# The base ref's CLI runs from its worktree; these options exist in every version of `rayplat plan`.
_PLAN = "from rayplat.cli import app; app()"
PLAN_TIMEOUT_S = 300


class BasePlanError(RuntimeError):
    """The base ref could not be checked out or planned."""


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BasePlanError(f"git {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def plan_at_ref(stack: str, ref: str, repo: Path = PROJECT_ROOT) -> Plan:
    """The plan of ``stack`` at ``ref``. A stack that does not exist there plans as empty (all creates)."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=repo)
    with tempfile.TemporaryDirectory(prefix="rayplat-base-") as tmp:
        worktree = Path(tmp) / "base"
        _git("worktree", "add", "--detach", str(worktree), commit, cwd=repo)
        try:
            if not (worktree / "stacks" / f"Pulumi.{stack}.yaml").is_file():
                return Plan(stack=stack, project="ray-platform")
            return _plan_in(worktree, stack, Path(tmp) / "plan.json")
        finally:
            _git("worktree", "remove", "--force", str(worktree), cwd=repo)


def _plan_in(worktree: Path, stack: str, output: Path) -> Plan:
    # The worktree's packages come first on the path, so the base ref's program and engine run.
    env = {**os.environ, "PYTHONPATH": str(worktree)}
    command = [sys.executable, "-c", _PLAN, "plan", "--stack", stack, "--json", str(output), "--quiet"]
    try:
        result = subprocess.run(command, cwd=worktree, env=env, capture_output=True, text=True, timeout=PLAN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BasePlanError(f"planning the base ref took over {PLAN_TIMEOUT_S} s") from None
    if result.returncode != 0:
        raise BasePlanError(f"the base ref does not plan: {(result.stderr or result.stdout).strip()[-2000:]}")
    return Plan.read(output)
