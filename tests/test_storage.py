"""The artifact bucket is hardened completely, and its data survives config changes."""

from __future__ import annotations

import json

from rayplat.plan import run_program
from tests.conftest import PROGRAM, get_key, resource, set_key


def _store(plan, type_):
    return resource(plan, type_)


def test_bucket_blocks_every_kind_of_public_access(plan):
    block = _store(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[flag] is True
        for flag in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    )


def test_bucket_ownership_is_enforced(plan):
    rule = _store(plan, "aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs["rule"]
    assert rule == {"objectOwnership": "BucketOwnerEnforced"}


def test_bucket_is_encrypted_with_its_own_rotating_key(plan):
    (rule,) = _store(
        plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ).inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms"
    assert default["kmsMasterKeyId"] == plan.outputs["artifactKmsKeyArn"]
    assert rule["bucketKeyEnabled"] is True
    key = resource(plan, "aws:kms/key:Key", f"{plan.stack}-artifacts-key")
    assert key.inputs["enableKeyRotation"] is True


def test_bucket_is_versioned_with_a_lifecycle(plan):
    versioning = _store(plan, "aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    rules = {
        r["id"]: r
        for r in _store(plan, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").inputs["rules"]
    }
    assert rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"]["daysAfterInitiation"] >= 1
    assert rules["expire-noncurrent-versions"]["noncurrentVersionExpiration"]["noncurrentDays"] >= 1
    assert all(r["status"] == "Enabled" for r in rules.values())


def test_bucket_policy_denies_insecure_transport(plan):
    bucket = _store(plan, "aws:s3/bucket:Bucket")
    policy = _store(plan, "aws:s3/bucketPolicy:BucketPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    arn = f"arn:aws:s3:::{bucket.inputs.get('bucket') or plan.outputs['artifactBucket']}"
    assert statement["Effect"] == "Deny" and statement["Principal"] == "*" and statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert set(statement["Resource"]) == {arn, f"{arn}/*"}


def test_bucket_and_key_outlive_their_removal_from_the_program(plan):
    for r in (_store(plan, "aws:s3/bucket:Bucket"), resource(plan, "aws:kms/key:Key", f"{plan.stack}-artifacts-key")):
        assert r.retainOnDelete is True, f"{r.name} would be deleted with its config"
        assert r.protect is (plan.stack == "prod")
        assert not r.inputs.get("forceDestroy")


def test_disposable_dev_data_is_an_explicit_choice(dev_config):
    storage = {**get_key(dev_config, "storage"), "forceDestroy": True}
    plan = run_program("dev", set_key(dev_config, "storage", storage), PROGRAM)
    bucket = resource(plan, "aws:s3/bucket:Bucket")
    assert bucket.inputs["forceDestroy"] is True
    assert bucket.retainOnDelete is False and bucket.protect is False
