"""GCS fault tolerance: a highly available team cluster keeps its GCS state in its own Redis, reached by TLS
with an auth token that reaches the head only by Secret reference; the Redis is private, encrypted and kept
in production; configs that cannot have one are refused."""

from __future__ import annotations

import json

import pytest

from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, SECRET, read_stack_config
from tests.conftest import config_problems, get_key, planned, set_key
from tests.policy_support import baseline, changed, check, outcome

RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
REDIS = "aws:elasticache/replicationGroup:ReplicationGroup"


def _cluster(plan, team: str):
    (cluster,) = [c for c in plan.of_type(RAY_CLUSTER) if c.inputs["metadata"]["name"] == f"{team}-ray"]
    return cluster


def test_an_ha_cluster_carries_its_redis_address_and_password_by_reference():
    plan = planned("prod")
    cluster = _cluster(plan, "vision")
    options = cluster.inputs["spec"]["gcsFaultToleranceOptions"]
    (redis,) = plan.of_type(REDIS)
    address = options["redisAddress"]
    assert address.startswith(f"rediss://master.{redis.name}-") and address.endswith(".cache.amazonaws.com:6379")
    assert options["redisPassword"] == {
        "valueFrom": {"secretKeyRef": {"name": "vision-ray-gcs-redis", "key": "password"}}
    }
    assert "value" not in options["redisPassword"]
    (secret,) = [
        s
        for s in plan.of_type("kubernetes:core/v1:Secret")
        if s.inputs["metadata"] == {"name": "vision-ray-gcs-redis", "namespace": "team-vision"}
    ]
    assert secret.inputs["stringData"] in (SECRET, {"password": SECRET})
    assert secret.urn in cluster.dependencies
    assert "gcs" not in json.dumps(plan.outputs)


def test_clusters_not_marked_highly_available_have_no_gcs_store():
    assert "gcsFaultToleranceOptions" not in _cluster(planned("dev"), "vision").inputs["spec"]
    assert not planned("dev").of_type(REDIS)


def test_the_redis_is_private_encrypted_authenticated_and_kept_in_prod():
    plan = planned("prod")
    (redis,) = plan.of_type(REDIS)
    inputs = redis.inputs
    assert inputs["transitEncryptionEnabled"] is True and inputs["atRestEncryptionEnabled"] is True
    assert inputs["authToken"] == SECRET
    assert inputs["engine"] == "valkey" and inputs["engineVersion"]
    assert inputs["automaticFailoverEnabled"] is True and inputs["multiAzEnabled"] is True
    assert redis.protect and redis.retainOnDelete
    (subnets,) = plan.of_type("aws:elasticache/subnetGroup:SubnetGroup")
    (eks,) = plan.of_type("aws:eks/cluster:Cluster")
    assert subnets.inputs["subnetIds"] == eks.inputs["vpcConfig"]["subnetIds"]  # the private subnets
    (rule,) = [r for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if "gcs" in r.name]
    assert rule.inputs["referencedSecurityGroupId"].startswith("sg-")  # EKS's cluster security group
    assert [rule.inputs["securityGroupId"]] == inputs["securityGroupIds"]
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (6379, 6379)
    assert not {"cidrIpv4", "cidrIpv6"} & set(rule.inputs)


def _with_ha(teams):
    return [{**teams[0], "rayCluster": {**teams[0].get("rayCluster", {}), "highAvailability": True}}, *teams[1:]]


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("local", "teams[0].rayCluster.highAvailability: needs existing.gcsRedis"),
    ],
)
def test_ha_is_refused_where_no_redis_can_be_had(stack, expected):
    config = read_stack_config(stack)
    config = set_key(config, "teams", _with_ha(get_key(config, "teams")))
    problems = config_problems(config)
    assert any(expected in p for p in problems), problems


def test_an_existing_cluster_uses_the_configured_redis_and_its_secret():
    config = read_stack_config("local")
    config = set_key(config, "teams", _with_ha(get_key(config, "teams")))
    existing = get_key(config, "existing")
    redis = {"address": "rediss://redis.platform.svc:6379", "passwordSecret": {"name": "ray-gcs", "key": "pw"}}
    config = set_key(config, "existing", {**existing, "gcsRedis": redis})
    team = get_key(config, "teams")[0]
    # The head and its autoscaler alone request 8.5Gi: more than local's 8Gi team quota would admit.
    cluster = {"rayCluster": {"highAvailability": True}, "memory": "16Gi"}
    config = set_key(config, "teams", [{**team, **cluster}])
    plan = run_program("local", config, PROGRAM)
    (cluster,) = plan.of_type(RAY_CLUSTER)
    assert cluster.inputs["spec"]["gcsFaultToleranceOptions"] == {
        "redisAddress": "rediss://redis.platform.svc:6379",
        "redisPassword": {"valueFrom": {"secretKeyRef": {"name": "ray-gcs", "key": "pw"}}},
    }
    assert not plan.of_type(REDIS)


def test_a_literal_redis_password_is_refused_by_the_pack():
    def literal(cluster):
        cluster.inputs["spec"]["gcsFaultToleranceOptions"] = {
            "redisAddress": "r:6379",
            "redisPassword": {"value": "pw"},
        }

    report = check(changed(baseline("dev"), RAY_CLUSTER, "team-a", literal))
    finding = outcome(report, "ray-no-plain-secrets", RAY_CLUSTER, "team-a")
    assert finding.status == "failed" and "redisPassword holds a literal value" in finding.message
