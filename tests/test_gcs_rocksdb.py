"""GCS fault tolerance without a Redis: KubeRay's embedded RocksDB on a volume of the team's namespace, from a
StorageClass that encrypts and retains volumes, kept in production; its config is checked key by key."""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml

from rayplat.diff.engine import diff_plans
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_problems, get_key, planned, set_key

RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
ROCKSDB = {"backend": "rocksdb", "storage": "20Gi"}


def _with(stack: str, high_availability, team: int = 0) -> dict[str, str]:
    config = read_stack_config(stack)
    teams = get_key(config, "teams")
    cluster = {**teams[team].get("rayCluster", {}), "highAvailability": high_availability}
    teams[team] = {**teams[team], "rayCluster": cluster}
    return set_key(config, "teams", teams)


def _cluster(plan, team: str):
    (cluster,) = [c for c in plan.of_type(RAY_CLUSTER) if c.inputs["metadata"]["name"] == f"{team}-ray"]
    return cluster


@pytest.fixture(scope="module")
def dev_rocksdb():
    return run_program("dev", _with("dev", ROCKSDB), PROGRAM)


def test_a_rocksdb_cluster_keeps_its_gcs_on_its_own_retained_encrypted_volume(dev_rocksdb, upstream_dir):
    plan = dev_rocksdb
    cluster = _cluster(plan, "vision")
    assert cluster.inputs["spec"]["gcsFaultToleranceOptions"] == {
        "backend": "rocksdb",
        "storage": {"claimName": "vision-ray-gcs"},
    }
    (claim,) = [c for c in plan.of_type(CLAIM) if c.inputs["metadata"]["name"] == "vision-ray-gcs"]
    assert claim.inputs["metadata"]["namespace"] == "team-vision"
    assert claim.inputs["metadata"]["labels"]["team"] == "vision"
    assert claim.inputs["spec"]["resources"] == {"requests": {"storage": "20Gi"}}
    assert claim.inputs["spec"]["accessModes"] == ["ReadWriteOnce"]
    (gp3,) = [
        s
        for s in plan.of_type(STORAGE_CLASS)
        if s.inputs["metadata"]["name"] == claim.inputs["spec"]["storageClassName"]
    ]
    assert gp3.inputs["reclaimPolicy"] == "Retain" and gp3.inputs["parameters"]["encrypted"] == "true"
    assert claim.urn in cluster.dependencies and gp3.urn in claim.dependencies
    assert not claim.protect  # dev is not protected
    assert not plan.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    crd = yaml.safe_load((upstream_dir / "kuberay/crd/ray.io_rayclusters.yaml").read_text())
    (schema,) = [v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == "v1"]
    jsonschema.validate({"apiVersion": "ray.io/v1", "kind": "RayCluster", **cluster.inputs}, schema)


def test_the_volume_is_protected_in_prod_and_a_change_that_replaces_it_is_blocked():
    plan = run_program("prod", _with("prod", ROCKSDB, team=1), PROGRAM)
    (claim,) = plan.of_type(CLAIM)
    assert claim.inputs["metadata"]["name"] == "nlp-ray-gcs"
    assert claim.protect and claim.retainOnDelete
    head = copy.deepcopy(plan)
    (changed,) = head.of_type(CLAIM)
    changed.inputs["spec"]["storageClassName"] = "gp2"
    (change,) = [c for c in diff_plans(plan, head).changes if c.type == CLAIM]
    assert change.action == "replace" and change.blocked
    # The other highly available team keeps its Redis.
    assert "redisAddress" in _cluster(plan, "vision").inputs["spec"]["gcsFaultToleranceOptions"]


def test_on_gcp_the_retained_class_is_created_for_rocksdb_only():
    assert not [
        s for s in planned("gcp-dev").of_type(STORAGE_CLASS) if s.inputs["metadata"]["name"] == "pd-balanced-retain"
    ]
    plan = run_program("gcp-dev", _with("gcp-dev", ROCKSDB), PROGRAM)
    (claim,) = plan.of_type(CLAIM)
    (retain,) = [s for s in plan.of_type(STORAGE_CLASS) if s.inputs["metadata"]["name"] == "pd-balanced-retain"]
    assert claim.inputs["spec"]["storageClassName"] == "pd-balanced-retain"
    assert retain.inputs["reclaimPolicy"] == "Retain" and retain.inputs["provisioner"] == "pd.csi.storage.gke.io"
    assert "env=dev" in retain.inputs["parameters"]["labels"]
    assert not plan.of_type("gcp:redis/instance:Instance")


def test_the_redis_backend_spelled_out_is_the_same_as_true():
    spelled = run_program("prod", _with("prod", {"backend": "redis"}), PROGRAM)
    assert _cluster(spelled, "vision").inputs == _cluster(planned("prod"), "vision").inputs


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"backend": "etcd"}, "teams[0].rayCluster.highAvailability.backend: input should be 'redis' or 'rocksdb'"),
        ({"backend": "rocksdb"}, "teams[0].rayCluster.highAvailability.storage: is required with backend rocksdb"),
        (
            {"backend": "rocksdb", "storage": "20GB"},
            "teams[0].rayCluster.highAvailability.storage: string should match",
        ),
        ({"storage": "20Gi"}, "teams[0].rayCluster.highAvailability.storage: applies to backend rocksdb only"),
        (
            {"backend": "rocksdb", "storage": "20Gi", "size": 1},
            "teams[0].rayCluster.highAvailability.size: unknown key",
        ),
        ("yes", "teams[0].rayCluster.highAvailability: input should be true, false or a mapping"),
    ],
)
def test_bad_high_availability_is_refused_naming_the_key(value, expected):
    problems = config_problems(_with("dev", value))
    assert any(p.startswith(expected) for p in problems), problems


def test_rocksdb_is_refused_on_an_existing_cluster():
    problems = config_problems(_with("local", ROCKSDB))
    assert any(p.startswith("teams[0].rayCluster.highAvailability.backend: rocksdb is not available") for p in problems)


def test_the_elasticache_id_limit_does_not_apply_to_rocksdb():
    config = _with("prod", {"backend": "rocksdb", "storage": "10Gi"}, team=1)
    teams = get_key(config, "teams")
    teams[1] = {**teams[1], "name": "natural-language"}
    parse_config(project_keys(set_key(config, "teams", teams)), stack="prod")
    teams[1] = {**teams[1], "rayCluster": {"highAvailability": True}}
    with pytest.raises(ConfigError, match="limit of 40 characters"):
        parse_config(project_keys(set_key(config, "teams", teams)), stack="prod")
