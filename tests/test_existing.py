"""Bring your own cluster: the kubernetes layer on an existing cluster, with MinIO or an S3-compatible store."""

from __future__ import annotations

import json

import pytest

from components.existing.objectstore import CREDENTIALS_ANNOTATION
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_problems, get_key, planned, resource, set_key


def test_local_creates_no_cloud_resource():
    plan = planned("local")
    assert not [r for r in plan.resources if r.type.split(":")[0] in ("aws", "gcp")]
    provider = plan.of_type("pulumi:providers:kubernetes")[0]
    assert provider.inputs["context"] == "kind-ray"


def test_minio_is_pinned_internal_and_its_password_generated():
    plan = planned("local")
    release = next(r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "minio")
    values = release.inputs["values"]
    assert release.inputs["version"] == "5.4.0" and values["image"]["tag"].startswith("RELEASE.")
    assert values["service"]["type"] == values["consoleService"]["type"] == "ClusterIP"
    assert values["existingSecret"] == "minio-root" and values["buckets"][0]["name"] == "ray-artifacts"
    secret = resource(plan, "kubernetes:core/v1:Secret", "local-minio-root")
    assert secret.inputs["stringData"] == "[secret]"
    assert plan.of_type("random:index/randomPassword:RandomPassword")


def test_ray_service_account_gets_the_store_credentials_in_its_namespace():
    plan = planned("local")
    account = resource(plan, "kubernetes:core/v1:ServiceAccount", "local-platform-ray")
    secret_name = account.inputs["metadata"]["annotations"][CREDENTIALS_ANNOTATION]
    secret = resource(plan, "kubernetes:core/v1:Secret", "local-platform-ray")
    assert secret.inputs["metadata"] == {"name": secret_name, "namespace": "ray"}
    namespace = next(n for n in plan.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == "ray")
    assert namespace.urn in secret.dependencies


def test_existing_pools_are_selected_by_their_own_labels():
    config = read_stack_config("local")
    existing = get_key(config, "existing")
    existing["gpuPools"] = [
        {
            "name": "a100",
            "labels": {"cloud.example.com/gpu": "a100"},
            "gpuModel": "A100",
            "gpusPerNode": 8,
            "maxNodes": 2,
            "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
        }
    ]
    plan = run_program("local", set_key(config, "existing", existing), PROGRAM)
    kuberay = next(r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "kuberay-operator")
    assert kuberay.inputs["values"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    plugin = next(
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "nvidia-device-plugin"
    )
    terms = plugin.inputs["values"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "cloud.example.com/gpu", "operator": "In", "values": ["a100"]}]}
    ]
    assert plan.outputs["gpuPools"]["a100"]["maxGpus"] == 16


def test_an_existing_s3_store_uses_the_teams_secret():
    config = read_stack_config("local")
    existing = get_key(config, "existing")
    existing["objectStore"] = {
        "s3": {"endpoint": "https://s3.lab.example.com", "bucket": "ray-lab", "credentialsSecret": "lab-s3"}
    }
    plan = run_program("local", set_key(config, "existing", existing), PROGRAM)
    assert not [r for r in plan.resources if "minio" in r.name]
    account = resource(plan, "kubernetes:core/v1:ServiceAccount", "local-platform-ray")
    assert account.inputs["metadata"]["annotations"] == {CREDENTIALS_ANNOTATION: "lab-s3"}
    assert plan.outputs["artifactBucketUri"] == "s3://ray-lab"
    assert plan.outputs["objectStoreEndpoint"] == "https://s3.lab.example.com"


EXISTING_BAD = {
    "two stores": (
        lambda e: {
            **e,
            "objectStore": {"minio": {}, "s3": {"endpoint": "http://x", "bucket": "abc", "credentialsSecret": "s"}},
        },
        "existing.objectStore: name exactly one of s3",
    ),
    "duplicate pools": (
        lambda e: {**e, "gpuPools": [{"name": "system", "labels": {"a": "b"}}]},
        "existing.gpuPools[0].name: duplicate pool name 'system'",
    ),
    "no context": (lambda e: {k: v for k, v in e.items() if k != "context"}, "existing.context: field required"),
    "gpu pool without model": (
        lambda e: {**e, "gpuPools": [{"name": "g", "labels": {"a": "b"}, "gpusPerNode": 1}]},
        "existing.gpuPools[0].gpuModel: required when gpusPerNode > 0",
    ),
}


@pytest.mark.parametrize("case", EXISTING_BAD, ids=list(EXISTING_BAD))
def test_bad_existing_configs(case):
    mutate, expected = EXISTING_BAD[case]
    config = read_stack_config("local")
    problems = config_problems(set_key(config, "existing", mutate(get_key(config, "existing"))))
    assert any(expected in p for p in problems), problems


def test_node_pools_of_the_platform_do_not_apply_to_an_existing_cluster():
    config = set_key(read_stack_config("local"), "gpuPools", json.loads('[{"name": "x"}]'))
    with pytest.raises(ConfigError, match="gpuPools: does not apply when cloud is 'existing'"):
        parse_config(project_keys(config))
