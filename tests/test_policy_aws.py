"""The AWS rules added for issue 11: each passes the compliant baseline (a shipped stack plus compliant
examples) and fails when one field changes; a check that cannot read its input reports it instead of raising."""

from __future__ import annotations

import functools
import json

import pytest
from pulumi_policy.proxy import UnknownValueError

from policies.rules import evaluated
from rayplat.check.engine import load_policy_config, policy_config_path
from rayplat.plan import Plan
from tests.conftest import planned
from tests.policy_support import _synthetic, baseline, changed, check, edit_document, find, outcome
from tests.test_policy_rules import (
    _DELETE,
    ATTACHMENT,
    BUCKET,
    CLUSTER,
    GROUP,
    KEY,
    ROLE,
    SUBNET,
    TEMPLATE,
    Case,
    _set,
    _statements,
    _trust,
)

BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ADDON = "aws:eks/addon:Addon"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
PUBLIC_SUBNET = "dev-vpc-public-us-west-2a"
PRIVATE_SUBNET = "dev-vpc-private-us-west-2a"


def aws_examples(stack: str) -> list:
    """Compliant resources of kinds the AWS stacks do not create: a private bucket ACL."""
    return [_synthetic(BUCKET_ACL, f"{stack}-logs-acl", {"bucket": f"{stack}-logs", "acl": "private"}, stack)]


def _baseline(stack: str) -> Plan:
    plan = baseline(stack)
    plan.resources += aws_examples(stack)
    return plan


def _urn(stack: str, type_: str, name: str) -> str:
    return find(planned(stack), type_, name).urn


def _append_statement(statement: dict):
    return _statements(lambda s: s.append(statement))


def _depend_on(type_: str, name: str):
    def change(resource):
        resource.dependencies.append(_urn("dev", type_, name))

    return change


def _update(path: str, **values):
    def change(resource):
        target = resource.inputs
        for key in path.split("."):
            target = target[key]
        target.update(values)

    return change


def _untag_volumes(resource):
    (volumes,) = [s for s in resource.inputs["tagSpecifications"] if s["resourceType"] == "volume"]
    del volumes["tags"]["team"]


AWS_CASES = [
    Case(
        "eks-team-access-namespace-scoped",
        "aws:eks/accessEntry:AccessEntry",
        "dev-team-nlp-ml-nlp-developers",
        _set("principalArn", "arn:aws:iam::123456789012:role/ml-nlp-developers"),
        "also holds AmazonEKSClusterAdminPolicy with access scope cluster",
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "dev-admin",
    ),
    Case("s3-no-public-acl", BUCKET_ACL, "dev-logs-acl", _set("acl", "public-read"), "the canned ACL public-read"),
    Case(
        "s3-no-public-acl",
        BUCKET,
        "dev-artifacts",
        _set("grants", [{"type": "Group", "uri": ALL_USERS, "permissions": ["READ"]}]),
        "an ACL grant gives READ to AllUsers (anyone)",
    ),
    Case(
        "s3-no-public-acl",
        BUCKET_ACL,
        "dev-logs-acl",
        _set(
            "accessControlPolicy",
            {
                "grants": [{"grantee": {"type": "Group", "uri": AUTHENTICATED_USERS}, "permission": "FULL_CONTROL"}],
                "owner": {"id": "0123abcd"},
            },
        ),
        "gives FULL_CONTROL to AuthenticatedUsers (any AWS account)",
    ),
    Case("kms-key-policy-explicit", KEY, "dev-artifacts-key", _set("policy", _DELETE), "the key has no key policy"),
    Case(
        "kms-key-policy-not-public",
        KEY,
        "dev-secrets",
        _append_statement(
            {"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}
        ),
        "key policy statement Open grants to any AWS principal",
    ),
    Case(
        "kms-key-policy-not-public",
        KEY,
        "dev-logs",
        # kms:ViaService alone does not say who: any account's principals can call through S3.
        _append_statement(
            {
                "Sid": "ViaS3",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}},
            }
        ),
        "key policy statement ViaS3 grants to any AWS principal",
    ),
    Case(
        "kms-deletion-window",
        KEY,
        "prod-secrets",
        _set("deletionWindowInDays", 7),
        "a deletion window of 7 days leaves less than 30 days",
        stack="prod",
    ),
    Case(
        "iam-trust-no-public-principal",
        ROLE,
        "dev-cluster",
        _trust(lambda s: s.update(Principal={"AWS": "*"})),
        "trust statement (no Sid) lets any AWS principal assume the role",
    ),
    Case(
        "iam-trust-no-public-principal",
        ROLE,
        "dev-node",
        _trust(lambda s: s.update(Principal="*")),
        "lets any AWS principal assume the role",
    ),
    Case(
        "iam-no-service-full-access",
        ATTACHMENT,
        "dev-platform-ray",
        _set("policyArn", "arn:aws:iam::aws:policy/AmazonS3FullAccess"),
        "attaches AmazonS3FullAccess, which grants a whole service",
    ),
    Case(
        "iam-no-service-full-access",
        ROLE,
        "dev-node",
        _set("managedPolicyArns", ["arn:aws:iam::aws:policy/AmazonEC2FullAccess"]),
        "attaches AmazonEC2FullAccess",
    ),
    Case(
        "eks-private-endpoint-protected",
        CLUSTER,
        "prod",
        _update("vpcConfig", endpointPublicAccess=True, publicAccessCidrs=["203.0.113.0/24"]),
        "the Kubernetes API has a public endpoint (restricted to 1 CIDR(s))",
        stack="prod",
    ),
    Case(
        "eks-no-creator-admin",
        CLUSTER,
        "prod",
        _set("accessConfig.bootstrapClusterCreatorAdminPermissions", True),
        "the identity that created the cluster stays cluster admin",
        stack="prod",
    ),
    Case(
        "eks-no-creator-admin",
        CLUSTER,
        "prod",
        _set("accessConfig.bootstrapClusterCreatorAdminPermissions", _DELETE),
        "stays cluster admin outside any access entry",
        stack="prod",
    ),
    Case(
        "eks-access-entries-only",
        CLUSTER,
        "dev",
        _set("accessConfig.authenticationMode", "API_AND_CONFIG_MAP"),
        "authenticationMode API_AND_CONFIG_MAP lets the aws-auth ConfigMap grant access",
    ),
    Case(
        "eks-access-entries-only",
        CONFIG_MAP,
        "dev-platform-monitoring-dashboard-gpu",
        _update("metadata", name="aws-auth", namespace="kube-system"),
        "the program manages the aws-auth ConfigMap",
    ),
    Case(
        "eks-addon-version-pinned",
        ADDON,
        "dev-addons-coredns",
        _set("addonVersion", _DELETE),
        "add-on coredns has no addonVersion",
    ),
    Case(
        "eks-network-policy-enforced",
        CLUSTER,
        "dev",
        _set("configurationValues", 'enableNetworkPolicy: "false"'),
        "NetworkPolicies, but no vpc-cni add-on of this cluster enforces them",
        ADDON,
        "dev-addons-vpc-cni",
    ),
    Case(
        "nodes-in-private-subnets",
        GROUP,
        "dev-a10g",
        _depend_on(SUBNET, PUBLIC_SUBNET),
        f"nodes run in public subnet {PUBLIC_SUBNET}: it is tagged kubernetes.io/role/elb",
    ),
    Case(
        "log-group-retention",
        LOG_GROUP,
        "dev-control-plane",
        _set("retentionInDays", 7),
        "logs are kept 7 days, less than the 30 this environment requires",
    ),
    Case(
        "log-group-retention",
        LOG_GROUP,
        "prod-control-plane",
        _set("retentionInDays", 90),
        "less than the 365 this environment requires",
        stack="prod",
    ),
    Case("log-group-retention", LOG_GROUP, "dev-control-plane", _set("retentionInDays", _DELETE), "no retention"),
    Case("log-group-encrypted", LOG_GROUP, "dev-control-plane", _set("kmsKeyId", _DELETE), "not encrypted"),
    Case(
        "aws-launch-template-tags",
        TEMPLATE,
        "dev-a10g",
        _untag_volumes,
        "volumes launched from the template lack cost tags team",
    ),
]


@functools.cache
def _baseline_report(stack: str):
    return check(_baseline(stack))


def _config(stack: str) -> dict:
    return load_policy_config(policy_config_path(stack))


@pytest.mark.parametrize("case", AWS_CASES, ids=[f"{c.policy}-{c.name}" for c in AWS_CASES])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    before = outcome(_baseline_report(case.stack), case.policy, case.type, case.name)
    assert before.status == "passed", before
    target_type, target_name = case.changed_type or case.type, case.changed_name or case.name
    after = outcome(
        check(changed(_baseline(case.stack), target_type, target_name, case.change), _config(case.stack)),
        case.policy,
        case.type,
        case.name,
    )
    assert after.status == "failed", after
    assert case.expected in after.message


def _check_dev(*changes) -> object:
    plan = _baseline("dev")
    for type_, name, change in changes:
        plan = changed(plan, type_, name, change)
    return check(plan, _config("dev"))


def test_a_subnet_routed_to_an_internet_gateway_is_public_without_any_tag():
    def untag(subnet):
        del subnet.inputs["tags"]["kubernetes.io/role/elb"]

    report = _check_dev((SUBNET, PUBLIC_SUBNET, untag), (GROUP, "dev-a10g", _depend_on(SUBNET, PUBLIC_SUBNET)))
    finding = outcome(report, "nodes-in-private-subnets", GROUP, "dev-a10g")
    assert finding.status == "failed" and "its route table sends 0.0.0.0/0 to an internet gateway" in finding.message


def test_a_node_subnet_that_assigns_public_ips_is_public():
    report = _check_dev((SUBNET, PRIVATE_SUBNET, _set("mapPublicIpOnLaunch", True)))
    failed = [
        f for f in report.findings if f.policy == "nodes-in-private-subnets" and f.status == "failed"
    ]  # every node group spans the zone's private subnet
    assert {f.resource_name for f in failed} == {"dev-system", "dev-a10g", "dev-l4"}
    assert all(f"{PRIVATE_SUBNET}: it assigns public IPs" in f.message for f in failed)


def test_a_key_policy_given_by_its_own_resource_counts_as_explicit():
    def separate_policy(key):
        key.inputs.pop("policy")

    plan = changed(_baseline("dev"), KEY, "dev-artifacts-key", separate_policy)
    key = find(plan, KEY, "dev-artifacts-key")
    policy = _synthetic(KEY_POLICY, "dev-artifacts-key-policy", {"keyId": "k", "policy": json.dumps({"Statement": []})})
    policy.dependencies = [key.urn]
    plan.resources.append(policy)
    assert outcome(check(plan, _config("dev")), "kms-key-policy-explicit", KEY, "dev-artifacts-key").status == "passed"


@pytest.mark.parametrize(
    ("condition", "public"),
    [
        ({"StringEquals": {"kms:CallerAccount": "123456789012"}}, False),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}, False),
        ({"StringLike": {"aws:PrincipalAccount": "*"}}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "123456789012"}}, True),
        ({"StringNotEquals": {"aws:PrincipalAccount": "999999999999"}}, True),
    ],
)
def test_only_a_condition_that_names_the_caller_makes_a_star_principal_private(condition, public):
    statement = {"Sid": "Star", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}
    change = _append_statement({**statement, "Condition": condition})
    report = check(changed(_baseline("dev"), KEY, "dev-secrets", change), _config("dev"))
    assert outcome(report, "kms-key-policy-not-public", KEY, "dev-secrets").status == ("failed" if public else "passed")


def test_a_resource_rule_reports_an_input_it_cannot_read_instead_of_raising():
    malformed = edit_document("policy", lambda doc: doc.update(Statement=["not a statement"]))
    report = check(changed(_baseline("dev"), KEY, "dev-secrets", malformed), _config("dev"))
    finding = outcome(report, "kms-key-policy-not-public", KEY, "dev-secrets")
    assert finding.status == "failed"
    assert finding.message.startswith("could not evaluate: AttributeError")


def test_a_stack_rule_reports_an_input_it_cannot_read_on_each_resource_it_judges():
    report = _check_dev((SUBNET, PUBLIC_SUBNET, _set("tags", ["not", "a", "mapping"])))
    findings = [f for f in report.findings if f.policy == "nodes-in-private-subnets"]
    assert {f.resource_name for f in findings} == {"dev-system", "dev-a10g", "dev-l4"}
    assert all(f.status == "failed" and f.message.startswith("could not evaluate:") for f in findings)


def test_a_value_unknown_during_preview_is_left_to_the_engine():
    def unknown() -> list[str]:
        raise UnknownValueError("04da6b54-80e4-46f7-96ec-b56ff0331ba9", ["policy"])

    with pytest.raises(UnknownValueError):
        evaluated(unknown)
