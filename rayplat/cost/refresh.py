"""`rayplat prices refresh`: the price catalogue rewritten from the clouds' own price APIs.

AWS: the Price List API (boto3 ``pricing``, ``get_products`` on the us-east-1 endpoint), EC2 on-demand
Linux shared-tenancy prices of the catalogue's instance types in the regions it holds. GCP: the Cloud
Billing Catalog API (``services/6F81-5844-456A/skus``, Compute Engine), the GPU SKUs that attach to N1
machines, on demand and spot. Every price refreshed names its API and the offer's publication date.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from catalog.prices import PRICES_FILE

AWS_SOURCE = "aws-price-list-api"
GCP_SOURCE = "gcp-billing-catalog-api"
COMPUTE_ENGINE = "6F81-5844-456A"
CATALOG_URL = f"https://cloudbilling.googleapis.com/v1/services/{COMPUTE_ENGINE}/skus"
# The SKU description's accelerator name -> the GKE accelerator type.
GCP_ACCELERATORS = {"Nvidia Tesla T4": "nvidia-tesla-t4", "Nvidia Tesla V100": "nvidia-tesla-v100"}


class NoCredentials(Exception):
    """Neither cloud's price API can be called from here."""


def aws_filters(region: str, instance_type: str) -> list[dict[str, str]]:
    terms = {
        "regionCode": region,
        "instanceType": instance_type,
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }
    return [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in terms.items()]


def parse_aws_products(price_list: Iterable[str]) -> dict[tuple[str, str], tuple[float, str]]:
    """(region, instance type) -> (USD per hour, publication date) from ``get_products``' PriceList items."""
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for text in price_list:
        item = json.loads(text)
        attributes = item["product"]["attributes"]
        for term in item.get("terms", {}).get("OnDemand", {}).values():
            for dimension in term["priceDimensions"].values():
                usd = float(dimension["pricePerUnit"]["USD"])
                if dimension["unit"] == "Hrs" and usd > 0:
                    key = (attributes["regionCode"], attributes["instanceType"])
                    found[key] = (usd, item["publicationDate"][:10])
    return found


def parse_gcp_skus(
    pages: Iterable[Mapping[str, Any]], regions: Iterable[str]
) -> dict[tuple[str, str, bool], tuple[float, str]]:
    """(region, accelerator, spot) -> (USD per hour, effective date) from Cloud Billing Catalog SKU pages."""
    wanted = set(regions)
    found: dict[tuple[str, str, bool], tuple[float, str]] = {}
    for page in pages:
        for sku in page.get("skus", []):
            category = sku.get("category", {})
            accelerator = next(
                (a for d, a in GCP_ACCELERATORS.items() if sku.get("description", "").startswith(d)), None
            )
            if category.get("resourceGroup") != "GPU" or accelerator is None:
                continue
            if category.get("usageType") not in ("OnDemand", "Preemptible"):
                continue
            info = sku["pricingInfo"][0]
            rate = info["pricingExpression"]["tieredRates"][-1]["unitPrice"]
            usd = int(rate.get("units", "0")) + rate.get("nanos", 0) / 1e9
            for region in wanted.intersection(sku.get("serviceRegions", [])):
                spot = category["usageType"] == "Preemptible"
                found[(region, accelerator, spot)] = (usd, info["effectiveTime"][:10])
    return found


def fetch_aws(client: Any, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[float, str]]:
    found: dict[tuple[str, str], tuple[float, str]] = {}
    for region, instance_type in wanted:
        response = client.get_products(ServiceCode="AmazonEC2", Filters=aws_filters(region, instance_type))
        found.update(parse_aws_products(response["PriceList"]))
    return found


def fetch_gcp(api_key: str, get: Callable[[str], Mapping[str, Any]] | None = None) -> list[Mapping[str, Any]]:
    """Every page of Compute Engine's SKUs."""
    get = get or _get_json
    pages, token = [], ""
    while True:
        query = {"key": api_key, "pageSize": "5000", **({"pageToken": token} if token else {})}
        page = get(f"{CATALOG_URL}?{urllib.parse.urlencode(query)}")
        pages.append(page)
        token = page.get("nextPageToken", "")
        if not token:
            return pages


def _get_json(url: str) -> Mapping[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - a fixed https URL
        return json.loads(response.read())


def apply_aws(document: dict[str, Any], prices: Mapping[tuple[str, str], tuple[float, str]]) -> int:
    for (region, instance_type), (usd, _) in prices.items():
        document["aws"][region]["instances"][instance_type] = {"usd": usd, "source": AWS_SOURCE}
    if prices:
        document["sources"][AWS_SOURCE] = {
            "reference": "AWS Price List API: AmazonEC2 offer, pricing:GetProducts on the us-east-1 endpoint "
            "(on-demand, Linux, shared tenancy)",
            "date": max(date for _, date in prices.values()),
            "note": "publication date of the newest offer read",
        }
    return len(prices)


def apply_gcp(document: dict[str, Any], prices: Mapping[tuple[str, str, bool], tuple[float, str]]) -> int:
    for (region, accelerator, spot), (usd, _) in prices.items():
        section = "spotAccelerators" if spot else "accelerators"
        document["gcp"][region].setdefault(section, {})[accelerator] = {"usd": usd, "source": GCP_SOURCE}
    if prices:
        document["sources"][GCP_SOURCE] = {
            "reference": f"Cloud Billing Catalog API: services/{COMPUTE_ENGINE}/skus (Compute Engine GPU SKUs)",
            "date": max(date for _, date in prices.values()),
            "note": "effective date of the newest price read",
        }
    return len(prices)


def refresh(path: Path = PRICES_FILE, aws_client: Any = None, gcp_api_key: str | None = None) -> list[str]:
    """Rewrite the catalogue from whichever APIs can be called; what was refreshed, one line per cloud."""
    if aws_client is None and gcp_api_key is None:
        raise NoCredentials(
            "no credentials for a price API: AWS credentials (boto3's usual chain) for the Price List API, "
            "or RAYPLAT_GCP_API_KEY for the Cloud Billing Catalog API"
        )
    document = json.loads(path.read_text())
    done = []
    if aws_client is not None:
        wanted = [(region, t) for region, prices in document["aws"].items() for t in prices["instances"]]
        done.append(f"AWS: {apply_aws(document, fetch_aws(aws_client, wanted))} EC2 prices")
    if gcp_api_key is not None:
        found = parse_gcp_skus(fetch_gcp(gcp_api_key), document["gcp"])
        done.append(f"GCP: {apply_gcp(document, found)} accelerator prices")
    path.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return done


def clients_from_environment() -> tuple[Any, str | None]:
    """The AWS pricing client if boto3 finds credentials, and the GCP API key if one is set."""
    import boto3

    session = boto3.Session()
    aws = session.client("pricing", region_name="us-east-1") if session.get_credentials() is not None else None
    return aws, os.environ.get("RAYPLAT_GCP_API_KEY")
