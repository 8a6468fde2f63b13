"""Team identity: on EKS each declared team role gets an access entry into the team's group and nothing
cluster-wide; bad role or group declarations are refused with their key paths; the pack refuses a team
access entry that reaches beyond the team's namespace."""

from __future__ import annotations

import pytest

from rayplat.plan.engine import read_stack_config
from tests.conftest import config_problems, get_key, planned, set_key
from tests.policy_support import baseline, changed, check, outcome

ENTRY = "aws:eks/accessEntry:AccessEntry"
ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
RULE = "eks-team-access-namespace-scoped"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_declared_team_role_has_an_access_entry_into_its_group_only(stack):
    plan = planned(stack)
    teams = get_key(read_stack_config(stack), "teams")
    declared = {arn: t["members"]["group"] for t in teams for arn in t.get("aws", {}).get("roleArns", [])}
    assert declared, "the stack declares team roles"
    entries = {e.inputs["principalArn"]: e for e in plan.of_type(ENTRY)}
    for arn, group in declared.items():
        entry = entries[arn]
        assert entry.inputs["kubernetesGroups"] == [group]
        assert entry.inputs["type"] == "STANDARD"
    associated = {a.inputs["principalArn"] for a in plan.of_type(ASSOCIATION)}
    assert associated.isdisjoint(declared), "a team role holds an EKS access policy"
    # The platform's own entries (admin, deploy) keep their cluster-admin association and map no group.
    platform = set(entries) - set(declared)
    assert platform and platform <= associated
    assert all(not entries[arn].inputs.get("kubernetesGroups") for arn in platform)


def test_team_entries_are_named_by_team_and_role():
    names = {e.name for e in planned("prod").of_type(ENTRY)}
    assert {"prod-team-nlp-ml-nlp-ci", "prod-team-vision-AWSReservedSSO_MLVision_8c41d2e09a7f3b15"} <= names


def _problems(stack: str, mutate) -> list[str]:
    config = read_stack_config(stack)
    return config_problems(set_key(config, "teams", mutate(get_key(config, "teams"))))


def _with_roles(*arns):
    return lambda teams: [{**teams[0], "aws": {"roleArns": list(arns)}}, *teams[1:]]


BAD_IDENTITIES = {
    "not a role": (
        "dev",
        _with_roles("arn:aws:iam::123456789012:user/alice"),
        "teams[0].aws.roleArns[0]: 'arn:aws:iam::123456789012:user/alice' is not an IAM role ARN",
    ),
    "another account": (
        "dev",
        _with_roles("arn:aws:iam::999999999999:role/ml-vision"),
        "teams[0].aws.roleArns[0]: 'arn:aws:iam::999999999999:role/ml-vision' is not in the stack's account "
        "123456789012",
    ),
    "the admin role": (
        "dev",
        _with_roles("arn:aws:iam::123456789012:role/platform-admin"),
        "teams[0].aws.roleArns[0]: is cluster.adminRoleArn",
    ),
    "shared between teams": (
        "dev",
        lambda t: [t[0], {**t[1], "aws": t[0]["aws"]}],
        "teams[1].aws.roleArns[0]: is already a role of team 'vision'",
    ),
    "no roles": ("dev", _with_roles(), "teams[0].aws.roleArns: list should have at least 1 item"),
    "a system group": (
        "dev",
        lambda t: [{**t[0], "members": {"group": "system:masters"}}, *t[1:]],
        "teams[0].members.group: 'system:masters' is a Kubernetes system group",
    ),
    "roles on GCP": (
        "gcp-dev",
        _with_roles("arn:aws:iam::123456789012:role/ml-vision"),
        "teams[0].aws: does not apply when cloud is 'gcp'",
    ),
    "not a group email on GCP": (
        "gcp-dev",
        lambda t: [{**t[0], "members": {"group": "ml-vision"}}, *t[1:]],
        "teams[0].members.group: 'ml-vision' is not a Google group email",
    ),
}


@pytest.mark.parametrize("case", BAD_IDENTITIES, ids=list(BAD_IDENTITIES))
def test_bad_team_identities_are_refused_with_their_key_path(case):
    stack, mutate, expected = BAD_IDENTITIES[case]
    problems = _problems(stack, mutate)
    assert any(expected in p for p in problems), problems


def test_the_rule_passes_the_shipped_team_entries():
    report = check(baseline("dev"))
    findings = [f for f in report.findings if f.policy == RULE]
    assert {f.resource_name for f in findings} == {
        "dev-team-vision-AWSReservedSSO_MLVision_3f2a9c1e7b5d4a60",
        "dev-team-nlp-ml-nlp-developers",
        "dev-admin",
    }
    assert all(f.status == "passed" for f in findings)


def test_a_team_role_with_a_cluster_scoped_access_policy_is_refused():
    role = "arn:aws:iam::123456789012:role/ml-nlp-developers"
    plan = changed(baseline("dev"), ASSOCIATION, "dev-admin", lambda a: a.inputs.update(principalArn=role))
    finding = outcome(check(plan), RULE, ENTRY, "dev-team-nlp-ml-nlp-developers")
    assert finding.status == "failed"
    assert f"team role {role} (group ml-nlp) also holds AmazonEKSClusterAdminPolicy with access scope cluster" in (
        finding.message
    )


def test_a_namespace_scoped_access_policy_for_a_team_role_passes():
    role = "arn:aws:iam::123456789012:role/ml-nlp-developers"

    def scoped(association):
        association.inputs.update(principalArn=role, accessScope={"type": "namespace", "namespaces": ["team-nlp"]})

    plan = changed(baseline("dev"), ASSOCIATION, "dev-admin", scoped)
    assert outcome(check(plan), RULE, ENTRY, "dev-team-nlp-ml-nlp-developers").status == "passed"


def test_a_team_entry_into_a_system_group_is_refused():
    name = "dev-team-nlp-ml-nlp-developers"
    plan = changed(baseline("dev"), ENTRY, name, lambda e: e.inputs.update(kubernetesGroups=["system:masters"]))
    finding = outcome(check(plan), RULE, ENTRY, name)
    assert finding.status == "failed" and "into the Kubernetes system group system:masters" in finding.message
