"""`rayplat prices refresh`: its parsers on recorded API responses, the requests it makes, and no credentials."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from catalog.prices import PRICES_FILE
from rayplat.cli import app
from rayplat.cost.refresh import CATALOG_URL, aws_filters, fetch_gcp, parse_aws_products, parse_gcp_skus, refresh

DATA = Path(__file__).parent / "data" / "prices"
AWS = json.loads((DATA / "aws-get-products.json").read_text())
GCP = json.loads((DATA / "gcp-skus.json").read_text())


def test_the_aws_parser_reads_the_hourly_on_demand_price_and_the_offers_date():
    assert parse_aws_products(AWS["g5.xlarge"]["PriceList"]) == {("us-west-2", "g5.xlarge"): (1.006, "2026-11-20")}


def test_the_gcp_parser_reads_attachable_gpus_on_demand_and_spot_per_region():
    assert parse_gcp_skus(GCP, ["us-central1"]) == {
        ("us-central1", "nvidia-tesla-t4", False): (0.35, "2026-11-28"),
        ("us-central1", "nvidia-tesla-v100", False): (2.48, "2026-11-28"),
        ("us-central1", "nvidia-tesla-t4", True): (0.14, "2026-11-28"),
    }


def test_gcp_pages_are_followed_by_their_token():
    asked = []

    def get(url):
        asked.append(url)
        return GCP[len(asked) - 1]

    assert fetch_gcp("k", get) == GCP
    assert asked[0].startswith(CATALOG_URL + "?key=k") and "pageToken" not in asked[0]
    assert "pageToken=page-2" in asked[1]


@pytest.fixture
def catalogue(tmp_path):
    """A copy of the catalogue with two AWS instance types, to refresh."""
    document = json.loads(PRICES_FILE.read_text())
    document["aws"] = {"us-west-2": {**document["aws"]["us-west-2"], "instances": {}}}
    for name in ("g5.xlarge", "m6i.xlarge"):
        document["aws"]["us-west-2"]["instances"][name] = {"usd": 9.99, "source": "aws-pricing-page"}
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document))
    return path


def test_refresh_asks_the_price_list_api_for_each_type_and_records_the_source(catalogue):
    client = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
    with Stubber(client) as stub:
        for name in ("g5.xlarge", "m6i.xlarge"):
            expected = {"ServiceCode": "AmazonEC2", "Filters": aws_filters("us-west-2", name)}
            stub.add_response("get_products", AWS[name], expected)
        assert refresh(catalogue, aws_client=client) == ["AWS: 2 EC2 prices"]
        stub.assert_no_pending_responses()
    document = json.loads(catalogue.read_text())
    assert document["aws"]["us-west-2"]["instances"]["m6i.xlarge"] == {"usd": 0.192, "source": "aws-price-list-api"}
    assert document["sources"]["aws-price-list-api"]["date"] == "2026-11-20"


def test_without_credentials_refresh_says_so_and_exits_2(monkeypatch, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "RAYPLAT_GCP_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    before = PRICES_FILE.read_text()
    result = CliRunner().invoke(app, ["prices", "refresh"])
    assert result.exit_code == 2
    assert "no credentials for a price API" in result.output
    assert PRICES_FILE.read_text() == before
