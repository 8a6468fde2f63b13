"""IAM grants nothing beyond what each workload needs, and every document passes parliament."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from components.aws import iam_documents
from tests.conftest import resource

BUCKET = "arn:aws:s3:::artifacts"
KEY = "arn:aws:kms:us-west-2:123456789012:key/1234"
QUEUE = "arn:aws:sqs:us-west-2:123456789012:ray-staging-karpenter"


def _permission_documents(plan):
    """Identity and bucket policies. Trust policies have no Resource, which parliament cannot lint;
    they are checked below instead."""
    for r in plan.of_type("aws:iam/policy:Policy") + plan.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        yield r.name, json.loads(r.inputs["policy"])


# Karpenter's reference controller policy splits RunInstances/CreateFleet's resources over statements by the
# conditions each resource can meet (AMIs and subnets carry no cluster tag), which parliament reads statement
# by statement; IAM grants a request when every resource is allowed by some statement.
KARPENTER_SPLIT = {"RESOURCE_MISMATCH"}


def test_every_iam_document_passes_parliament(plan):
    documents = list(_permission_documents(plan))
    # the autoscaler's and Ray's policies, one per team, and the bucket policy
    assert len(documents) >= 3
    for name, document in documents:
        findings = analyze_policy_string(json.dumps(document)).findings
        ignored = KARPENTER_SPLIT if name == f"{plan.stack}-karpenter" else set()
        assert [f for f in findings if f.issue not in ignored] == [], (
            f"{name}: {[(f.issue, f.detail) for f in findings]}"
        )


def test_karpenter_controller_policy_is_scoped_to_its_cluster():
    document = iam_documents.karpenter_controller(
        "ray-staging", "123456789012", "us-west-2", "arn:aws:iam::123456789012:role/node", QUEUE
    )
    statements = {s["Sid"]: s for s in document["Statement"]}
    owned = "kubernetes.io/cluster/ray-staging"
    for sid in ("AllowScopedDeletion", "AllowScopedEC2LaunchTemplateAccessActions", "AllowScopedResourceTagging"):
        assert statements[sid]["Condition"]["StringEquals"][f"aws:ResourceTag/{owned}"] == "owned"
    for sid in ("AllowScopedEC2InstanceActionsWithTags", "AllowScopedResourceCreationTagging"):
        assert statements[sid]["Condition"]["StringEquals"][f"aws:RequestTag/{owned}"] == "owned"
    assert statements["AllowPassingInstanceRole"]["Resource"] == "arn:aws:iam::123456789012:role/node"
    assert statements["AllowInterruptionQueueActions"]["Resource"] == QUEUE
    wildcard = [s for s in document["Statement"] if s["Resource"] == "*"]
    actions = {a for s in wildcard for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}
    assert all(a.split(":")[1].startswith(("Describe", "Get", "List")) for a in actions)
    findings = analyze_policy_string(json.dumps(document)).findings
    assert {f.issue for f in findings} <= KARPENTER_SPLIT
    # Within IAM's limit of 6,144 characters for a managed policy (whitespace not counted).
    assert len(json.dumps(document, separators=(",", ":"))) < 6144


def test_interruption_queue_takes_messages_from_eventbridge_only():
    document = iam_documents.interruption_queue_policy("arn:aws:sqs:us-west-2:123456789012:q")
    allow, deny = document["Statement"]
    assert allow["Principal"] == {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]}
    assert allow["Action"] == "sqs:SendMessage"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_ray_role_reaches_only_the_artifact_bucket_and_its_key(plan):
    policy = json.loads(resource(plan, "aws:iam/policy:Policy", f"{plan.stack}-platform-ray").inputs["policy"])
    bucket = f"arn:aws:s3:::{plan.outputs['artifactBucket']}"
    allowed = {bucket, f"{bucket}/*", plan.outputs["artifactKmsKeyArn"]}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert set(resources) <= allowed, statement
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(a.startswith(("s3:", "kms:")) and "*" not in a for a in actions), statement


def test_ray_role_trusts_only_the_ray_service_account(plan):
    role = resource(plan, "aws:iam/role:Role", f"{plan.stack}-platform-ray")
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert statement["Principal"] == {"Federated": plan.outputs["oidcProviderArn"]}
    conditions = statement["Condition"]["StringEquals"]
    issuer = plan.outputs["oidcProviderArn"].split("oidc-provider/")[1]
    assert conditions == {f"{issuer}:sub": "system:serviceaccount:ray:ray", f"{issuer}:aud": "sts.amazonaws.com"}


def test_every_irsa_trust_is_scoped_by_sub_and_aud(plan):
    for role in plan.of_type("aws:iam/role:Role"):
        (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
        if statement["Action"] == "sts:AssumeRoleWithWebIdentity":
            keys = {k.rsplit(":", 1)[1] for k in statement["Condition"]["StringEquals"]}
            assert keys == {"sub", "aud"}, role.name


def test_a_prefix_narrows_objects_and_listing():
    document = iam_documents.artifact_access(BUCKET, KEY, prefix="teams/vision/")
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert statements["ReadWriteArtifacts"]["Resource"] == f"{BUCKET}/teams/vision/*"
    assert statements["ListArtifacts"]["Condition"] == {"StringLike": {"s3:prefix": ["teams/vision/*"]}}
    assert analyze_policy_string(json.dumps(document)).findings == []


def test_autoscaler_resizes_only_this_clusters_groups():
    document = iam_documents.cluster_autoscaler("ray-dev", "123456789012", "us-west-2")
    statements = {s["Sid"]: s for s in document["Statement"]}
    resize = statements["ResizeOwnGroups"]
    assert resize["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/ray-dev": "owned"}}
    assert statements["DescribeOwnNodegroups"]["Resource"].endswith(":nodegroup/ray-dev/*/*")
    wildcard = [s for s in document["Statement"] if s["Resource"] == "*"]
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for s in wildcard for a in s["Action"])


@pytest.mark.parametrize(
    "doc", [iam_documents.artifact_access(BUCKET, KEY), iam_documents.deny_insecure_transport(BUCKET)]
)
def test_documents_are_valid_policy_json(doc):
    assert doc["Version"] == "2012-10-17" and doc["Statement"]
