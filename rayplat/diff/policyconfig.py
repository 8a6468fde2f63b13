"""What a change does to the rules a stack is judged by: the policy pack's rules and the stack's policy config.

A rule listing is what ``rayplat policies --json`` prints (each rule's name, default level and default
parameters), so the base ref's listing comes from the base's own code. Each rule's effective setting is
resolved from a listing and a config the way the policy check resolves it, and the two are compared.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.rules import defaults

# Weakest first: moving left on this scale lowers a rule's enforcement.
LEVEL_ORDER = ("disabled", "advisory", "remediate", "mandatory")


@dataclass(frozen=True)
class RuleConfigChange:
    rule: str
    what: str
    must_review: bool


def rule_listing(policies: Sequence[Any]) -> list[dict[str, Any]]:
    """Each rule's name, default enforcement level and default parameters (the `policies --json` listing)."""
    return [
        {
            "name": p.name,
            "enforcementLevel": p.enforcement_level.value if p.enforcement_level else "advisory",
            "defaults": defaults(p.config_schema),
        }
        for p in policies
    ]


def read_config(path: Path | None) -> dict[str, Any]:
    """A policy config file; none (or a missing file) is an empty config."""
    if path is None or not path.is_file():
        return {}
    document = json.loads(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: a policy config is a JSON object")
    return document


def effective(listing: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each rule's level and parameters under a config: its own entry, else ``all``, else its default level."""
    default_level = config.get("all")
    settings = {}
    for rule in listing:
        entry = config.get(rule["name"], {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        level = entry.pop("enforcementLevel", None) or default_level or rule.get("enforcementLevel") or "advisory"
        settings[rule["name"]] = {"level": level, "parameters": {**rule.get("defaults", {}), **entry}}
    return settings


def compare(
    base_listing: Sequence[Mapping[str, Any]],
    base_config: Mapping[str, Any],
    head_listing: Sequence[Mapping[str, Any]],
    head_config: Mapping[str, Any],
) -> list[RuleConfigChange]:
    """Every difference in the rules and their settings. Removing a rule, lowering or disabling it, adding an
    exemption or changing a parameter must be reviewed; adding a rule, raising a level or dropping an
    exemption is only shown."""
    before, after = effective(base_listing, base_config), effective(head_listing, head_config)
    changes = [RuleConfigChange(r, "rule removed from the policy pack", True) for r in sorted(set(before) - set(after))]
    changes += [
        RuleConfigChange(r, f"rule added ({after[r]['level']})", False) for r in sorted(set(after) - set(before))
    ]
    for rule in sorted(set(before) & set(after)):
        changes += _rule_changes(rule, before[rule], after[rule])
    return changes


def _rank(level: str) -> int:
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else -1


def _rule_changes(rule: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[RuleConfigChange]:
    changes = []
    if old["level"] != new["level"]:
        lowered = _rank(new["level"]) < _rank(old["level"])
        verb = ("disabled" if new["level"] == "disabled" else "lowered") if lowered else "raised"
        changes.append(RuleConfigChange(rule, f"enforcement {verb}: {old['level']} → {new['level']}", lowered))
    old_params, new_params = dict(old["parameters"]), dict(new["parameters"])
    changes += _exemption_changes(rule, old_params.pop("exemptions", None), new_params.pop("exemptions", None))
    for key in sorted(set(old_params) | set(new_params)):
        if old_params.get(key) != new_params.get(key):
            what = f"parameter `{key}`: {_show(old_params.get(key))} → {_show(new_params.get(key))}"
            changes.append(RuleConfigChange(rule, what, True))
    return changes


def _exemption_changes(rule: str, old: Any, new: Any) -> list[RuleConfigChange]:
    before, after = _exemptions(old), _exemptions(new)
    changes = []
    for resource in sorted(set(after) - set(before)):
        changes.append(RuleConfigChange(rule, f"exemption added for `{resource}` ({after[resource]})", True))
    for resource in sorted(set(before) - set(after)):
        changes.append(RuleConfigChange(rule, f"exemption removed for `{resource}`", False))
    for resource in sorted(set(before) & set(after)):
        if before[resource] != after[resource]:
            what = f"exemption for `{resource}` changed: {before[resource]} → {after[resource]}"
            changes.append(RuleConfigChange(rule, what, True))
    return changes


def _exemptions(value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        return {} if value is None else {"(malformed exemptions)": _show(value)}
    out = {}
    for item in value:
        if isinstance(item, Mapping):
            out[str(item.get("resource"))] = str(item.get("reason", ""))
        else:
            out[_show(item)] = ""
    return out


def _show(value: Any) -> str:
    return "(none)" if value is None else json.dumps(value, sort_keys=True)
