"""What is planned: every stack in stacks/, the dev stack with a growing number of GPU pools, and the dev
stack on a grid of GPU pools x teams."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POOLS_KEY = "ray-platform:gpuPools"
# The synthetic pools replace the stack's, so its teams (whose quotas name those pools) go too.
TEAMS_KEY = "ray-platform:teams"
POOL_COUNTS = (1, 5, 10, 20)
# (GPU pools, teams): from the smallest plan to 40 x 30.
GRID_POINTS = ((1, 1), (10, 10), (20, 15), (40, 30))


@dataclass(frozen=True)
class Case:
    label: str
    stack: str
    overrides: dict[str, str] = field(default_factory=dict)


def stack_cases() -> list[Case]:
    files = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
    return [Case(label=stack, stack=stack) for stack in (f.name.split(".")[1] for f in files)]


def pool_cases() -> list[Case]:
    """The dev stack with its GPU pools replaced by ``count`` identical ones, for each of POOL_COUNTS."""
    return [
        Case(
            label=f"dev, GPU pools: {count}",
            stack="dev",
            overrides={POOLS_KEY: json.dumps(gpu_pools(count)), TEAMS_KEY: "[]"},
        )
        for count in POOL_COUNTS
    ]


def gpu_pools(count: int) -> list[dict]:
    return [
        {"name": f"gpu-{i}", "instanceTypes": ["g5.xlarge"], "capacityType": "spot", "minSize": 0, "maxSize": 4}
        for i in range(count)
    ]


def grid_cases(points: tuple[tuple[int, int], ...] = GRID_POINTS) -> list[Case]:
    """The dev stack with ``pools`` synthetic GPU pools and ``teams`` synthetic teams, for each point."""
    return [
        Case(
            label=f"dev, {pools} GPU pools x {teams} teams",
            stack="dev",
            overrides={POOLS_KEY: json.dumps(gpu_pools(pools)), TEAMS_KEY: json.dumps(synthetic_teams(teams, pools))},
        )
        for pools, teams in points
    ]


def synthetic_teams(count: int, pools: int) -> list[dict]:
    """``count`` teams, each with its own group and IAM role and a quota of one GPU on one pool (in turn)."""
    return [
        {
            "name": f"team{i}",
            "owner": f"owner{i}",
            "department": "research",
            "members": {"group": f"ml-team{i}"},
            "aws": {"roleArns": [f"arn:aws:iam::123456789012:role/ml-team{i}"]},
            "gpuQuota": {f"gpu-{i % pools}": {"nominal": 1}},
        }
        for i in range(count)
    ]
