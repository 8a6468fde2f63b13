"""The price catalogue: published on-demand prices of what the platform provisions, each with its source.

The data lives in ``prices.json`` beside this module (``rayplat prices refresh`` rewrites it from the clouds'
price APIs). Every figure names a source (a dataset at a commit, an API offer, or a public pricing page with
the date it was read); a price that is not in the catalogue is ``None``, never zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("prices.json")
HOURS_PER_MONTH = 730


@dataclass(frozen=True)
class Source:
    key: str
    reference: str
    date: str
    note: str = ""


@dataclass(frozen=True)
class Price:
    """USD per unit (an hour, a GB-month, or a factor for spot assumptions) and where it comes from."""

    usd: float
    source: Source
    assumption: Source | None = None  # the spot factor an AWS spot price was derived with

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.source.key,) + ((self.assumption.key,) if self.assumption else ())


@cache
def _document() -> dict[str, Any]:
    return json.loads(PRICES_FILE.read_text())


def sources() -> dict[str, Source]:
    return {key: Source(key, **value) for key, value in _document()["sources"].items()}


def _price(entry: Any) -> Price | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("usd"), int | float):
        return None
    return Price(float(entry["usd"]), sources()[entry["source"]])


def _region(cloud: str, region: str) -> dict[str, Any]:
    return _document().get(cloud, {}).get(region, {})


def instance_hourly(cloud: str, region: str, instance_type: str, spot: bool) -> Price | None:
    """The hourly price of one instance (AWS) or machine (GCP, built-in GPUs included)."""
    prices = _region(cloud, region)
    if cloud == "gcp" and spot:
        return _price(prices.get("spotInstances", {}).get(instance_type))
    on_demand = _price(prices.get("instances", {}).get(instance_type))
    if not spot or on_demand is None:
        return on_demand
    factor = _price(_document()["spotFactors"].get(cloud, {}).get(instance_type.split(".", 1)[0]))
    return None if factor is None else Price(on_demand.usd * factor.usd, on_demand.source, factor.source)


def accelerator_hourly(cloud: str, region: str, accelerator: str, spot: bool) -> Price | None:
    """The hourly price of one attached accelerator (GCP N1 machines)."""
    return _price(_region(cloud, region).get("spotAccelerators" if spot else "accelerators", {}).get(accelerator))


def fee(cloud: str, region: str, name: str) -> Price | None:
    """A per-region figure: ``clusterHour``, ``natGatewayHour``, ``blockGbMonth``, ``objectGbMonth``."""
    key = {"clusterHour": {"aws": "eksClusterHour", "gcp": "gkeClusterHour"}.get(cloud, "")}.get(name, name)
    return _price(_region(cloud, region).get(key))
