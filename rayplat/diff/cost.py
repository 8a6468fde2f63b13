"""What a change does to a stack's monthly cost: floor and ceiling before and after, and whether the rise of
the ceiling is large enough (a share or an amount, from the stack-cost-ceiling rule's config) to review."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from catalog.cost import Total
from rayplat.cost.report import bill_of, money
from rayplat.plan.engine import Plan

RULE = "stack-cost-ceiling"
DEFAULT_SHARE = 0.1
DEFAULT_USD = 1000.0


@dataclass
class CostChange:
    floor_before: Total
    floor_after: Total
    ceiling_before: Total
    ceiling_after: Total
    review_share: float = DEFAULT_SHARE
    review_usd: float = DEFAULT_USD

    @property
    def ceiling_rise(self) -> float:
        return self.ceiling_after.known - self.ceiling_before.known

    @property
    def newly_unknown(self) -> tuple[str, ...]:
        return tuple(u for u in self.ceiling_after.unknown if u not in self.ceiling_before.unknown)

    @property
    def must_review(self) -> bool:
        rise = self.ceiling_rise
        share = rise / self.ceiling_before.known if self.ceiling_before.known else (1.0 if rise > 0 else 0.0)
        return bool(self.newly_unknown) or rise > self.review_usd or share > self.review_share

    @property
    def changed(self) -> bool:
        return (self.floor_before, self.ceiling_before) != (self.floor_after, self.ceiling_after)

    def reason(self) -> str:
        if self.newly_unknown:
            return f"no price for {', '.join(self.newly_unknown)}"
        limits = f"more than {self.review_share:.0%} or {money(self.review_usd)}"
        share = f" ({self.ceiling_rise / self.ceiling_before.known:+.0%})" if self.ceiling_before.known else ""
        return f"the monthly ceiling rises by {money(self.ceiling_rise)}{share}, {limits}"


def review_limits(policy_config: Mapping[str, Any]) -> dict[str, float]:
    """The share and amount of a ceiling rise that needs review, from the rule's entry in a policy config."""
    entry = policy_config.get(RULE)
    entry = entry if isinstance(entry, Mapping) else {}
    return {
        "review_share": float(entry.get("reviewIncreaseShare", DEFAULT_SHARE)),
        "review_usd": float(entry.get("reviewIncreaseUsd", DEFAULT_USD)),
    }


def cost_change(base: Plan, head: Plan, policy_config: Mapping[str, Any] | None = None) -> CostChange:
    before, after = bill_of(base), bill_of(head)
    return CostChange(
        before.total("floor"),
        after.total("floor"),
        before.total("ceiling"),
        after.total("ceiling"),
        **review_limits(policy_config or {}),
    )
