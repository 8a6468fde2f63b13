"""Plan a stack as it is at a git ref, with that ref's own code, in a temporary worktree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rayplat import PROJECT_ROOT
from rayplat.diff.policyconfig import read_config
from rayplat.plan import Plan

# The base ref's CLI runs from its worktree; these options exist in every version of `rayplat plan`.
RUN_CLI = "from rayplat.cli import app; app()"
# A ref older than `rayplat policies --json` lists its rules this way (same fields).
_LISTING = (
    "import json; from policies import ALL_POLICIES; from policies.rules import defaults; "
    "print(json.dumps([{'name': p.name, 'enforcementLevel': p.enforcement_level.value if p.enforcement_level "
    "else 'advisory', 'defaults': defaults(p.config_schema)} for p in ALL_POLICIES]))"
)
PLAN_TIMEOUT_S = 300


class BasePlanError(RuntimeError):
    """The base ref could not be checked out or planned."""


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BasePlanError(f"git {' '.join(args)}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


@dataclass(frozen=True)
class BaseState:
    """A ref's plan of a stack and the rules it is judged by there."""

    plan: Plan
    rules: list[dict[str, Any]]
    policy_config: dict[str, Any]


@contextmanager
def worktree_at(ref: str, repo: Path = PROJECT_ROOT) -> Iterator[Path]:
    """A temporary detached worktree of ``ref``, removed afterwards."""
    commit = _git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=repo)
    with tempfile.TemporaryDirectory(prefix="rayplat-base-") as tmp:
        worktree = Path(tmp) / "base"
        _git("worktree", "add", "--detach", str(worktree), commit, cwd=repo)
        try:
            yield worktree
        finally:
            _git("worktree", "remove", "--force", str(worktree), cwd=repo)


def plan_at_ref(stack: str, ref: str, repo: Path = PROJECT_ROOT) -> Plan:
    """The plan of ``stack`` at ``ref``. A stack that does not exist there plans as empty (all creates)."""
    with worktree_at(ref, repo) as worktree:
        return _plan_or_empty(worktree, stack)


def base_at_ref(stack: str, ref: str, repo: Path = PROJECT_ROOT) -> BaseState:
    """The plan of ``stack`` at ``ref``, the rules of that ref's policy pack and its policy config of ``stack``."""
    with worktree_at(ref, repo) as worktree:
        config_file = worktree / "policies" / "config" / f"{stack}.json"
        try:
            config = read_config(config_file)
        except ValueError as exc:
            raise BasePlanError(f"the base ref's policy config: {exc}") from None
        return BaseState(_plan_or_empty(worktree, stack), _rules_in(worktree), config)


def _plan_or_empty(worktree: Path, stack: str) -> Plan:
    if not (worktree / "stacks" / f"Pulumi.{stack}.yaml").is_file():
        return Plan(stack=stack, project="ray-platform")
    return _plan_in(worktree, stack, worktree.parent / "plan.json")


def run_in(worktree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python *args`` with the worktree's own packages first on the path, so the ref's code runs."""
    env = {**os.environ, "PYTHONPATH": str(worktree)}
    try:
        return subprocess.run(
            [sys.executable, *args], cwd=worktree, env=env, capture_output=True, text=True, timeout=PLAN_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        raise BasePlanError(f"the base ref's `{' '.join(args[2:4])}` took over {PLAN_TIMEOUT_S} s") from None


def _rules_in(worktree: Path) -> list[dict[str, Any]]:
    result = run_in(worktree, "-c", RUN_CLI, "policies", "--json")
    if result.returncode != 0:
        result = run_in(worktree, "-c", _LISTING)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BasePlanError(f"the base ref's rules cannot be listed: {detail}")
    return json.loads(result.stdout)


def _plan_in(worktree: Path, stack: str, output: Path) -> Plan:
    result = run_in(worktree, "-c", RUN_CLI, "plan", "--stack", stack, "--json", str(output), "--quiet")
    if result.returncode != 0:
        raise BasePlanError(f"the base ref does not plan: {(result.stderr or result.stdout).strip()[-2000:]}")
    return Plan.read(output)
