"""Object storage: buckets are private, encrypted with KMS, TLS-only, versioned, and never thrown away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from policies.rules import Rule, Subject, as_list, depending_on, json_document, of_type, resource_rule, stack_rule

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
GCS_BUCKETS = ("gcp:storage/bucket:Bucket",)
STATEFUL = (
    *BUCKETS,
    *GCS_BUCKETS,
    "aws:kms/key:Key",
    "gcp:kms/cryptoKey:CryptoKey",
    "aws:rds/instance:Instance",
    "gcp:sql/databaseInstance:DatabaseInstance",
)
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
# Everything that takes a canned ACL or ACL grants: buckets, their ACL resources, and objects.
ACL_HOLDERS = (
    *BUCKETS,
    "aws:s3/bucketAcl:BucketAcl",
    "aws:s3/bucketAclV2:BucketAclV2",
    "aws:s3/bucketObject:BucketObject",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/objectCopy:ObjectCopy",
)
PUBLIC_CANNED_ACLS = {
    "public-read": "anyone can read",
    "public-read-write": "anyone can read and write",
    "authenticated-read": "any AWS account can read",
}
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers (anyone)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers (any AWS account)",
}

PROTECTED_ENVIRONMENT = {
    "protectedEnvironment": {
        "type": "boolean",
        "default": False,
        "description": "This stack holds data that must survive: set true for production stacks.",
    }
}


def _per_bucket(subjects: list[Subject], companion_types, judge) -> Iterable[tuple[Subject, str]]:
    """For each bucket, judge the companion resources (its policy, encryption, ...) that depend on it."""
    for bucket in of_type(subjects, BUCKETS):
        message = judge(depending_on(subjects, bucket, companion_types))
        if message:
            yield bucket, message


def _public_access_block(companions: list[Subject]) -> str | None:
    if not companions:
        return "the bucket has no public access block"
    missing = [f for f in PUBLIC_ACCESS_FLAGS if not any(c.get(f) is True for c in companions)]
    return f"the public access block leaves {', '.join(missing)} off" if missing else None


def _encryption(companions: list[Subject]) -> str | None:
    for config in companions:
        for rule in as_list(config.get("rules")):
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            if default.get("sseAlgorithm", "").startswith("aws:kms") and default.get("kmsMasterKeyId"):
                return None
    return "the bucket is not encrypted by default with SSE-KMS and a customer key (kmsMasterKeyId)"


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition", {}).get("Bool", {})
    return statement.get("Effect") == "Deny" and str(condition.get("aws:SecureTransport")).lower() == "false"


def _tls_only(companions: list[Subject]) -> str | None:
    for policy in companions:
        if any(_denies_insecure_transport(s) for s in as_list(json_document(policy.get("policy")).get("Statement"))):
            return None
    return "no bucket policy denies requests without TLS (aws:SecureTransport = false)"


def _versioning(companions: list[Subject]) -> str | None:
    if any(c.get("versioningConfiguration", "status") == "Enabled" for c in companions):
        return None
    return "versioning is not enabled"


def _lifecycle(companions: list[Subject]) -> str | None:
    for config in companions:
        for rule in as_list(config.get("rules")):
            if rule.get("status") == "Enabled" and rule.get("abortIncompleteMultipartUpload"):
                return None
    return "no enabled lifecycle rule aborts incomplete multipart uploads"


def _ownership(companions: list[Subject]) -> str | None:
    if any(c.get("rule", "objectOwnership") == "BucketOwnerEnforced" for c in companions):
        return None
    return "object ownership is not BucketOwnerEnforced (ACLs still apply)"


def _bucket_rule(
    name: str, description: str, severity: Severity, remediation: str, companions, judge, controls: tuple[str, ...]
):
    return stack_rule(
        name=name,
        area="s3",
        description=description,
        severity=severity,
        remediation=remediation,
        types=BUCKETS,
        reads=companions,
        check=lambda subjects, _config: _per_bucket(subjects, companions, judge),
        controls=controls,
    )


def _public_principal(subject: Subject, _config) -> Iterable[str]:
    for statement in as_list(json_document(subject.get("policy")).get("Statement")):
        principal = statement.get("Principal")
        public = principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS")))
        if statement.get("Effect") == "Allow" and public:
            yield f"statement {statement.get('Sid', '(no Sid)')} allows any principal ('*')"


def _public_acl(subject: Subject, _config) -> Iterable[str]:
    acl = subject.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield f"the canned ACL {acl} means {PUBLIC_CANNED_ACLS[acl]}"
    # Bucket and ObjectCopy grants carry the grantee inline; BucketAcl nests it in accessControlPolicy.
    for grant in [*as_list(subject.get("grants")), *as_list(subject.get("accessControlPolicy", "grants"))]:
        grantee = grant.get("grantee") or grant
        uri = str(grantee.get("uri", "")).replace("https://", "http://")
        if uri in PUBLIC_GRANTEES:
            permissions = as_list(grant.get("permissions")) or as_list(grant.get("permission"))
            yield f"an ACL grant gives {', '.join(map(str, permissions)) or 'access'} to {PUBLIC_GRANTEES[uri]}"


def _force_destroy(subject: Subject, config) -> Iterable[str]:
    if config["protectedEnvironment"] and subject.get("forceDestroy") is True:
        yield "forceDestroy would delete every object with the bucket"


def _protected(subject: Subject, config) -> Iterable[str]:
    if config["protectedEnvironment"] and not subject.protect:
        yield f"{subject.type.rsplit(':', 1)[-1]} holds data but is not protected (protect=True)"


POLICIES: list[Rule] = [
    _bucket_rule(
        "s3-public-access-block",
        "Every bucket blocks public ACLs and policies with all four public access flags.",
        Severity.CRITICAL,
        "Add an aws.s3.BucketPublicAccessBlock for the bucket with all four flags set to true.",
        PUBLIC_ACCESS_BLOCK,
        _public_access_block,
        ("AWS FSBP S3.8", "CIS AWS Foundations 2.1.4"),
    ),
    resource_rule(
        name="s3-no-public-principal",
        area="s3",
        severity=Severity.CRITICAL,
        types=BUCKET_POLICY,
        description="Bucket policies grant nothing to the public principal '*'.",
        controls=("AWS FSBP S3.2", "AWS FSBP S3.3"),
        remediation="Name the accounts or roles that need access instead of '*', or make the statement a Deny.",
        check=_public_principal,
    ),
    _bucket_rule(
        "s3-sse-kms",
        "Every bucket is encrypted by default with SSE-KMS under a customer-managed key.",
        Severity.HIGH,
        "Add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and the key's ARN.",
        ENCRYPTION,
        _encryption,
        ("AWS Security Hub S3.17",),
    ),
    _bucket_rule(
        "s3-tls-only",
        "Every bucket has a policy that denies requests made without TLS.",
        Severity.HIGH,
        "Add a Deny statement for s3:* on the bucket and its objects when aws:SecureTransport is false.",
        BUCKET_POLICY,
        _tls_only,
        ("AWS FSBP S3.5", "CIS AWS Foundations 2.1.1"),
    ),
    _bucket_rule(
        "s3-versioning",
        "Every bucket keeps object versions, so an overwrite or delete can be undone.",
        Severity.MEDIUM,
        "Add a BucketVersioning with status Enabled.",
        VERSIONING,
        _versioning,
        ("AWS Security Hub S3.14",),
    ),
    _bucket_rule(
        "s3-abort-incomplete-uploads",
        "Every bucket aborts incomplete multipart uploads, which cost money unseen.",
        Severity.LOW,
        "Add a lifecycle rule with abortIncompleteMultipartUpload (for example after 7 days).",
        LIFECYCLE,
        _lifecycle,
        ("AWS FSBP S3.13",),
    ),
    _bucket_rule(
        "s3-ownership-enforced",
        "Every bucket enforces bucket-owner object ownership, disabling ACLs.",
        Severity.MEDIUM,
        "Add BucketOwnershipControls with objectOwnership BucketOwnerEnforced.",
        OWNERSHIP,
        _ownership,
        ("AWS FSBP S3.12",),
    ),
    resource_rule(
        name="s3-no-force-destroy",
        area="s3",
        severity=Severity.HIGH,
        types=(*BUCKETS, *GCS_BUCKETS),
        config=PROTECTED_ENVIRONMENT,
        description="Buckets of protected environments cannot be deleted together with their objects.",
        controls=("CIS AWS Foundations 2.1.2",),
        remediation="Set forceDestroy to false; empty a bucket deliberately, with a runbook, before removing it.",
        check=_force_destroy,
    ),
    resource_rule(
        name="stateful-resources-protected",
        area="s3",
        severity=Severity.HIGH,
        types=STATEFUL,
        config=PROTECTED_ENVIRONMENT,
        description="Buckets, KMS keys and databases of protected environments are protected from deletion.",
        controls=("AWS FSBP KMS.3",),
        remediation="Create the resource with ResourceOptions(protect=True, retain_on_delete=True).",
        check=_protected,
    ),
    resource_rule(
        name="s3-no-public-acl",
        area="s3",
        severity=Severity.CRITICAL,
        types=ACL_HOLDERS,
        description="No bucket or object ACL grants access to everyone or to every AWS account.",
        remediation="Drop the ACL (BucketOwnerEnforced ownership disables ACLs) and grant access with a bucket "
        "policy naming the principals.",
        check=_public_acl,
        controls=("AWS FSBP S3.2", "AWS FSBP S3.3", "AWS FSBP S3.12"),
    ),
]
