"""IAM: no wildcards where they matter, no admin grants, IRSA trust bound to one service account, parliament."""

from __future__ import annotations

import json
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
        remediation="List the actions the workload calls; the artifact policy in components/aws is an example.",
    ),
    resource_rule(
        name="iam-no-star-resource-on-data",
        area="iam",
        severity=Severity.HIGH,
        types=ALL_DOCUMENTS,
        check=_no_star_resource_on_data,
        description="Actions that read or write data are granted on named resources, never on '*'.",
        remediation="Scope the statement to the bucket, object prefix, key or secret ARNs it needs.",
    ),
    resource_rule(
        name="iam-no-admin",
        area="iam",
        severity=Severity.CRITICAL,
        types=(*ATTACHMENTS, *ROLE, *IDENTITY_DOCUMENTS),
        check=_no_admin,
        description="No role or policy grants administrator, power-user or full IAM access.",
        remediation="Replace the managed admin policy with a least-privilege policy for the workload.",
    ),
    resource_rule(
        name="iam-irsa-trust-scoped",
        area="iam",
        severity=Severity.CRITICAL,
        types=ROLE,
        check=_irsa_trust,
        description="A role trusted by web identity is bound to one service account by its 'sub' and 'aud' claims.",
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
        remediation="Fix what parliament reports (unknown actions, conditions that do not apply, malformed "
        "statements), or ignore a reviewed finding code in the policy config.",
    ),
]
