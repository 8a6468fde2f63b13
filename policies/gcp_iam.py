"""GCP IAM grants: nothing to the public, no admin roles for service accounts, and nobody acting as a
service account except Kubernetes service accounts through Workload Identity."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from policies.rules import Rule, Subject, plain, resource_rule


def _tokens(module: str, prefix: str, resource: str) -> tuple[str, ...]:
    return tuple(f"gcp:{module}/{prefix}{kind}:{resource}{kind}" for kind in ("Member", "Binding", "Policy"))


BUCKET_IAM = _tokens("storage", "bucketIAM", "BucketIAM")
SERVICE_ACCOUNT_IAM = _tokens("serviceaccount", "iAM", "IAM")
PROJECT_IAM = _tokens("projects", "iAM", "IAM")
KMS_IAM = (*_tokens("kms", "cryptoKeyIAM", "CryptoKeyIAM"), *_tokens("kms", "keyRingIAM", "KeyRingIAM"))
ALL_IAM = (*BUCKET_IAM, *SERVICE_ACCOUNT_IAM, *PROJECT_IAM, *KMS_IAM)

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers", "principalSet://goog/public:all")
# Roles that let their holder act as a service account: mint its tokens, run things as it, or make keys.
IMPERSONATION_ROLES = (
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountOpenIdTokenCreator",
    "roles/iam.serviceAccountUser",
    "roles/iam.serviceAccountKeyAdmin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.workloadIdentityUser",
)
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
# A Kubernetes service account of a GKE workload pool, in the legacy and the principal:// member syntax.
WORKLOAD_IDENTITY_MEMBER = re.compile(
    r"^(serviceAccount:[a-z][-a-z0-9]{4,28}[a-z0-9]\.svc\.id\.goog\[[-a-z0-9.]+/[-a-z0-9.]+\]"
    r"|principal://iam\.googleapis\.com/projects/\d+/locations/global/workloadIdentityPools/"
    r"[a-z][-a-z0-9]{4,28}[a-z0-9]\.svc\.id\.goog/subject/ns/[-a-z0-9.]+/sa/[-a-z0-9.]+)$"
)
PRIMITIVE_ADMIN_ROLES = ("roles/owner", "roles/editor")


class UnreadableGrant(ValueError):
    """An IAM resource whose role, members or policy document is not of the provider's shape."""


def grants(subject: Subject) -> list[tuple[str, str]]:
    """The (role, member) pairs an IAM member, binding or policy resource grants."""
    if subject.type.endswith("Policy"):
        return _policy_grants(plain(subject.get("policyData")))
    role = subject.get("role")
    members = plain(subject.get("members")) if subject.type.endswith("Binding") else [subject.get("member")]
    return _pairs(role, members)


def _policy_grants(data: Any) -> list[tuple[str, str]]:
    if data is None:
        return []
    try:
        document = json.loads(data) if isinstance(data, str) else data
    except json.JSONDecodeError as exc:
        raise UnreadableGrant(f"policyData is not JSON ({exc.msg})") from exc
    bindings = document.get("bindings", []) if isinstance(document, dict) else None
    if not isinstance(bindings, list) or not all(isinstance(b, dict) for b in bindings):
        raise UnreadableGrant("policyData has no list of bindings")
    return [pair for binding in bindings for pair in _pairs(binding.get("role"), binding.get("members"))]


def _pairs(role: Any, members: Any) -> list[tuple[str, str]]:
    if not isinstance(role, str):
        raise UnreadableGrant(f"role {role!r} is not a role name")
    if not isinstance(members, list):
        raise UnreadableGrant(f"members {members!r} are not a list of members")
    if not all(isinstance(m, str) for m in members):
        raise UnreadableGrant(f"members {list(members)!r} are not all member names")
    return [(role, member) for member in members]


def _judged(judge):
    """A check over the resource's grants, reporting a resource it cannot read rather than raising."""

    def check(subject: Subject, config) -> Iterable[str]:
        try:
            found = grants(subject)
        except UnreadableGrant as exc:
            yield f"cannot judge the grant: {exc}"
            return
        yield from judge(subject, found)

    return check


def _public(subject: Subject, found: list[tuple[str, str]]) -> Iterable[str]:
    for role, member in found:
        if member in PUBLIC_MEMBERS:
            yield f"grants {role} to {member}: anyone on the internet"


def _impersonation(subject: Subject, found: list[tuple[str, str]]) -> Iterable[str]:
    for role, member in found:
        if role not in IMPERSONATION_ROLES:
            continue
        if subject.type in PROJECT_IAM:
            yield f"grants {role} to {member} on the whole project: it can act as every service account"
        elif not (role == WORKLOAD_IDENTITY_USER and WORKLOAD_IDENTITY_MEMBER.match(member)):
            yield (
                f"grants {role} to {member}: only a Kubernetes service account of the workload pool "
                "(roles/iam.workloadIdentityUser) may act as a service account"
            )


def _service_account_admin(subject: Subject, found: list[tuple[str, str]]) -> Iterable[str]:
    for role, member in found:
        admin = role in PRIMITIVE_ADMIN_ROLES or role.lower().endswith("admin")
        if member.startswith("serviceAccount:") and admin:
            yield f"grants the admin role {role} on the project to the service account {member.split(':', 1)[1]}"


POLICIES: list[Rule] = [
    resource_rule(
        name="gcp-iam-no-public-members",
        area="gcp",
        severity=Severity.CRITICAL,
        types=ALL_IAM,
        check=_judged(_public),
        description="No IAM grant on a bucket, key, service account or project names allUsers or "
        "allAuthenticatedUsers.",
        remediation="Grant the role to the service accounts or groups that need it; never to the public.",
        controls=("CIS GCP 5.1", "CIS GCP 1.9"),
    ),
    resource_rule(
        name="gcp-sa-impersonation-scoped",
        area="gcp",
        severity=Severity.HIGH,
        types=(*SERVICE_ACCOUNT_IAM, *PROJECT_IAM),
        check=_judged(_impersonation),
        description="Nobody may act as a service account (token creator, user, key admin, ...) except a "
        "Kubernetes service account through Workload Identity, and never project-wide.",
        remediation="Bind roles/iam.workloadIdentityUser on the one service account to "
        "serviceAccount:<project>.svc.id.goog[<namespace>/<service account>]; drop other grants.",
        controls=("CIS GCP 1.6", "CIS GCP 1.8"),
    ),
    resource_rule(
        name="gcp-sa-no-admin-roles",
        area="gcp",
        severity=Severity.HIGH,
        types=PROJECT_IAM,
        check=_judged(_service_account_admin),
        description="No service account holds an admin, owner or editor role on the project.",
        remediation="Grant the service account the narrow predefined roles its work needs (as the node "
        "service account's logging, monitoring and registry-read roles).",
        controls=("CIS GCP 1.5",),
    ),
]
