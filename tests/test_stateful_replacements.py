"""In production every stateful resource (buckets, KMS keys, the control-plane log group, the Ray GCS
Redis) is protected: a change to any of its replace-forcing keys is a replacement the diff reports as
blocked, with how to proceed, and `pulumi up` would refuse."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from rayplat.diff.engine import diff_plans
from rayplat.diff.replacements import REPLACE_ON
from rayplat.diff.report import SAFE_WAYS, to_markdown
from tests.conftest import planned

STATEFUL = {
    "aws:s3/bucket:Bucket",
    "aws:kms/key:Key",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "gcp:storage/bucket:Bucket",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:kms/keyRing:KeyRing",
}


def _stateful(stack: str) -> list[tuple[str, str, str, str]]:
    return [
        (stack, r.type, r.name, field)
        for r in planned(stack).resources
        if r.type in STATEFUL
        for field in REPLACE_ON[r.type]
    ]


CASES = _stateful("prod") + _stateful("gcp-prod")


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, list):
        return [*value, "changed"]
    if isinstance(value, dict):
        return {**value, "changed": "yes"}
    return f"{value}-changed" if value else "changed"


def _set(inputs: dict[str, Any], path: str) -> None:
    *parents, last = path.split(".")
    for key in parents:
        inputs = inputs.setdefault(key, {})
    inputs[last] = _changed(inputs.get(last))


def test_every_stateful_type_of_prod_is_covered():
    covered = {
        planned(stack).of_type(t)[0].type
        for stack in ("prod", "gcp-prod")
        for t in STATEFUL
        if planned(stack).of_type(t)
    }
    assert covered == STATEFUL
    assert len(CASES) > 20


@pytest.mark.parametrize(
    ("stack", "type_", "name", "field"), CASES, ids=[f"{s}:{t.rsplit(':', 1)[1]}:{n}:{f}" for s, t, n, f in CASES]
)
def test_changing_a_replace_forcing_key_of_a_stateful_resource_is_blocked(stack, type_, name, field):
    base = planned(stack)
    head = copy.deepcopy(base)
    (resource,) = [r for r in head.resources if r.name == name and r.type == type_]
    assert resource.protect, f"{name} is stateful but not protected in {stack}"
    _set(resource.inputs, field)
    diff = diff_plans(base, head)
    (change,) = [c for c in diff.changes if c.name == name and c.type == type_]
    assert change.action == "replace" and change.blocked
    assert any(field.split(".")[0] in reason for reason in change.replace_reasons), change.replace_reasons
    report = to_markdown(diff)
    assert f"**Blocked**: `{resource.type}` `{name}` would be replaced" in report
    assert f"To proceed safely: {SAFE_WAYS}" in report
