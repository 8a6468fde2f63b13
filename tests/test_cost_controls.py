"""Budgets and allocation in the clouds, and the stack's `cost` output agreeing with `rayplat cost`."""

from __future__ import annotations

import json

import pytest

from rayplat.cost.report import to_dict
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from stackconfig.errors import ConfigError
from tests.conftest import STACKS, config_tags, planned, resource, set_key

BUDGET = "aws:budgets/budget:Budget"
MONITOR = "aws:costexplorer/anomalyMonitor:AnomalyMonitor"
SUBSCRIPTION = "aws:costexplorer/anomalySubscription:AnomalySubscription"
TOPIC = "aws:sns/topic:Topic"


@pytest.mark.parametrize("stack", STACKS)
def test_the_cost_output_holds_the_figures_rayplat_cost_reports(stack):
    plan = planned(stack)
    report = to_dict(plan)
    output = plan.outputs["cost"]
    for key in ("floorMonthly", "expectedMonthly", "ceilingMonthly", "floorGpus", "ceilingGpus"):
        assert output[key] == pytest.approx(report[key]), key
    assert output["ceilingMonthly"]["knownUsd"] > 0 or stack == "local"


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_an_aws_budget_watches_the_stacks_cost_tags_and_notifies_the_encrypted_topic(stack):
    plan = planned(stack)
    tags = config_tags(stack)
    budget = resource(plan, BUDGET).inputs
    assert budget["filterExpression"] == {
        "ands": [
            {"tags": {"key": "app", "values": [tags["app"]], "matchOptions": ["EQUALS"]}},
            {"tags": {"key": "env", "values": [tags["env"]], "matchOptions": ["EQUALS"]}},
        ]
    }
    assert float(budget["limitAmount"]) == pytest.approx(plan.outputs["cost"]["ceilingMonthly"]["knownUsd"])
    assert (budget["timeUnit"], budget["limitUnit"]) == ("MONTHLY", "USD")
    topic = resource(plan, TOPIC)
    topic_arn = "arn:aws:sns:{}:123456789012:{}".format(plan.outputs["region"], topic.inputs["name"])
    kinds = {(n["notificationType"], n["threshold"]) for n in budget["notifications"]}
    assert kinds == {("ACTUAL", 80), ("FORECASTED", 100)}
    assert all(n["subscriberSnsTopicArns"] == [topic_arn] for n in budget["notifications"])
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")


def test_the_alert_topic_and_its_key_let_only_budgets_and_anomaly_detection_publish():
    plan = planned("dev")
    policy = json.loads(resource(plan, "aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": ["budgets.amazonaws.com", "costalerts.amazonaws.com"]}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    key = resource(plan, "aws:kms/key:Key", "dev-costs-cost-alerts")
    services = [s for s in json.loads(key.inputs["policy"])["Statement"] if "Service" in s["Principal"]]
    assert services and services[0]["Action"] == ["kms:GenerateDataKey*", "kms:Decrypt"]


def test_anomaly_detection_monitors_the_stacks_tags_and_notifies_the_topic():
    plan = planned("dev")
    monitor = resource(plan, MONITOR)
    spec = json.loads(monitor.inputs["monitorSpecification"])
    assert spec == {
        "And": [
            {"Tags": {"Key": "app", "Values": ["ray-platform"], "MatchOptions": ["EQUALS"]}},
            {"Tags": {"Key": "env", "Values": ["dev"], "MatchOptions": ["EQUALS"]}},
        ]
    }
    subscription = resource(plan, SUBSCRIPTION).inputs
    assert subscription["monitorArnLists"] and subscription["monitorArnLists"][0].startswith("arn:aws:ce::")
    assert subscription["subscribers"] == [
        {"type": "SNS", "address": "arn:aws:sns:us-west-2:123456789012:ray-dev-cost-alerts"}
    ]
    assert subscription["frequency"] == "IMMEDIATE"


def test_the_platforms_cost_tags_are_activated_for_allocation():
    tags = planned("dev").of_type("aws:costexplorer/costAllocationTag:CostAllocationTag")
    assert {(t.inputs["tagKey"], t.inputs["status"]) for t in tags} == {
        (key, "Active") for key in ("team", "env", "owner", "department", "app")
    }


def test_a_configured_budget_amount_and_emails_replace_the_modelled_ceiling():
    budget = {"monthlyUsd": 1500, "emails": ["finops@example.com"], "activateCostAllocationTags": False}
    plan = run_program("dev", set_key(read_stack_config("dev"), "costs", {"budget": budget}), PROGRAM)
    assert resource(plan, BUDGET).inputs["limitAmount"] == "1500.00"
    (subscription,) = plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert (subscription.inputs["protocol"], subscription.inputs["endpoint"]) == ("email", "finops@example.com")
    assert plan.of_type("aws:costexplorer/costAllocationTag:CostAllocationTag") == []


def test_gke_cost_allocation_is_on_and_a_billing_budget_follows_a_billing_account():
    assert all(
        r.inputs["costManagementConfig"] == {"enabled": True}
        for stack in ("gcp-dev", "gcp-prod")
        for r in planned(stack).of_type("gcp:container/cluster:Cluster")
    )
    assert planned("gcp-dev").of_type("gcp:billing/budget:Budget") == []
    config = set_key(read_stack_config("gcp-dev"), "costs", {"budget": {"billingAccount": "01A2B3-C4D5E6-F7A8B9"}})
    budget = resource(run_program("gcp-dev", config, PROGRAM), "gcp:billing/budget:Budget").inputs
    assert budget["billingAccount"] == "01A2B3-C4D5E6-F7A8B9"
    assert budget["budgetFilter"]["labels"] == {"env": "dev"}
    assert [(r["thresholdPercent"], r.get("spendBasis")) for r in budget["thresholdRules"]] == [
        (0.8, None),
        (1.0, "FORECASTED_SPEND"),
    ]


def test_a_bad_budget_config_names_its_key_path():
    config = set_key(read_stack_config("dev"), "costs", {"budget": {"emails": ["not-an-address"], "monthlyUsd": -1}})
    with pytest.raises(ConfigError) as error:
        run_program("dev", config, PROGRAM)
    message = str(error.value)
    assert "costs.budget.emails[0]" in message or "costs.budget.emails.0" in message
    assert "costs.budget.monthlyUsd" in message
