"""What the stack's cost figures assume, and the budgets that watch the real bill."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from stackconfig.base import ConfigModel

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class BudgetConfig(ConfigModel):
    enabled: bool = True
    # The monthly budget in USD; by default the modelled ceiling (every pool at its maximum).
    monthly_usd: float | None = Field(default=None, gt=0)
    actual_threshold_percent: float = Field(default=80, gt=0, le=1000)
    forecast_threshold_percent: float = Field(default=100, gt=0, le=1000)
    # Who hears of it: these addresses, besides the stack's SNS topic (AWS).
    emails: list[Annotated[str, StringConstraints(pattern=EMAIL)]] = []
    # AWS Cost Anomaly Detection: notify of an anomaly whose total impact reaches this many USD.
    anomaly_threshold_usd: float = Field(default=100, gt=0)
    # AWS: activate the platform's cost tags as cost allocation tags (an account-wide setting).
    activate_cost_allocation_tags: bool = True
    # GCP: the billing account (XXXXXX-XXXXXX-XXXXXX) a budget is created on; none, no budget.
    billing_account: str | None = Field(default=None, pattern=r"^[0-9A-F]{6}-[0-9A-F]{6}-[0-9A-F]{6}$")


class CostsConfig(ConfigModel):
    # The share of each pool's range in use that the "expected" figure assumes.
    utilisation: float = Field(default=0.3, ge=0, le=1)
    # Stored objects are not in the plan: the artifact bucket is priced at this many GB.
    object_store_gb: float = Field(default=500, ge=0)
    budget: BudgetConfig = BudgetConfig()
