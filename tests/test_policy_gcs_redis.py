"""gcs-redis-auth-and-tls: the GCS Redis of prod (ElastiCache) and gcp-prod (Memorystore) pass; turning off
AUTH or TLS on either fails, and a value of the wrong shape is reported, never raised."""

from __future__ import annotations

import pytest

from tests.policy_support import baseline, changed, check, outcome
from tests.test_policy_rules import _DELETE, Case, _set, check_case

ELASTICACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MEMORYSTORE = "gcp:redis/instance:Instance"
ELASTICACHE_NAME = "prod-platform-team-vision-gcs"
MEMORYSTORE_NAME = "ray-vision-gcs"
RULE = "gcs-redis-auth-and-tls"

GCS_REDIS_CASES = [
    Case(RULE, MEMORYSTORE, MEMORYSTORE_NAME, _set("authEnabled", False), "AUTH is off", stack="gcp-prod"),
    Case(
        RULE,
        MEMORYSTORE,
        MEMORYSTORE_NAME,
        _set("transitEncryptionMode", "DISABLED"),
        "transitEncryptionMode is DISABLED",
        stack="gcp-prod",
    ),
    Case(RULE, ELASTICACHE, ELASTICACHE_NAME, _set("transitEncryptionEnabled", False), "in clear", stack="prod"),
    Case(RULE, ELASTICACHE, ELASTICACHE_NAME, _set("authToken", _DELETE), "no authToken", stack="prod"),
]


@pytest.mark.parametrize("case", GCS_REDIS_CASES, ids=[c.expected for c in GCS_REDIS_CASES])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def test_a_value_of_the_wrong_shape_is_a_violation_not_an_error():
    def odd(resource):
        resource.inputs["transitEncryptionMode"] = ["SERVER_AUTHENTICATION"]

    finding = outcome(
        check(changed(baseline("gcp-prod"), MEMORYSTORE, MEMORYSTORE_NAME, odd)), RULE, MEMORYSTORE, MEMORYSTORE_NAME
    )
    assert finding.status == "failed" and "not SERVER_AUTHENTICATION" in finding.message
