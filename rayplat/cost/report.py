"""A plan's bill as rich text, markdown and JSON."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from catalog import prices
from catalog.cost import (
    DEFAULT_OBJECT_STORE_GB,
    DEFAULT_UTILISATION,
    LEVELS,
    Bill,
    Item,
    Total,
    bill,
    headline,
    total_json,
)
from rayplat.plan.engine import Plan


def bill_of(plan: Plan) -> Bill:
    """The plan's bill, with the stored-data assumption the stack's config gives (its `cost` output)."""
    stored = (plan.outputs.get("cost") or {}).get("objectStoreGb", DEFAULT_OBJECT_STORE_GB)
    return bill((Item(r.type, r.urn, r.inputs, r.dependencies) for r in plan.resources), stored)


def money(total: Total | float | None) -> str:
    """``$1,234``; a total with unknown parts is a lower bound: ``≥ $1,234 + unknown``."""
    if total is None:
        return "unknown"
    if isinstance(total, Total):
        return money(total.known) if not total.unknown else f"≥ {money(total.known)} + unknown"
    return f"${total:,.0f}"


def _rows(bill_: Bill, utilisation: float) -> list[list[str]]:
    rows = []
    for line in bill_.lines:
        unit = "unknown" if line.unit_monthly is None else f"${line.unit_monthly:,.2f}"
        counts = f"{line.floor:g}" if line.floor == line.ceiling else f"{line.floor:g}–{line.ceiling:g}"
        rows.append([line.component, line.item, counts, unit, *(money(line.monthly(lv, utilisation)) for lv in LEVELS)])
    return rows


def _team_rows(bill_: Bill) -> list[list[str]]:
    rows = [
        [
            t.team,
            _gpus(t.nominal),
            money(t.nominal_monthly),
            _gpus(t.borrowing),
            money(t.borrowing_monthly),
            _gpus(t.standing_gpus),
            money(t.standing_monthly),
        ]
        for t in bill_.teams
    ]
    if bill_.unallocated_gpus:
        rows.append(["(unallocated)", _gpus(bill_.unallocated_gpus), money(bill_.unallocated_monthly), "", "", "", ""])
    return rows


def _gpus(by_pool: dict[str, int]) -> str:
    return ", ".join(f"{pool} {n}" for pool, n in by_pool.items() if n) or "0"


BILL_COLUMNS = ["component", "item", "units", "per unit / month", "floor", "expected", "ceiling"]
TEAM_COLUMNS = [
    "team",
    "nominal GPUs",
    "nominal / month",
    "borrowing",
    "borrowing / month",
    "standing",
    "standing / month",
]


def totals(bill_: Bill, utilisation: float) -> dict[str, Total]:
    return {level: bill_.total(level, utilisation) for level in LEVELS}


def print_text(plan: Plan, console: Console, utilisation: float = DEFAULT_UTILISATION) -> None:
    bill_ = bill_of(plan)
    console.print(bill_table(plan.stack, bill_, utilisation))
    if bill_.teams:
        table = Table(title="Teams (GPU quota priced on its pools)", title_justify="left")
        for column in TEAM_COLUMNS:
            table.add_column(column)
        for row in _team_rows(bill_):
            table.add_row(*(Text(cell) for cell in row))
        console.print(table)
    for assumption in (*bill_.assumptions, f"utilisation {utilisation:g}"):
        console.print(Text(f"  · {assumption}"))
    for what in _unknowns(bill_, utilisation):
        console.print(Text(f"  ! no price for {what}: reported as unknown, not as zero", style="yellow"))


def bill_table(stack: str, bill_: Bill, utilisation: float = DEFAULT_UTILISATION) -> Table:
    where = f"{bill_.cloud} {bill_.region}".strip()
    table = Table(title=Text(f"Cost of {stack} ({where}), USD per month"), title_justify="left")
    for column in BILL_COLUMNS:
        table.add_column(column, justify="right" if column in LEVELS or column == "units" else "left")
    for row in _rows(bill_, utilisation):
        table.add_row(*(Text(cell) for cell in row))
    table.add_row("total", "", "", "", *(Text(money(t)) for t in totals(bill_, utilisation).values()), style="bold")
    return table


def _unknowns(bill_: Bill, utilisation: float) -> list[str]:
    return list(dict.fromkeys(u for t in totals(bill_, utilisation).values() for u in t.unknown))


def _markdown_table(columns: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    return out + ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]


def to_markdown(plan: Plan, utilisation: float = DEFAULT_UTILISATION) -> str:
    bill_ = bill_of(plan)
    total_row = ["**total**", "", "", "", *(f"**{money(t)}**" for t in totals(bill_, utilisation).values())]
    lines = [f"### Cost of `{plan.stack}` ({bill_.cloud} {bill_.region}), USD per month", ""]
    lines += _markdown_table(BILL_COLUMNS, [*_rows(bill_, utilisation), total_row])
    if bill_.teams:
        lines += ["", "#### Teams", ""] + _markdown_table(TEAM_COLUMNS, _team_rows(bill_))
    lines += ["", "Assumptions:", ""] + [f"- {a}" for a in (*bill_.assumptions, f"utilisation {utilisation:g}")]
    lines += [f"- **no price** for {what}: unknown, not zero" for what in _unknowns(bill_, utilisation)]
    return "\n".join(lines) + "\n"


def to_dict(plan: Plan, utilisation: float = DEFAULT_UTILISATION) -> dict[str, Any]:
    bill_ = bill_of(plan)
    return {
        "stack": plan.stack,
        "cloud": bill_.cloud,
        "region": bill_.region,
        **headline(bill_, utilisation),
        "lines": [
            {
                "component": line.component,
                "item": line.item,
                "pool": line.pool or None,
                "floorUnits": line.floor,
                "ceilingUnits": line.ceiling,
                "unitMonthlyUsd": line.unit_monthly,
                "sources": [_source(key) for key in line.sources],
                **{f"{level}MonthlyUsd": line.monthly(level, utilisation) for level in LEVELS},
            }
            for line in bill_.lines
        ],
        "teams": [
            {
                "team": t.team,
                "nominalGpus": t.nominal,
                "nominalMonthly": total_json(t.nominal_monthly),
                "borrowingGpus": t.borrowing,
                "borrowingMonthly": total_json(t.borrowing_monthly),
                "standingGpus": t.standing_gpus,
                "standingMonthly": total_json(t.standing_monthly),
            }
            for t in bill_.teams
        ],
        "unallocatedGpus": bill_.unallocated_gpus,
        "unallocatedMonthly": total_json(bill_.unallocated_monthly),
        "assumptions": list(bill_.assumptions),
    }


def _source(key: str) -> dict[str, str]:
    source = prices.sources()[key]
    return {"key": key, "reference": source.reference, "date": source.date}


def to_json(plan: Plan, utilisation: float = DEFAULT_UTILISATION) -> str:
    return json.dumps(to_dict(plan, utilisation), indent=2) + "\n"


TABLE_START = "<!-- rayplat cost --all: start -->"
TABLE_END = "<!-- rayplat cost --all: end -->"


def stacks_table(plans: list[Plan], utilisation: float = DEFAULT_UTILISATION) -> str:
    """Floor, expected and ceiling of every stack, as markdown between the markers the README keeps it in."""
    rows = []
    for plan in plans:
        bill_ = bill_of(plan)
        where = f"{bill_.cloud} {bill_.region}".strip()
        figures = [money(t) for t in totals(bill_, utilisation).values()]
        rows.append([f"`{plan.stack}`", where, *figures, f"{bill_.gpus('floor')}–{bill_.gpus('ceiling')}"])
    columns = ["stack", "where", "idle floor", f"expected (utilisation {utilisation:g})", "ceiling", "GPUs"]
    return "\n".join([TABLE_START, *_markdown_table(columns, rows), TABLE_END]) + "\n"
