"""IAM: no wildcards where they matter, no admin or whole-service grants, no trust in anyone, IRSA trust
bound to one service account, parliament."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from parliament import analyze_policy_string
from pulumi_policy import Severity

from policies.rules import Rule, Subject, as_list, json_document, resource_rule

POLICY_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}
RESOURCE_POLICIES = {"aws:s3/bucketPolicy:BucketPolicy": "policy"}
ROLE = ("aws:iam/role:Role",)
ATTACHMENTS = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/policyAttachment:PolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
ADMIN_POLICIES = ("AdministratorAccess", "IAMFullAccess", "PowerUserAccess")
# AWS managed policies that grant a whole service: AmazonS3FullAccess, AmazonEC2FullAccess, AWSLambda_FullAccess...
_AWS_MANAGED_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(?:.+/)?(?P<name>[^/]+)$")
# Condition keys that pin who may act to named accounts, organizations, principals or sources.
RESTRICTING_CONDITION_KEYS = frozenset(
    k.lower()
    for k in (
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:userid",
        "kms:CallerAccount",
    )
)
# Actions that read or change data: never on every resource.
DATA_ACTION_PREFIXES = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:ListBucket",
    "s3:*",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:ReEncrypt",
    "kms:*",
    "secretsmanager:GetSecretValue",
    "ssm:GetParameter",
    "dynamodb:GetItem",
    "dynamodb:Query",
    "dynamodb:Scan",
)


def _document(subject: Subject) -> dict[str, Any]:
    key = POLICY_DOCUMENTS.get(subject.type) or RESOURCE_POLICIES.get(subject.type)
    return json_document(subject.get(key)) if key else {}


def _statements(subject: Subject) -> list[Mapping[str, Any]]:
    return [s for s in as_list(_document(subject).get("Statement")) if isinstance(s, Mapping)]


def _allows(subject: Subject) -> Iterable[tuple[str, list[str], list[str]]]:
    for statement in _statements(subject):
        if statement.get("Effect") == "Allow":
            yield statement.get("Sid", "(no Sid)"), as_list(statement.get("Action")), as_list(statement.get("Resource"))


def _no_star_action(subject: Subject, _config) -> Iterable[str]:
    for sid, actions, _resources in _allows(subject):
        for action in actions:
            if action == "*" or action.endswith(":*"):
                yield f"statement {sid} allows every action of {'every service' if action == '*' else action}"


def _no_star_resource_on_data(subject: Subject, _config) -> Iterable[str]:
    for sid, actions, resources in _allows(subject):
        if "*" in resources:
            data = [a for a in actions if a == "*" or a.startswith(DATA_ACTION_PREFIXES)]
            if data:
                yield f"statement {sid} allows {', '.join(data)} on every resource"


def _no_admin(subject: Subject, _config) -> Iterable[str]:
    if subject.type in ATTACHMENTS:
        arn = str(subject.get("policyArn", default=""))
        if arn.rsplit("/", 1)[-1] in ADMIN_POLICIES:
            yield f"attaches {arn.rsplit('/', 1)[-1]}"
        return
    for arn in as_list(subject.get("managedPolicyArns")):
        if str(arn).rsplit("/", 1)[-1] in ADMIN_POLICIES:
            yield f"attaches {arn.rsplit('/', 1)[-1]}"
    for sid, actions, resources in _allows(subject):
        if "*" in resources and any(a in ("*", "iam:*") for a in actions):
            yield f"statement {sid} grants administrator or full IAM access"


def _irsa_trust(subject: Subject, _config) -> Iterable[str]:
    document = json_document(subject.get("assumeRolePolicy"))
    for statement in as_list(document.get("Statement")):
        if "sts:AssumeRoleWithWebIdentity" not in as_list(statement.get("Action")):
            continue
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        for claim in ("sub", "aud"):
            values = [v for k, v in equals.items() if k.endswith(f":{claim}")]
            if not values:
                yield f"web identity trust does not pin the token's '{claim}' with StringEquals"
            elif any("*" in str(v) for v in as_list(values[0])):
                yield f"web identity trust matches '{claim}' with a wildcard"
        if claim_values := [v for k, v in equals.items() if k.endswith(":sub")]:
            for value in as_list(claim_values[0]):
                if not str(value).startswith("system:serviceaccount:"):
                    yield f"'sub' {value} is not a Kubernetes service account"


def _anyone(principal: Any) -> bool:
    """``"*"``, ``{"AWS": "*"}`` (alone or in a list), or a wildcard account such as ``arn:aws:iam::*:root``."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return any(value == "*" or ":iam::*:" in str(value) for value in as_list(principal.get("AWS")))


def _restricting(condition: Any) -> bool:
    """Whether a condition pins the caller: a restricting key compared for equality with wildcard-free values.
    Negated operators and ...IfExists do not restrict (they pass when the key is absent or different)."""
    if not isinstance(condition, Mapping):
        return False
    for operator, block in condition.items():
        if "Not" in operator or operator.endswith("IfExists") or not isinstance(block, Mapping):
            continue
        for key, values in block.items():
            if key.lower() in RESTRICTING_CONDITION_KEYS and all("*" not in str(v) for v in as_list(values)):
                return True
    return False


def public_statements(document: Mapping[str, Any]) -> list[str]:
    """The Sids of Allow statements that any AWS principal can use: principal ``*`` (or ``NotPrincipal``)
    without a condition that restricts the caller."""
    found = []
    for statement in as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        public = "NotPrincipal" in statement or _anyone(statement.get("Principal"))
        if public and not _restricting(statement.get("Condition")):
            found.append(str(statement.get("Sid", "(no Sid)")))
    return found


def _public_trust(subject: Subject, _config) -> Iterable[str]:
    for sid in public_statements(json_document(subject.get("assumeRolePolicy"))):
        yield f"trust statement {sid} lets any AWS principal assume the role"


def _whole_service(subject: Subject, _config) -> Iterable[str]:
    arns = [subject.get("policyArn")] if subject.type in ATTACHMENTS else as_list(subject.get("managedPolicyArns"))
    for arn in arns:
        match = _AWS_MANAGED_POLICY.match(str(arn))
        if match and "FullAccess" in match["name"] and match["name"] not in ADMIN_POLICIES:
            yield f"attaches {match['name']}, which grants a whole service"


def _parliament(subject: Subject, config) -> Iterable[str]:
    document = _document(subject)
    ignored = set(config["ignoredFindings"])
    for finding in analyze_policy_string(json.dumps(document)).findings:
        if finding.issue not in ignored:
            yield f"parliament {finding.issue}: {finding.detail}"


IDENTITY_DOCUMENTS = tuple(POLICY_DOCUMENTS)
ALL_DOCUMENTS = (*POLICY_DOCUMENTS, *RESOURCE_POLICIES)

POLICIES: list[Rule] = [
    resource_rule(
        name="iam-no-star-action",
        area="iam",
        severity=Severity.HIGH,
        types=ALL_DOCUMENTS,
        check=_no_star_action,
        description="IAM statements name their actions instead of allowing '*' or a whole service.",
        controls=("AWS FSBP IAM.21", "AWS FSBP IAM.1"),
        remediation="List the actions the workload calls; the artifact policy in components/aws is an example.",
    ),
    resource_rule(
        name="iam-no-star-resource-on-data",
        area="iam",
        severity=Severity.HIGH,
        types=ALL_DOCUMENTS,
        check=_no_star_resource_on_data,
        description="Actions that read or write data are granted on named resources, never on '*'.",
        controls=("AWS FSBP KMS.1", "AWS FSBP KMS.2", "EKS BP IAM: Grant least privileged access to applications"),
        remediation="Scope the statement to the bucket, object prefix, key or secret ARNs it needs.",
    ),
    resource_rule(
        name="iam-no-admin",
        area="iam",
        severity=Severity.CRITICAL,
        types=(*ATTACHMENTS, *ROLE, *IDENTITY_DOCUMENTS),
        check=_no_admin,
        description="No role or policy grants administrator, power-user or full IAM access.",
        controls=("AWS FSBP IAM.1", "CIS AWS Foundations 1.15"),
        remediation="Replace the managed admin policy with a least-privilege policy for the workload.",
    ),
    resource_rule(
        name="iam-irsa-trust-scoped",
        area="iam",
        severity=Severity.CRITICAL,
        types=ROLE,
        check=_irsa_trust,
        description="A role trusted by web identity is bound to one service account by its 'sub' and 'aud' claims.",
        controls=(
            "CIS EKS 5.2.1",
            "EKS BP IAM: Scope the IAM Role trust policy for IRSA Roles to the service account name, namespace, "
            "and cluster",
        ),
        remediation="Use StringEquals on <issuer>:sub = system:serviceaccount:<ns>:<sa> and <issuer>:aud = "
        "sts.amazonaws.com.",
    ),
    resource_rule(
        name="iam-parliament",
        area="iam",
        severity=Severity.MEDIUM,
        types=ALL_DOCUMENTS,
        check=_parliament,
        config={
            "ignoredFindings": {
                "type": "array",
                "items": {"type": "string"},
                "default": [],
                "description": "parliament finding codes to ignore (reviewed).",
            }
        },
        description="Every IAM and bucket policy document passes the parliament linter.",
        controls=("IAM Access Analyzer: policy validation",),
        remediation="Fix what parliament reports (unknown actions, conditions that do not apply, malformed "
        "statements), or ignore a reviewed finding code in the policy config.",
    ),
    resource_rule(
        name="iam-trust-no-public-principal",
        area="iam",
        severity=Severity.CRITICAL,
        types=ROLE,
        check=_public_trust,
        description='No role trusts any AWS principal (\'*\' or {"AWS": "*"}) without a condition naming who.',
        remediation="Name the trusted account, role or service in Principal, or pin aws:PrincipalAccount / "
        "aws:PrincipalOrgID / aws:SourceArn with StringEquals.",
        controls=(
            "IAM Access Analyzer: external access to IAM roles",
            "EKS BP IAM: Employ least privileged access to AWS Resources",
        ),
    ),
    resource_rule(
        name="iam-no-service-full-access",
        area="iam",
        severity=Severity.HIGH,
        types=(*ATTACHMENTS, *ROLE),
        check=_whole_service,
        description="No platform role gets an AWS managed *FullAccess policy, which grants a whole service.",
        remediation="Write a least-privilege policy in components/aws/iam_documents.py naming the actions and "
        "resources the workload needs.",
        controls=(
            "EKS BP IAM: Grant least privileged access to applications",
            "EKS BP IAM: Employ least privileged access to AWS Resources",
        ),
    ),
]
