"""What is planned: every stack in stacks/, and the dev stack with a growing number of GPU pools."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POOLS_KEY = "ray-platform:gpuPools"
# The synthetic pools replace the stack's, so its teams (whose quotas name those pools) go too.
TEAMS_KEY = "ray-platform:teams"
POOL_COUNTS = (1, 5, 10, 20)


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
