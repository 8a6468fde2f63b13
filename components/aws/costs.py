"""The stack's bill watched in AWS: a Budget filtered by the stack's cost tags with actual and forecast
thresholds, a Cost Anomaly Detection monitor and subscription for the same tags, the platform's tags
activated for cost allocation, and an encrypted SNS topic the budget and the anomaly alerts publish to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from catalog.tagging import with_name
from components.aws.account import AwsAccount
from components.aws.iam_documents import KEY_ADMINISTRATION_ACTIONS, account_root
from components.aws.keys import customer_key
from components.options import child_options

# The services that publish to the topic: AWS Budgets and Cost Anomaly Detection.
ALERT_SERVICES = ("budgets.amazonaws.com", "costalerts.amazonaws.com")


@dataclass(frozen=True)
class CostControlsArgs:
    name: str
    monthly_usd: float
    actual_threshold_percent: float
    forecast_threshold_percent: float
    emails: list[str]
    anomaly_threshold_usd: float
    # The tags whose values together identify the stack's costs (app and env).
    stack_tags: dict[str, str]
    # Tag keys to activate as cost allocation tags (none: leave the account's setting alone).
    allocation_tag_keys: list[str]
    admin_role_arn: str
    # The topic's key is stateful (messages in flight are encrypted with it): protected in production.
    protect: bool
    tags: dict[str, str]


def alerts_key_policy(account_id: str, admin_role_arn: str, partition: str = "aws") -> dict[str, Any]:
    """The alert topic's key: administered by the admin role and root, used by the alerting services only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "KeyAdministration",
                "Effect": "Allow",
                "Principal": {"AWS": [account_root(account_id, partition), admin_role_arn]},
                "Action": KEY_ADMINISTRATION_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "CostAlertsPublishEncrypted",
                "Effect": "Allow",
                "Principal": {"Service": list(ALERT_SERVICES)},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
        ],
    }


def topic_policy(topic_arn: str, account_id: str) -> dict[str, Any]:
    """Only AWS Budgets and Cost Anomaly Detection, on behalf of this account, may publish."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CostAlertsPublish",
                "Effect": "Allow",
                "Principal": {"Service": list(ALERT_SERVICES)},
                "Action": "SNS:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }
        ],
    }


def budget_filter(stack_tags: dict[str, str]) -> aws.budgets.BudgetFilterExpressionArgs:
    """Costs carrying every one of the stack's tags (AND of tag filters)."""
    return aws.budgets.BudgetFilterExpressionArgs(
        ands=[
            aws.budgets.BudgetFilterExpressionAndArgs(
                tags=aws.budgets.BudgetFilterExpressionAndTagsArgs(key=k, values=[v], match_options=["EQUALS"])
            )
            for k, v in stack_tags.items()
        ]
    )


def anomaly_specification(stack_tags: dict[str, str]) -> str:
    """A custom monitor's specification (Cost Explorer expression): the stack's tags, all of them."""
    tags = [{"Tags": {"Key": k, "Values": [v], "MatchOptions": ["EQUALS"]}} for k, v in stack_tags.items()]
    return json.dumps(tags[0] if len(tags) == 1 else {"And": tags}, sort_keys=True)


class CostControls(pulumi.ComponentResource):
    topic: aws.sns.Topic
    budget: aws.budgets.Budget

    def __init__(
        self,
        name: str,
        args: CostControlsArgs,
        *,
        provider: aws.Provider,
        account: AwsAccount,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:aws:CostControls", name, None, opts)
        child = child_options(self, provider, opts)
        key = customer_key(
            f"{name}-cost-alerts",
            alias=f"alias/{args.name}-cost-alerts",
            description=f"Cost alerts of {args.name}",
            policy=pulumi.Output.all(account.account_id, account.partition).apply(
                lambda a: json.dumps(alerts_key_policy(a[0], args.admin_role_arn, a[1]))
            ),
            tags=args.tags,
            key_opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
            alias_opts=child,
        )
        self.topic = aws.sns.Topic(
            f"{name}-cost-alerts",
            name=f"{args.name}-cost-alerts",
            kms_master_key_id=key.arn,
            tags=with_name(args.tags, f"{args.name}-cost-alerts"),
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-cost-alerts",
            arn=self.topic.arn,
            policy=pulumi.Output.all(self.topic.arn, account.account_id).apply(
                lambda a: json.dumps(topic_policy(a[0], a[1]))
            ),
            opts=child,
        )
        for address in args.emails:
            aws.sns.TopicSubscription(
                f"{name}-cost-alerts-{address}", topic=self.topic.arn, protocol="email", endpoint=address, opts=child
            )
        self.budget = aws.budgets.Budget(
            f"{name}-monthly",
            name=f"{args.name}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{args.monthly_usd:.2f}",
            limit_unit="USD",
            filter_expression=budget_filter(args.stack_tags),
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    notification_type=kind,
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[self.topic.arn],
                )
                for kind, threshold in (
                    ("ACTUAL", args.actual_threshold_percent),
                    ("FORECASTED", args.forecast_threshold_percent),
                )
            ],
            tags=args.tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.topic])),
        )
        monitor = aws.costexplorer.AnomalyMonitor(
            f"{name}-anomalies",
            name=f"{args.name}-anomalies",
            monitor_type="CUSTOM",
            monitor_specification=anomaly_specification(args.stack_tags),
            tags=args.tags,
            opts=child,
        )
        aws.costexplorer.AnomalySubscription(
            f"{name}-anomalies",
            name=f"{args.name}-anomalies",
            frequency="IMMEDIATE",
            monitor_arn_lists=[monitor.arn],
            subscribers=[aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=self.topic.arn)],
            threshold_expression=aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
                dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                    key="ANOMALY_TOTAL_IMPACT_ABSOLUTE",
                    match_options=["GREATER_THAN_OR_EQUAL"],
                    values=[f"{args.anomaly_threshold_usd:g}"],
                )
            ),
            tags=args.tags,
            opts=child,
        )
        for tag_key in args.allocation_tag_keys:
            aws.costexplorer.CostAllocationTag(
                f"{name}-allocation-{tag_key}", tag_key=tag_key, status="Active", opts=child
            )
        self.register_outputs({"topicArn": self.topic.arn, "budget": self.budget.name})
