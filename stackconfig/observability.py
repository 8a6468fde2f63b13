"""The monitoring stack."""

from __future__ import annotations

from pydantic import Field

from stackconfig.base import ConfigModel


class ObservabilityConfig(ConfigModel):
    enabled: bool = True
    retention: str = Field(default="15d", pattern=r"^\d+[hdwy]$")
    storage_gib: int = Field(default=50, ge=5, le=16384)
    # Alert runbook links: this prefix + <runbook>.md. Point it at your copy of docs/runbooks/.
    runbook_base_url: str = "docs/runbooks/"
    # Remote write to Amazon Managed Prometheus (AWS only), with its own IRSA role.
    managed_prometheus: bool = False
