"""Shared fixtures: the offline plan of every shipped stack, computed once per session."""

from __future__ import annotations

import copy
import gc
import json
import os
from pathlib import Path

import pytest

import rayplat.plan
from rayplat import PROJECT_ROOT
from rayplat.heap import THRESHOLDS
from rayplat.plan import Plan, engine, plan_stack
from rayplat.plan.engine import read_stack_config
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys

STACKS = sorted(
    p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PROJECT_ROOT / "stacks").glob("Pulumi.*.yaml")
)
PROGRAM = PROJECT_ROOT / "infra" / "__main__.py"

_plans: dict[str, Plan] = {}


def planned(stack: str) -> Plan:
    if stack not in _plans:
        _plans[stack] = plan_stack(stack)
    return _plans[stack]


def _cloud(stack: str) -> str:
    return read_stack_config(stack)["ray-platform:cloud"]


AWS_STACKS = [s for s in STACKS if _cloud(s) == "aws"]
GCP_STACKS = [s for s in STACKS if _cloud(s) == "gcp"]
EXISTING_STACKS = [s for s in STACKS if _cloud(s) == "existing"]


_evaluated: dict[tuple[str, str, str], Plan] = {}
_run_program = engine.run_program


def _run_program_once(stack: str, config: dict[str, str], program: Path) -> Plan:
    """A program is evaluated once per stack and config in the session (plans are deterministic, a test
    proves it): many tests, and the CLI commands they invoke, plan the same stack. Each caller gets its own
    copy to change; a config the program refuses raises every time."""
    key = (stack, str(program), json.dumps(config, sort_keys=True))
    if key not in _evaluated:
        _evaluated[key] = _run_program(stack, config, program)
    return copy.deepcopy(_evaluated[key])


def pytest_configure(config: pytest.Config) -> None:
    # The session keeps every stack's plan (and the SDK modules) alive: collect as the CLI does.
    gc.set_threshold(*THRESHOLDS)
    engine.run_program = rayplat.plan.run_program = _run_program_once


@pytest.fixture(params=AWS_STACKS)
def plan(request) -> Plan:
    """The plan of each AWS stack."""
    return planned(request.param)


@pytest.fixture(params=GCP_STACKS)
def gcp_plan(request) -> Plan:
    return planned(request.param)


@pytest.fixture(params=STACKS)
def any_plan(request) -> Plan:
    """The plan of every stack, whatever its cloud."""
    return planned(request.param)


@pytest.fixture
def dev_config() -> dict[str, str]:
    """The dev stack's flat config map, to derive variants from."""
    return read_stack_config("dev")


def set_key(config: dict[str, str], key: str, value) -> dict[str, str]:
    """A copy of a flat config map with one ``ray-platform:`` key replaced (objects JSON-encoded)."""
    return {**config, f"ray-platform:{key}": value if isinstance(value, str) else json.dumps(value)}


def get_key(config: dict[str, str], key: str):
    return json.loads(config[f"ray-platform:{key}"])


def config_problems(config: dict[str, str]) -> list[str]:
    """The problems that refuse a flat config map (the test fails where the config is accepted)."""
    with pytest.raises(ConfigError) as raised:
        parse_config(project_keys(config))
    return raised.value.problems


@pytest.fixture(scope="session")
def upstream_dir() -> Path:
    """The upstream schemas and chart values beside the project (or RAYPLAT_UPSTREAM_DIR)."""
    path = Path(os.environ.get("RAYPLAT_UPSTREAM_DIR", PROJECT_ROOT.parent / "shared" / "upstream"))
    if not path.is_dir():
        pytest.skip(f"upstream data not found at {path}: set RAYPLAT_UPSTREAM_DIR to ../shared/upstream")
    return path


def resource(plan: Plan, type_: str, name: str | None = None):
    matches = [r for r in plan.of_type(type_) if name is None or r.name == name]
    assert len(matches) == 1, f"expected one {type_} {name or ''}, found {[r.name for r in matches]}"
    return matches[0]


def config_tags(stack: str) -> dict[str, str]:
    return json.loads(read_stack_config(stack)["ray-platform:tags"])
