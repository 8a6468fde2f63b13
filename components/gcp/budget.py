"""A Cloud Billing budget for the stack: its cost label, actual and forecast thresholds, email channels."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.options import child_options


@dataclass(frozen=True)
class GcpBudgetArgs:
    name: str
    billing_account: str
    monthly_usd: float
    actual_threshold_percent: float
    forecast_threshold_percent: float
    emails: list[str]
    # A budget filters on one label: the one that tells the stack's costs apart (env).
    label: tuple[str, str]


class GcpBudget(pulumi.ComponentResource):
    budget: gcp.billing.Budget

    def __init__(
        self, name: str, args: GcpBudgetArgs, *, provider: gcp.Provider, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("rayplat:gcp:Budget", name, None, opts)
        child = child_options(self, provider, opts)
        channels = [
            gcp.monitoring.NotificationChannel(
                f"{name}-budget-{address}",
                display_name=f"{args.name} budget: {address}",
                type="email",
                labels={"email_address": address},
                opts=child,
            )
            for address in args.emails
        ]
        self.budget = gcp.billing.Budget(
            f"{name}-monthly",
            billing_account=args.billing_account,
            display_name=f"{args.name} monthly",
            budget_filter=gcp.billing.BudgetBudgetFilterArgs(
                labels={args.label[0]: args.label[1]}, calendar_period="MONTH"
            ),
            amount=gcp.billing.BudgetAmountArgs(
                specified_amount=gcp.billing.BudgetAmountSpecifiedAmountArgs(
                    currency_code="USD", units=str(round(args.monthly_usd))
                )
            ),
            threshold_rules=[
                gcp.billing.BudgetThresholdRuleArgs(threshold_percent=args.actual_threshold_percent / 100),
                gcp.billing.BudgetThresholdRuleArgs(
                    threshold_percent=args.forecast_threshold_percent / 100, spend_basis="FORECASTED_SPEND"
                ),
            ],
            all_updates_rule=gcp.billing.BudgetAllUpdatesRuleArgs(
                monitoring_notification_channels=[c.id for c in channels]
            )
            if channels
            else None,
            opts=child,
        )
        self.register_outputs({"budget": self.budget.name})
