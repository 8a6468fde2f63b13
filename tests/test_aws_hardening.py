"""What the AWS layer promises holds in its plan: NetworkPolicies have an enforcer, every key has an explicit
least-privilege policy, control-plane logs are encrypted and kept per environment, and in prod nobody is
cluster admin by having created the cluster."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from components.aws import iam_documents
from rayplat.plan.engine import read_stack_config
from rayplat.plan.mockvalues import ACCOUNT_ID
from stackconfig.cluster import CLOUDWATCH_RETENTION_DAYS, LOG_RETENTION_DAYS
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_problems, get_key, planned, resource, set_key

KEY = "aws:kms/key:Key"
USE_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt", "kms:GenerateDataKey", "kms:CreateGrant")
# In a key policy "Resource": "*" is the key itself, which parliament (written for IAM policies) cannot know.
KEY_POLICY_NOT_APPLICABLE = {"RESOURCE_STAR"}


def _cluster_config(stack: str) -> dict:
    return json.loads(read_stack_config(stack)["ray-platform:cluster"])


def _statements(key) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(key.inputs["policy"])["Statement"]}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_vpc_cni_enforces_network_policies(plan):
    # On every AWS stack, with teams (whose namespaces get NetworkPolicies) or not yet.
    (cni,) = [a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "vpc-cni"]
    assert json.loads(cni.inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert cni.inputs["addonVersion"] >= "v1.14", "the network policy agent ships with vpc-cni 1.14 and later"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stacks_with_teams_declare_the_policies_the_cni_enforces(stack):
    assert planned(stack).of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")


def test_every_key_has_an_explicit_policy_that_grants_nothing_to_anyone(plan):
    keys = plan.of_type(KEY)
    names = {
        f"{plan.stack}-secrets",
        f"{plan.stack}-logs",
        f"{plan.stack}-artifacts-key",
        f"{plan.stack}-costs-cost-alerts",
    }
    assert {k.name for k in keys} == names
    admin = _cluster_config(plan.stack)["adminRoleArn"]
    for key in keys:
        statements = _statements(key)
        administration = statements.pop("KeyAdministration")
        assert set(administration["Principal"]["AWS"]) == {f"arn:aws:iam::{ACCOUNT_ID}:root", admin}
        assert not [a for a in administration["Action"] if a.startswith(USE_ACTIONS)], "administrators do not use"
        for statement in statements.values():
            assert statement["Principal"] not in ("*", {"AWS": "*"}), (key.name, statement)
            assert "*" not in _as_list(statement["Principal"].get("AWS", [])), (key.name, statement)
            assert not any(a in ("*", "kms:*") for a in _as_list(statement["Action"])), (key.name, statement)


def test_only_the_cluster_role_uses_the_secrets_key(plan):
    statements = _statements(resource(plan, KEY, f"{plan.stack}-secrets"))
    cluster_role = resource(plan, "aws:eks/cluster:Cluster").inputs["roleArn"]
    assert statements["ClusterEnvelopeEncryption"]["Principal"] == {"AWS": cluster_role}
    grants = statements["GrantsToAwsServices"]
    assert grants["Action"] == "kms:CreateGrant"
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_the_artifact_key_is_used_only_through_s3_for_the_artifact_bucket(plan):
    statement = _statements(resource(plan, KEY, f"{plan.stack}-artifacts-key"))["UseThroughS3ForThisBucket"]
    region = plan.outputs["region"]
    bucket = f"arn:aws:s3:::{plan.outputs['artifactBucket']}"
    assert statement["Condition"]["StringEquals"] == {
        "kms:ViaService": f"s3.{region}.amazonaws.com",
        "kms:CallerAccount": ACCOUNT_ID,
    }
    assert statement["Condition"]["StringLike"] == {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/*"]}
    # The Ray roles' own policies name this key: the key policy's account principal delegates to them.
    ray = json.loads(resource(plan, "aws:iam/policy:Policy", f"{plan.stack}-platform-ray").inputs["policy"])
    assert plan.outputs["artifactKmsKeyArn"] in [s["Resource"] for s in ray["Statement"]]


def test_control_plane_logs_are_encrypted_with_their_own_key_and_kept_per_environment(plan):
    group = resource(plan, "aws:cloudwatch/logGroup:LogGroup")
    key = resource(plan, KEY, f"{plan.stack}-logs")
    environment = read_stack_config(plan.stack)["ray-platform:environment"]
    assert group.inputs["retentionInDays"] == LOG_RETENTION_DAYS[environment]
    assert group.inputs["kmsKeyId"].startswith("arn:aws:kms:") and key.urn in group.dependencies
    logs = _statements(key)["CloudWatchLogsForOneGroup"]
    region = plan.outputs["region"]
    assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    assert logs["Condition"] == {
        "StringEquals": {
            "kms:EncryptionContext:aws:logs:arn": (
                f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{group.inputs['name']}"
            )
        }
    }
    # Audit logs and the key that reads them outlive a change of program in prod.
    assert group.protect is key.protect is group.retainOnDelete is (environment == "prod")


def test_key_policies_pass_parliament(plan):
    for key in plan.of_type(KEY):
        findings = analyze_policy_string(key.inputs["policy"]).findings
        relevant = [(f.issue, f.detail) for f in findings if f.issue not in KEY_POLICY_NOT_APPLICABLE]
        assert relevant == [], key.name


def test_prod_grants_cluster_admin_by_explicit_access_entries_only():
    plan = planned("prod")
    cluster = resource(plan, "aws:eks/cluster:Cluster")
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    # Team entries map roles into a group and hold no access policy (tests/test_team_identity.py).
    entries = {
        e.name: e.inputs["principalArn"]
        for e in plan.of_type("aws:eks/accessEntry:AccessEntry")
        if not e.inputs.get("kubernetesGroups")
    }
    config = _cluster_config("prod")
    assert entries == {"prod-admin": config["adminRoleArn"], "prod-deploy": config["deployRoleArn"]}
    associations = plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    assert {a.name for a in associations} == set(entries)
    assert all(a.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy") for a in associations)
    # The kubernetes layer is installed by the deploy role: it waits for the role's access.
    provider = resource(plan, "pulumi:providers:kubernetes", "prod-k8s")
    assert {a.urn for a in associations} <= set(provider.dependencies)


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_without_a_deploy_role_the_creator_keeps_its_bootstrap_access(stack):
    plan = planned(stack)
    assert "deployRoleArn" not in _cluster_config(stack)
    assert resource(plan, "aws:eks/cluster:Cluster").inputs["accessConfig"]["bootstrapClusterCreatorAdminPermissions"]
    entries = plan.of_type("aws:eks/accessEntry:AccessEntry")
    people = [e.name for e in entries if not e.inputs.get("kubernetesGroups") and e.inputs.get("type") != "EC2_LINUX"]
    assert people == [f"{stack}-admin"]


def test_key_policies_follow_the_partition_and_its_service_domain():
    document = iam_documents.log_key_policy(
        "123456789012", "arn:aws-cn:iam::123456789012:role/admin", "/aws/eks/x/cluster", "cn-north-1",
        partition="aws-cn", dns_suffix="amazonaws.com.cn",
    )  # fmt: skip
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert "arn:aws-cn:iam::123456789012:root" in statements["KeyAdministration"]["Principal"]["AWS"]
    logs = statements["CloudWatchLogsForOneGroup"]
    assert logs["Principal"] == {"Service": "logs.cn-north-1.amazonaws.com.cn"}
    assert logs["Condition"]["StringEquals"]["kms:EncryptionContext:aws:logs:arn"].startswith("arn:aws-cn:logs:")


def _prod_config(**cluster_changes) -> dict:
    config = read_stack_config("prod")
    cluster = {**get_key(config, "cluster"), **cluster_changes}
    return set_key(config, "cluster", {k: v for k, v in cluster.items() if v is not None})


BAD_CLUSTER_CONFIGS = {
    "retention CloudWatch refuses": (
        {"logRetentionDays": 45},
        "cluster.logRetentionDays: 45 is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90,",
    ),
    "prod keeps logs less than a year": (
        {"logRetentionDays": 180},
        "cluster.logRetentionDays: must be at least 365 in prod (180 given)",
    ),
    "prod without a deploy role": ({"deployRoleArn": None}, "cluster.deployRoleArn: required in prod"),
    "deploy role is the admin role": (
        {"deployRoleArn": "arn:aws:iam::210987654321:role/platform-admin"},
        "cluster.deployRoleArn: must differ from adminRoleArn",
    ),
    "deploy role is not a role": (
        {"deployRoleArn": "arn:aws:iam::210987654321:user/ci"},
        "cluster.deployRoleArn: 'arn:aws:iam::210987654321:user/ci' is not an IAM role ARN",
    ),
}


@pytest.mark.parametrize("case", BAD_CLUSTER_CONFIGS, ids=list(BAD_CLUSTER_CONFIGS))
def test_bad_access_or_log_settings_are_refused_naming_the_key(case):
    changes, expected = BAD_CLUSTER_CONFIGS[case]
    problems = config_problems(_prod_config(**changes))
    assert any(p.startswith(expected) for p in problems), problems


def test_a_longer_retention_is_kept_and_every_cloudwatch_period_is_accepted_outside_prod():
    assert parse_config(project_keys(_prod_config(logRetentionDays=731))).log_retention_days == 731
    dev = read_stack_config("dev")
    for days in CLOUDWATCH_RETENTION_DAYS:
        config = set_key(dev, "cluster", {**get_key(dev, "cluster"), "logRetentionDays": days})
        assert parse_config(project_keys(config)).log_retention_days == days


def test_gcp_stacks_refuse_the_eks_only_keys():
    config = read_stack_config("gcp-dev")
    cluster = get_key(config, "cluster") if "ray-platform:cluster" in config else {}
    changed = set_key(config, "cluster", {**cluster, "logRetentionDays": 30})
    assert "cluster.logRetentionDays: does not apply when cloud is 'gcp'" in config_problems(changed)
