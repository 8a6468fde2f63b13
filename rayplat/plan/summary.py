"""A readable summary of a plan: resources by component and type, the GPU pools, and what the stack costs."""

from __future__ import annotations

from collections import Counter

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from rayplat.plan.engine import Plan


def _component(urn_parent: str, by_urn: dict) -> str:
    """The nearest rayplat component above a resource ('-' for the stack itself)."""
    while urn_parent:
        parent = by_urn.get(urn_parent)
        if parent is None:
            return "-"
        if parent.type.startswith("rayplat:"):
            return f"{parent.type.rsplit(':', 1)[-1]} {parent.name}"
        urn_parent = parent.parent
    return "-"


def short_type(token: str) -> str:
    """``aws:s3/bucketPolicy:BucketPolicy`` -> ``aws:s3:BucketPolicy``."""
    package, module, name = token.split(":")
    return f"{package}:{module.split('/')[0]}:{name}"


def resources_table(plan: Plan) -> Table:
    by_urn = plan.by_urn()
    counts = Counter(
        (_component(r.parent, by_urn), short_type(r.type)) for r in plan.resources if not r.type.startswith("rayplat:")
    )
    table = Table(title=Text(f"Stack {plan.stack}: {len(plan.resources)} resources"), title_justify="left")
    table.add_column("component")
    table.add_column("type")
    table.add_column("count", justify="right")
    for (component, type_), count in sorted(counts.items()):
        table.add_row(Text(component), Text(type_), str(count))
    return table


def gpu_pools_table(plan: Plan) -> Table:
    table = Table(title="GPU pools", title_justify="left")
    for column in ("pool", "instance types", "GPU", "per node", "min", "max", "max GPUs"):
        table.add_column(column, justify="right" if column in ("per node", "min", "max", "max GPUs") else "left")
    pools = plan.outputs.get("gpuPools") or {}
    for name, pool in pools.items():
        table.add_row(
            Text(name),
            Text(", ".join(pool["instanceTypes"])),
            Text(pool["gpuModel"]),
            str(pool["gpusPerNode"]),
            str(pool["minSize"]),
            str(pool["maxSize"]),
            str(pool["maxGpus"]),
        )
    table.caption = f"total max GPUs: {sum(p['maxGpus'] for p in pools.values())}"
    return table


def print_summary(plan: Plan, console: Console) -> None:
    from rayplat.cost.report import bill_of, bill_table

    pools: Table | Text = gpu_pools_table(plan) if plan.outputs.get("gpuPools") else Text("GPU pools: none")
    console.print(Group(resources_table(plan), pools, bill_table(plan.stack, bill_of(plan))))
