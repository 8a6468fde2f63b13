"""One table of replace-forcing fields, complete for what the stacks create, and the replacement cascade."""

from __future__ import annotations

import copy

import pytest

from rayplat.diff.engine import diff_plans
from rayplat.diff.replacements import REPLACE_ON
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from tests.conftest import get_key, planned, set_key

STACKS = ("dev", "staging", "prod", "gcp-dev", "gcp-prod", "local")


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_type_a_stack_creates_has_an_entry(stack):
    types = {r.type for r in planned(stack).resources if r.custom and not r.type.startswith("pulumi:providers:")}
    assert types, f"{stack} plans no resources"
    assert sorted(types - set(REPLACE_ON)) == []


def test_entries_are_tuples_of_input_paths():
    assert REPLACE_ON
    for resource_type, fields in REPLACE_ON.items():
        assert isinstance(fields, tuple), resource_type
        assert all(isinstance(f, str) and f and " " not in f for f in fields), resource_type


def test_renaming_the_bucket_replaces_what_hangs_off_it():
    config = read_stack_config("dev")
    renamed = set_key(config, "storage", {**get_key(config, "storage"), "bucketName": "acme-ray-dev-renamed"})
    diff = diff_plans(planned("dev"), run_program("dev", renamed, PROGRAM))
    replaced = {c.type: c for c in diff.of_action("replace")}
    assert replaced["aws:s3/bucket:Bucket"].replace_reasons == ["bucket"]
    for child in (
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketVersioning:BucketVersioning",
    ):
        assert child in replaced, f"{child} is not replaced with its bucket"
        reasons = replaced[child].replace_reasons
        assert any(r.startswith("bucket") for r in reasons), reasons


def test_an_update_cascades_nothing():
    head = copy.deepcopy(planned("dev"))
    (bucket,) = [r for r in head.resources if r.type == "aws:s3/bucket:Bucket"]
    bucket.inputs["tags"] = {**bucket.inputs.get("tags", {}), "note": "changed"}
    diff = diff_plans(planned("dev"), head)
    assert [(c.type, c.action) for c in diff.changes] == [("aws:s3/bucket:Bucket", "update")]
