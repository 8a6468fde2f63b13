"""A plan diff as a pull-request comment (markdown, under GitHub's 64 KB) and as JSON."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict
from typing import Any

from rayplat.cost.report import money
from rayplat.diff.engine import PlanDiff, ResourceChange

COMMENT_LIMIT = 65536
# Room kept for joining the sections and for truncation notes.
_RESERVE = 1000
_VALUE_WIDTH = 100
ACTIONS = ("create", "update", "replace", "delete")


def marker(stack: str) -> str:
    """The hidden line by which the workflow finds this stack's comment again to update it."""
    return f"<!-- rayplat-diff:{stack} -->"


def summary_line(diff: PlanDiff) -> str:
    counts = Counter(c.action for c in diff.changes)
    if diff.empty:
        changes = "no changes"
    else:
        changes = ", ".join(f"{counts[a]} to {a}" for a in ACTIONS if counts[a]) or (
            "policy rules changed" if diff.rule_changes else "outputs only"
        )
    before, after = diff.gpu_total
    gpus = f"max GPUs {before} → {after} ({after - before:+d})" if before != after else f"max GPUs {after}"
    gpus += _cost_summary(diff)
    flags = len(_flags(diff))
    attention = f" · **{flags} to review**" if flags else ""
    blocked = f" · **{len(diff.blocked)} blocked**" if diff.blocked else ""
    return f"### `{diff.stack}`: {changes} · {gpus}{attention}{blocked}"


def _cost_summary(diff: PlanDiff) -> str:
    if diff.cost is None:
        return ""
    c = diff.cost
    if not c.changed:
        return f" · ceiling {money(c.ceiling_after)}/month"
    floor = f"floor {money(c.floor_before)} → {money(c.floor_after)}"
    return f" · {floor} · ceiling {money(c.ceiling_before)} → {money(c.ceiling_after)}/month"


SAFE_WAYS = (
    "an alias (`ResourceOptions(aliases=[...])`) if only its logical name or parent changed; "
    "`pulumi import` to adopt a resource that already exists; or a deliberate unprotect in its own "
    "reviewed change, merged and applied before this one"
)


def _flags(diff: PlanDiff) -> list[str]:
    flags = [f"**Policy rule change**: `{c.rule}` {c.what}" for c in diff.rules_to_review]
    flags += [
        f"**Blocked**: `{c.type}` `{c.name}` would be {'replaced' if c.action == 'replace' else 'deleted'}"
        f"{_because(c)}, but it is protected, so `pulumi up` refuses the whole update. "
        f"To proceed safely: {SAFE_WAYS}"
        for c in diff.blocked
    ]
    flags += [
        f"**GPU pool moves to a {after}**: `{pool}` was a {before}; the new nodes come up beside the old, which "
        "are deleted with the pods on them: drain first (docs/runbooks/karpenter-migration.md)"
        for pool, before, after in diff.provisioners
    ]
    for change in diff.stateful_losses:
        if not change.blocked:
            flags.append(
                f"**Stateful {change.action}**: `{change.type}` `{change.name}`{_because(change)}: {_fate(change)}"
            )
    stateful = {c.urn for c in diff.stateful_losses}
    for change in diff.of_action("replace"):
        if change.urn not in stateful and not change.blocked:
            flags.append(f"**Replacement**: `{change.type}` `{change.name}`{_because(change)}")
    for pool in sorted(set(diff.gpus_before) | set(diff.gpus_after)):
        before, after = diff.gpus_before.get(pool, 0), diff.gpus_after.get(pool, 0)
        if before != after:
            flags.append(f"**GPU capacity**: pool `{pool}` max GPUs {before} → {after}")
    if diff.cost is not None and diff.cost.must_review:
        flags.append(f"**Cost ceiling**: {diff.cost.reason()}")
    for document in diff.widened_iam:
        added = "; ".join(str(g).removeprefix("Allow ") for g in document.added if g.effect == "Allow")
        flags.append(f"**IAM widened**: `{document.name}` now allows {added}")
    for violation in diff.new_violations:
        flags.append(
            f"**New policy violation** ({violation.level}): `{violation.policy}` on `{violation.resource}`: "
            f"{violation.message}"
        )
    return flags


def _because(change: ResourceChange) -> str:
    if not change.replace_reasons:
        return ""
    return f", because `{'`, `'.join(change.replace_reasons)}` changed"


def _fate(change: ResourceChange) -> str:
    """What `pulumi up` does to the old resource of an unprotected deletion or replacement."""
    if change.retained:
        left = "left behind in the cloud, unmanaged (retainOnDelete), not destroyed"
        return f"a new one is created and the old one is {left}" if change.action == "replace" else left
    if change.action == "replace":
        return "a new one is created and **the old one is destroyed with its data**"
    return "**destroyed with its data**"


def to_markdown(diff: PlanDiff, limit: int = COMMENT_LIMIT) -> str:
    """The PR comment. Sections get the room left in priority order (flags first, field changes last),
    and a section that does not fit whole says what it left out."""
    warnings = [f"> [!WARNING]\n> {w}" for w in diff.warnings]
    head = "\n\n".join([marker(diff.stack), summary_line(diff), *warnings, *_caution(_flags(diff), limit // 4)])
    remaining = limit - len(head) - _RESERVE
    rendered = {}
    for name in _PRIORITY:
        rendered[name] = _SECTIONS[name](diff, remaining)
        remaining -= len(rendered[name]) + 2
    return "\n\n".join([head, *(rendered[n] for n in _DISPLAY if rendered[n])]) + "\n"


def _caution(flags: list[str], budget: int) -> list[str]:
    if not flags:
        return []
    lines = ["> [!CAUTION]", "> Review before merging:"]
    for shown, flag in enumerate(flags):
        if sum(len(line) + 1 for line in lines) + len(flag) > budget:
            lines.append(f"> - … and {len(flags) - shown} more (see the sections below)")
            break
        lines.append(f"> - {flag}")
    return ["\n".join(lines)]


def _details(summary: str, body: str) -> str:
    return f"<details><summary>{summary}</summary>\n\n{body}\n\n</details>"


def _table(headers: list[str], rows: list[list[str]], budget: int) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    size = sum(len(line) + 1 for line in lines) + 100
    for shown, row in enumerate(rows):
        line = "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
        if size + len(line) > budget:
            lines.append(
                f"| … {len(rows) - shown} more rows left out (see the JSON report) |" + " |" * (len(headers) - 1)
            )
            break
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)


def _resources_section(diff: PlanDiff, budget: int) -> str:
    if not diff.changes:
        return ""
    order = {a: i for i, a in enumerate(("delete", "replace", "create", "update"))}
    rows = [
        [c.action, f"`{c.type}`", f"`{c.name}`", c.component, _note(c)]
        for c in sorted(diff.changes, key=lambda c: (order[c.action], c.type, c.name))
    ]
    return _details(
        f"Resources ({len(diff.changes)} changed)",
        _table(["action", "type", "name", "component", "note"], rows, budget),
    )


def _note(change: ResourceChange) -> str:
    if change.blocked:
        return "blocked: protected"
    if change.action == "replace":
        kept = " (old one retained)" if change.retained else ""
        return "replaced: " + ", ".join(change.replace_reasons) + kept
    if change.action == "delete" and change.retained:
        return "retained in the account"
    if change.action == "update":
        return f"{len(change.fields)} field{'s' if len(change.fields) != 1 else ''}"
    return ""


def _value(value: Any) -> str:
    text = "(none)" if value is None else (value if isinstance(value, str) else json.dumps(value, sort_keys=True))
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


def _field_lines(change: ResourceChange) -> str:
    """A create shows its values, a delete what it had, an update or replacement each field before and after."""
    lines = [f"# {change.type} {change.name} ({change.action})"]
    for f in change.fields:
        if change.action != "create":
            lines.append(f"- {f.path}: {_value(f.old)}")
        if change.action != "delete":
            lines.append(f"+ {f.path}: {_value(f.new)}")
    return "\n".join(lines)


def _fields_section(diff: PlanDiff, budget: int) -> str:
    blocks, omitted = [], 0
    budget -= 300
    for change in (c for c in diff.changes if c.fields):
        block = f"```diff\n{_field_lines(change)}\n```"
        if budget - len(block) < 0:
            omitted += 1
            continue
        blocks.append(block)
        budget -= len(block) + 2
    if omitted:
        blocks.append(
            f"_{omitted} more changed resources are left out to stay under GitHub's comment limit; "
            "the JSON report (`rayplat diff --format json`) has every field._"
        )
    return _details("Field changes", "\n\n".join(blocks)) if blocks else ""


def _gpu_section(diff: PlanDiff, budget: int) -> str:
    pools = sorted(set(diff.gpus_before) | set(diff.gpus_after))
    if not pools:
        return ""
    before, after = diff.gpu_total
    rows = [["**total**", str(before), str(after), f"{after - before:+d}"]]
    rows += [
        [
            f"`{p}`",
            str(diff.gpus_before.get(p, 0)),
            str(diff.gpus_after.get(p, 0)),
            f"{diff.gpus_after.get(p, 0) - diff.gpus_before.get(p, 0):+d}",
        ]
        for p in pools
    ]
    return _details(
        f"GPU capacity: max {before} → {after}", _table(["pool", "before", "after", "change"], rows, budget)
    )


def _iam_section(diff: PlanDiff, budget: int) -> str:
    if not diff.iam:
        return ""
    rows = [[f"`{c.name}`", "added", str(g)] for c in diff.iam for g in c.added]
    rows += [[f"`{c.name}`", "removed", str(g)] for c in diff.iam for g in c.removed]
    noun = "document" if len(diff.iam) == 1 else "documents"
    return _details(f"IAM: {len(diff.iam)} {noun} changed", _table(["document", "", "grant"], rows, budget))


def _policy_section(diff: PlanDiff, budget: int) -> str:
    if not diff.new_violations and not diff.fixed_violations:
        return ""
    rows = [["new", v.level, f"`{v.policy}`", f"`{v.resource}`", v.message] for v in diff.new_violations]
    rows += [["fixed", v.level, f"`{v.policy}`", f"`{v.resource}`", v.message] for v in diff.fixed_violations]
    title = f"Policy check: {len(diff.new_violations)} new, {len(diff.fixed_violations)} fixed"
    return _details(title, _table(["", "level", "policy", "resource", "message"], rows, budget))


def _rules_section(diff: PlanDiff, budget: int) -> str:
    if not diff.rule_changes:
        return ""
    rows = [[f"`{c.rule}`", c.what, "**must review**" if c.must_review else ""] for c in diff.rule_changes]
    title = f"Policy rules and config: {len(diff.rule_changes)} changed, {len(diff.rules_to_review)} to review"
    return _details(title, _table(["rule", "change", ""], rows, budget))


def _outputs_section(diff: PlanDiff, budget: int) -> str:
    if not diff.outputs:
        return ""
    rows = [[f"`{o.path}`", _value(o.old), _value(o.new)] for o in diff.outputs]
    return _details(f"Stack outputs ({len(diff.outputs)} changed)", _table(["output", "before", "after"], rows, budget))


def _graph_section(diff: PlanDiff, budget: int) -> str:
    """Changed components and what changed in each, as a mermaid graph (left out when it does not fit)."""
    by_component: dict[str, Counter] = {}
    for change in diff.changes:
        by_component.setdefault(change.component, Counter())[change.action] += 1
    if not by_component:
        return ""
    lines = ["```mermaid", "flowchart LR", f'  stack(["{diff.stack}"])']
    for i, (component, counts) in enumerate(sorted(by_component.items())):
        label = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
        lines.append(f'  stack --> c{i}["{component}<br/>{label}"]')
    lines.append("```")
    section = _details("Changed components", "\n".join(lines))
    return section if len(section) < budget else ""


def _cost_section(diff: PlanDiff, budget: int) -> str:
    if diff.cost is None or not diff.cost.changed:
        return ""
    c = diff.cost
    rows = [
        ["idle floor", money(c.floor_before), money(c.floor_after), _delta(c.floor_before, c.floor_after)],
        ["ceiling", money(c.ceiling_before), money(c.ceiling_after), _delta(c.ceiling_before, c.ceiling_after)],
    ]
    table = _table(["USD per month", "before", "after", "change"], rows, budget)
    return _details("Cost (`rayplat cost --stack " + diff.stack + "` for the whole bill)", table)


def _delta(before, after) -> str:
    rise = after.known - before.known
    return (
        ("+" if rise >= 0 else "-") + money(abs(rise)) + (" (unknown parts)" if before.unknown or after.unknown else "")
    )


_SECTIONS = {
    "cost": _cost_section,
    "resources": _resources_section,
    "policy": _policy_section,
    "rules": _rules_section,
    "iam": _iam_section,
    "gpu": _gpu_section,
    "outputs": _outputs_section,
    "graph": _graph_section,
    "fields": _fields_section,
}
_PRIORITY = ("rules", "resources", "policy", "iam", "gpu", "cost", "outputs", "graph", "fields")
_DISPLAY = ("rules", "resources", "fields", "gpu", "cost", "iam", "policy", "outputs", "graph")


def to_json(diff: PlanDiff) -> str:
    counts = Counter(c.action for c in diff.changes)
    before, after = diff.gpu_total
    document = {
        "stack": diff.stack,
        "summary": {
            **{a: counts[a] for a in ACTIONS},
            "gpusBefore": before,
            "gpusAfter": after,
            "statefulLosses": len(diff.stateful_losses),
            "blocked": len(diff.blocked),
            "iamWidened": len(diff.widened_iam),
            "newViolations": len(diff.new_violations),
            "policyRuleChanges": len(diff.rule_changes),
            "policyRulesToReview": len(diff.rules_to_review),
            "costToReview": bool(diff.cost and diff.cost.must_review),
        },
        **_camel(asdict(diff)),
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def _camel(value: Any) -> Any:
    """The JSON report's keys in camelCase throughout, as its summary and the plan JSON have them."""
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)
