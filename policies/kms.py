"""KMS keys: an explicit key policy on every key, none open to any principal, and time to undo a deletion."""

from __future__ import annotations

from collections.abc import Iterable

from pulumi_policy import Severity

from policies.iam import public_statements
from policies.rules import Rule, Subject, depending_on, json_document, of_type, resource_rule, stack_rule, whole
from policies.s3 import PROTECTED_ENVIRONMENT

KMS_KEY = ("aws:kms/key:Key",)
KEY_POLICY = ("aws:kms/keyPolicy:KeyPolicy",)
# KMS's own default when deletionWindowInDays is not set.
DEFAULT_DELETION_WINDOW_DAYS = 30


def _explicit_policy(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    for key in of_type(subjects, KMS_KEY):
        if not json_document(key.get("policy")) and not depending_on(subjects, key, KEY_POLICY):
            yield (
                key,
                "the key has no key policy: KMS applies its default, which lets any IAM policy of the account "
                "grant every use of the key",
            )


def _not_public(subject: Subject, _config) -> Iterable[str]:
    for sid in public_statements(json_document(subject.get("policy"))):
        yield f"key policy statement {sid} grants to any AWS principal ('*') without a condition naming who"


def _deletion_window(subject: Subject, config) -> Iterable[str]:
    days = whole(subject.get("deletionWindowInDays", default=DEFAULT_DELETION_WINDOW_DAYS))
    if config["protectedEnvironment"] and days < config["minDeletionWindowDays"]:
        yield (
            f"a deletion window of {days} days leaves less than {config['minDeletionWindowDays']} days to cancel "
            "a mistaken deletion; what the key encrypts is lost with it"
        )


POLICIES: list[Rule] = [
    stack_rule(
        name="kms-key-policy-explicit",
        area="iam",
        severity=Severity.HIGH,
        types=KMS_KEY,
        reads=KEY_POLICY,
        check=_explicit_policy,
        description="Every KMS key has an explicit key policy that names its administrators and users.",
        remediation="Set the key's policy from components/aws/iam_documents.py (key administration for the admin "
        "role and the account root, use by the one service or role that needs it).",
        controls=("AWS KMS Developer Guide: Default key policy", "AWS KMS Developer Guide: RBAC for AWS KMS"),
    ),
    resource_rule(
        name="kms-key-policy-not-public",
        area="iam",
        severity=Severity.CRITICAL,
        types=(*KMS_KEY, *KEY_POLICY),
        check=_not_public,
        description="No key policy grants any action to any AWS principal without a condition naming who.",
        remediation="Name the account root, role or service principal instead of '*', or pin kms:CallerAccount / "
        "aws:PrincipalAccount / aws:SourceArn with StringEquals.",
        controls=("AWS FSBP KMS.5",),
    ),
    resource_rule(
        name="kms-deletion-window",
        area="s3",
        severity=Severity.HIGH,
        types=KMS_KEY,
        check=_deletion_window,
        config={
            **PROTECTED_ENVIRONMENT,
            "minDeletionWindowDays": {"type": "integer", "minimum": 7, "maximum": 30, "default": 30},
        },
        description="Keys of protected environments wait the longest deletion window, so a deletion can be undone.",
        remediation="Set deletionWindowInDays to 30 (or leave it unset: KMS's default is 30).",
        controls=("AWS FSBP KMS.3",),
    ),
]
