"""Team identity on EKS: a team's IAM roles are mapped into the team's Kubernetes group, whose namespace
RoleBinding says what it may do; no team role holds a cluster-wide access policy or a system group."""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import Severity

from policies.rules import Rule, Subject, as_list, of_type, stack_rule

ACCESS_ENTRY = ("aws:eks/accessEntry:AccessEntry",)
ACCESS_POLICY_ASSOCIATION = ("aws:eks/accessPolicyAssociation:AccessPolicyAssociation",)


def _team_access_scoped(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    associations = of_type(subjects, ACCESS_POLICY_ASSOCIATION)
    for entry in of_type(subjects, ACCESS_ENTRY):
        groups = [g for g in as_list(entry.get("kubernetesGroups")) if isinstance(g, str)]
        if not groups:
            continue
        principal = entry.get("principalArn")
        for group in groups:
            if group.startswith("system:"):
                yield entry, f"maps {principal} into the Kubernetes system group {group}"
        for association in associations:
            scope = association.get("accessScope", "type")
            if association.get("principalArn") == principal and scope != "namespace":
                policy = str(association.get("policyArn", default="?")).rsplit("/", 1)[-1]
                yield (
                    entry,
                    f"team role {principal} (group {', '.join(groups)}) also holds {policy} with access scope "
                    f"{scope or 'unset'}: its access reaches beyond the team's namespace",
                )


POLICIES: list[Rule] = [
    stack_rule(
        name="eks-team-access-namespace-scoped",
        area="eks",
        severity=Severity.HIGH,
        types=ACCESS_ENTRY,
        reads=ACCESS_POLICY_ASSOCIATION,
        check=_team_access_scoped,
        description="An access entry that maps IAM roles into a team's group grants nothing cluster-wide: no "
        "access policy of cluster scope, no system group.",
        remediation="Give the team's role its group only (teams[].aws.roleArns); what the group may do is the "
        "team's namespace RoleBinding. An access policy for it must have accessScope type namespace.",
        controls=(
            "CIS EKS 4.1.1",
            "EKS BP IAM: Employ least privileged access when creating RoleBindings and ClusterRoleBindings",
        ),
    ),
]
