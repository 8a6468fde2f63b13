"""The diff's stateful and IAM flags on GCP, as on AWS."""

from __future__ import annotations

import copy

from rayplat.diff.engine import diff_plans
from rayplat.diff.report import to_markdown
from tests.conftest import planned

STATEFUL_GCP = ("gcp:storage/bucket:Bucket", "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing")


def test_deleting_the_protected_gcs_bucket_and_the_kms_key_and_ring_is_blocked():
    head = copy.deepcopy(planned("gcp-prod"))
    head.resources = [r for r in head.resources if r.type not in STATEFUL_GCP]
    diff = diff_plans(planned("gcp-prod"), head)
    assert {c.type for c in diff.stateful_losses} == set(STATEFUL_GCP)
    assert {c.type for c in diff.blocked} == set(STATEFUL_GCP)
    markdown = to_markdown(diff)
    for resource_type in STATEFUL_GCP:
        assert f"**Blocked**: `{resource_type}`" in markdown


def test_a_broader_gcp_role_or_member_is_iam_widened():
    base = planned("gcp-prod")
    head = copy.deepcopy(base)
    members = head.of_type("gcp:projects/iAMMember:IAMMember")
    assert members
    members[0].inputs["role"] = "roles/owner"
    bucket_members = head.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert bucket_members
    bucket_members[0].inputs["member"] = "allUsers"
    diff = diff_plans(base, head)
    widened = {c.name: c for c in diff.widened_iam}
    assert {members[0].name, bucket_members[0].name} <= set(widened)
    assert [g.action for g in widened[members[0].name].added] == ["roles/owner"]
    assert [g.principal for g in widened[bucket_members[0].name].added] == ["allUsers"]
    markdown = to_markdown(diff)
    assert f"**IAM widened**: `{members[0].name}` now allows roles/owner on " in markdown
    assert f"**IAM widened**: `{bucket_members[0].name}` now allows" in markdown and "to allUsers" in markdown
    assert not diff_plans(base, copy.deepcopy(base)).iam


def test_deleting_an_unprotected_gcs_bucket_is_a_stateful_loss():
    head = copy.deepcopy(planned("gcp-dev"))
    head.resources = [r for r in head.resources if r.type != "gcp:storage/bucket:Bucket"]
    diff = diff_plans(planned("gcp-dev"), head)
    assert [c.type for c in diff.stateful_losses] == ["gcp:storage/bucket:Bucket"]
    assert "**Stateful delete**: `gcp:storage/bucket:Bucket`" in to_markdown(diff)
