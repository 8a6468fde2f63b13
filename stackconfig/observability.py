"""The monitoring stack."""

from __future__ import annotations

from pydantic import Field

from stackconfig.base import ConfigModel


class ObservabilityConfig(ConfigModel):
    enabled: bool = True
    retention: str = Field(default="15d", pattern=r"^\d+[hdwy]$")
    storage_gib: int = Field(default=50, ge=5, le=16384)
    # Alert runbook links (runbook_url): this absolute URL + <runbook>.md, where your copy of docs/runbooks/ is
    # browsable. Required in prod; unset elsewhere, alerts name their page by its path in the repository only.
    runbook_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/\S*)?/$")
    # Remote write to Amazon Managed Prometheus (AWS only), with its own IRSA role.
    managed_prometheus: bool = False
