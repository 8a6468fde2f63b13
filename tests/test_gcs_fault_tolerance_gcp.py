"""GCS fault tolerance on GCP, and Ray's verification of the Redis's TLS certificate on every cloud: a highly
available team cluster keeps its GCS state in its own Memorystore (AUTH, TLS, private, CMEK in protected
stacks, kept in production), reached with an address and password by reference and the server's CA."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, SECRET, read_stack_config
from rayplat.plan.mockvalues import physical_name
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from stackconfig.teams import AUTONAME_SUFFIX, ELASTICACHE_ID_LIMIT, elasticache_store_name
from tests.conftest import config_tags, get_key, planned, set_key

RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
MEMORYSTORE = "gcp:redis/instance:Instance"


def _cluster(plan, team: str):
    (cluster,) = [c for c in plan.of_type(RAY_CLUSTER) if c.inputs["metadata"]["name"] == f"{team}-ray"]
    return cluster


def _head(cluster) -> dict:
    return cluster.inputs["spec"]["headGroupSpec"]["template"]["spec"]


def _env(cluster) -> dict[str, str]:
    return {e["name"]: e["value"] for e in _head(cluster)["containers"][0]["env"]}


def test_an_ha_cluster_on_gcp_carries_its_redis_by_reference_and_verifies_its_ca():
    plan = planned("gcp-prod")
    cluster = _cluster(plan, "vision")
    (redis,) = plan.of_type(MEMORYSTORE)
    options = cluster.inputs["spec"]["gcsFaultToleranceOptions"]
    assert options["redisAddress"].startswith("rediss://10.200.") and options["redisAddress"].endswith(":6378")
    assert options["redisPassword"] == {
        "valueFrom": {"secretKeyRef": {"name": "vision-ray-gcs-redis", "key": "password"}}
    }
    (secret,) = [
        s for s in plan.of_type("kubernetes:core/v1:Secret") if s.inputs["metadata"]["name"] == "vision-ray-gcs-redis"
    ]
    assert secret.inputs["stringData"] in (SECRET, {"password": SECRET})
    (ca,) = [
        c
        for c in plan.of_type("kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == "vision-ray-gcs-redis-ca"
    ]
    assert ca.inputs["metadata"]["namespace"] == "team-vision"
    assert f"mock CA of {redis.name}-" in ca.inputs["data"]["ca.crt"]  # the instance's own server CA
    assert {secret.urn, ca.urn} <= set(cluster.dependencies)
    head = _head(cluster)
    assert _env(cluster)["RAY_REDIS_CA_CERT"] == "/etc/rayplat/redis-ca/ca.crt"
    assert head["volumes"] == [{"name": "redis-ca", "configMap": {"name": "vision-ray-gcs-redis-ca"}}]
    assert head["containers"][0]["volumeMounts"] == [
        {"name": "redis-ca", "mountPath": "/etc/rayplat/redis-ca", "readOnly": True}
    ]
    assert "auth" not in str(plan.outputs).lower()


def test_the_memorystore_is_private_authenticated_encrypted_and_kept_in_prod():
    plan = planned("gcp-prod")
    (redis,) = plan.of_type(MEMORYSTORE)
    inputs = redis.inputs
    assert inputs["authEnabled"] is True and inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    (network,) = plan.of_type("gcp:compute/network:Network")
    assert inputs["connectMode"] == "DIRECT_PEERING"
    assert inputs["authorizedNetwork"].rsplit("/", 1)[1].startswith(f"{network.name}-")  # the stack's VPC
    assert inputs["tier"] == "STANDARD_HA"
    assert inputs["persistenceConfig"] == {"persistenceMode": "RDB", "rdbSnapshotPeriod": "ONE_HOUR"}
    assert redis.protect and redis.retainOnDelete
    assert inputs["labels"] == config_tags("gcp-prod")
    (key,) = [k for k in plan.of_type("gcp:kms/cryptoKey:CryptoKey") if k.inputs["name"] == "ray-gcs-vision"]
    # The stack's key ring (MLflow's database has a ring of its own).
    rings = plan.of_type("gcp:kms/keyRing:KeyRing")
    (ring,) = [r for r in rings if key.inputs["keyRing"].endswith(f"/keyRings/{r.inputs['name']}")]
    assert key.protect
    assert inputs["customerManagedKey"] == f"{key.inputs['keyRing']}/cryptoKeys/ray-gcs-vision"
    (grant,) = [
        g
        for g in plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
        if g.inputs["cryptoKeyId"] == inputs["customerManagedKey"]
    ]
    assert grant.inputs["member"].endswith("@cloud-redis.iam.gserviceaccount.com")
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.urn in redis.dependencies


def test_an_unprotected_gcp_stack_gets_a_basic_unkept_store():
    config = read_stack_config("gcp-dev")
    teams = get_key(config, "teams")
    config = set_key(config, "teams", [{**teams[0], "rayCluster": {"highAvailability": True}}, *teams[1:]])
    plan = run_program("gcp-dev", config, PROGRAM)
    (redis,) = plan.of_type(MEMORYSTORE)
    assert redis.inputs["tier"] == "BASIC" and not redis.protect and "persistenceConfig" not in redis.inputs
    assert redis.inputs["authEnabled"] is True and redis.inputs["transitEncryptionMode"] == "SERVER_AUTHENTICATION"
    assert "customerManagedKey" not in redis.inputs
    assert "gcsFaultToleranceOptions" in _cluster(plan, teams[0]["name"]).inputs["spec"]


def test_memorystore_instance_ids_fit_its_limit():
    (redis,) = planned("gcp-prod").of_type(MEMORYSTORE)
    instance = physical_name(MEMORYSTORE, redis.name, redis.inputs)
    assert len(instance) <= 40 and instance[0].isalpha() and instance == instance.lower()
    # The longest team name (20 characters) still fits: ray-<team>-gcs plus Pulumi's 8-character suffix.
    assert len(f"ray-{'t' * 20}-gcs") + 8 <= 40


def test_the_aws_head_verifies_elasticache_against_the_image_ca_bundle():
    plan = planned("prod")
    cluster = _cluster(plan, "vision")
    (redis,) = plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    env = _env(cluster)
    assert env["RAY_REDIS_CA_CERT"] == "/etc/ssl/certs/ca-certificates.crt"
    assert env["RAY_REDIS_SERVER_NAME"].startswith(f"master.{redis.name}-")
    assert env["RAY_REDIS_SERVER_NAME"].endswith(".cache.amazonaws.com")
    assert cluster.inputs["spec"]["gcsFaultToleranceOptions"]["redisAddress"].startswith(
        f"rediss://{env['RAY_REDIS_SERVER_NAME']}:"
    )


def test_the_gcp_ha_cluster_validates_against_the_pinned_crd(upstream_dir):
    crd = yaml.safe_load((upstream_dir / "kuberay/crd/ray.io_rayclusters.yaml").read_text())
    (schema,) = [v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == "v1"]
    cluster = _cluster(planned("gcp-prod"), "vision")
    jsonschema.validate({"apiVersion": "ray.io/v1", "kind": "RayCluster", **cluster.inputs}, schema)


def _ha_team(config: dict[str, str], name: str) -> dict[str, str]:
    """The stack's config with one more team, highly available, named ``name``."""
    teams = get_key(config, "teams")
    team = {"name": name, "owner": "dan", "department": "ads", "members": {"group": f"ml-{name}"}}
    return set_key(config, "teams", [*teams, {**team, "rayCluster": {"highAvailability": True}}])


def test_the_elasticache_id_rule_names_the_store_as_the_platform_does():
    (redis,) = planned("prod").of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert redis.name == elasticache_store_name("prod", "vision")
    group_id = physical_name(redis.type, redis.name, redis.inputs, key="replicationGroupId")
    assert len(group_id) == len(redis.name) + AUTONAME_SUFFIX <= ELASTICACHE_ID_LIMIT


def test_a_team_name_too_long_for_the_elasticache_id_is_refused_with_the_limit():
    config = project_keys(_ha_team(read_stack_config("prod"), "recommendations"))
    with pytest.raises(ConfigError) as raised:
        parse_config(config, stack="prod")
    (problem,) = [p for p in raised.value.problems if "ElastiCache" in p]
    assert problem.startswith("teams[3].name: 'recommendations' is too long for highAvailability in stack 'prod'")
    assert "limit of 40 characters" in problem and "at most 9 characters" in problem
    # Nine characters fit; a stack with a longer name leaves less room.
    parse_config(project_keys(_ha_team(read_stack_config("prod"), "ninechars")), stack="prod")
    with pytest.raises(ConfigError, match="at most 6 characters"):
        parse_config(project_keys(_ha_team(read_stack_config("prod"), "vision2")), stack="prod-eu")


def test_the_offline_plan_refuses_it_before_creating_anything():
    with pytest.raises(ConfigError, match="limit of 40 characters"):
        run_program("prod", _ha_team(read_stack_config("prod"), "recommendations"), PROGRAM)
