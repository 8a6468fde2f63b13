"""The GCP stacks: GKE hardened, GPU pools tainted and scaling from zero, GCS hardened, identity scoped."""

from __future__ import annotations

import json

import pytest

from catalog.provider_types import takes
from catalog.tagging import REQUIRED_COST_TAGS
from components.gcp.identity import GSA_ANNOTATION, OBJECT_ROLE, account_id, prefix_condition
from rayplat.plan.engine import read_stack_config
from tests.conftest import config_problems, get_key, planned, resource, set_key


def _tags(stack):
    return json.loads(read_stack_config(stack)["ray-platform:tags"])


def test_every_labelable_resource_carries_the_cost_labels(gcp_plan):
    expected = {k: _tags(gcp_plan.stack)[k] for k in REQUIRED_COST_TAGS}
    labelled = [r for r in gcp_plan.resources if r.custom and takes(r.type, "labels")]
    assert {r.type for r in labelled} >= {"gcp:storage/bucket:Bucket"}
    for r in labelled:
        assert {k: r.inputs.get("labels", {}).get(k) for k in REQUIRED_COST_TAGS} == expected, r.name
    cluster = resource(gcp_plan, "gcp:container/cluster:Cluster")
    assert {k: cluster.inputs["resourceLabels"][k] for k in REQUIRED_COST_TAGS} == expected
    for pool in gcp_plan.of_type("gcp:container/nodePool:NodePool"):
        assert {k: pool.inputs["nodeConfig"]["resourceLabels"][k] for k in REQUIRED_COST_TAGS} == expected
    provider = gcp_plan.of_type("pulumi:providers:gcp")[0]
    assert json.loads(provider.inputs["defaultLabels"]) == _tags(gcp_plan.stack)


def test_gke_is_private_shielded_and_uses_workload_identity(gcp_plan):
    cluster = resource(gcp_plan, "gcp:container/cluster:Cluster").inputs
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["workloadIdentityConfig"]["workloadPool"].endswith(".svc.id.goog")
    assert cluster["enableShieldedNodes"] is True and cluster["enableLegacyAbac"] is False
    assert cluster["masterAuth"]["clientCertificateConfig"]["issueClientCertificate"] is False
    assert cluster["removeDefaultNodePool"] is True
    endpoint = json.loads(read_stack_config(gcp_plan.stack)["ray-platform:cluster"])["endpoint"]
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is (endpoint["access"] == "private")
    blocks = [b["cidrBlock"] for b in cluster["masterAuthorizedNetworksConfig"].get("cidrBlocks", [])]
    assert blocks == endpoint.get("publicCidrs", [])


def test_nodes_run_as_a_dedicated_least_privilege_account(gcp_plan):
    account = resource(gcp_plan, "gcp:serviceaccount/account:Account", f"{gcp_plan.stack}-nodes")
    email = f"{account.inputs['accountId']}@"
    for pool in gcp_plan.of_type("gcp:container/nodePool:NodePool"):
        assert pool.inputs["nodeConfig"]["serviceAccount"].startswith(email)
        assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}
        assert pool.inputs["nodeConfig"]["shieldedInstanceConfig"]["enableSecureBoot"] is True
    roles = {m.inputs["role"] for m in gcp_plan.of_type("gcp:projects/iAMMember:IAMMember")}
    assert roles == {
        "roles/logging.logWriter",
        "roles/monitoring.metricWriter",
        "roles/monitoring.viewer",
        "roles/stackdriver.resourceMetadata.writer",
        "roles/artifactregistry.reader",
    }


def test_gpu_pools_are_tainted_accelerated_and_scale_from_zero(gcp_plan):
    pools = {p["name"]: p for p in json.loads(read_stack_config(gcp_plan.stack)["ray-platform:gpuPools"])}
    for name, config in pools.items():
        pool = resource(gcp_plan, "gcp:container/nodePool:NodePool", f"{gcp_plan.stack}-{name}").inputs
        node = pool["nodeConfig"]
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in node["taints"]
        assert pool["autoscaling"]["totalMinNodeCount"] == config["minSize"] == 0
        assert pool["autoscaling"]["totalMaxNodeCount"] == config["maxSize"]
        assert node["spot"] is (config["capacityType"] == "spot")
        assert node["labels"]["rayplat.io/pool"] == name
        if "accelerator" in config:
            (accelerator,) = node["guestAccelerators"]
            assert accelerator["type"] == config["accelerator"]["type"]
            assert accelerator["gpuDriverInstallationConfig"]["gpuDriverVersion"] == "LATEST"


def test_gke_runs_its_own_device_plugin(gcp_plan):
    releases = {r.inputs["chart"] for r in gcp_plan.of_type("kubernetes:helm.sh/v3:Release")}
    assert "nvidia-device-plugin" not in releases and "kuberay-operator" in releases


def test_bucket_is_hardened_and_outlives_its_config(gcp_plan):
    bucket = resource(gcp_plan, "gcp:storage/bucket:Bucket")
    inputs = bucket.inputs
    assert inputs["uniformBucketLevelAccess"] is True and inputs["publicAccessPrevention"] == "enforced"
    assert inputs["versioning"] == {"enabled": True}
    actions = {r["action"]["type"] for r in inputs["lifecycleRules"]}
    assert actions == {"AbortIncompleteMultipartUpload", "Delete"}
    assert bucket.retainOnDelete is True and bucket.protect is (gcp_plan.stack == "gcp-prod")
    if gcp_plan.stack == "gcp-prod":
        assert inputs["encryption"]["defaultKmsKeyName"].endswith("/cryptoKeys/artifacts")
        assert resource(gcp_plan, "gcp:container/cluster:Cluster").inputs["deletionProtection"] is True


def test_ray_identity_reaches_the_bucket_only(gcp_plan):
    stack = gcp_plan.stack
    account = resource(gcp_plan, "gcp:serviceaccount/account:Account", f"{stack}-platform-ray")
    binding = resource(gcp_plan, "gcp:serviceaccount/iAMMember:IAMMember", f"{stack}-platform-ray").inputs
    project = json.loads(read_stack_config(stack)["ray-platform:gcp"])["project"]
    assert binding["role"] == "roles/iam.workloadIdentityUser"
    assert binding["member"] == f"serviceAccount:{project}.svc.id.goog[ray/ray]"
    grant = resource(gcp_plan, "gcp:storage/bucketIAMMember:BucketIAMMember", f"{stack}-platform-ray").inputs
    assert grant["role"] == OBJECT_ROLE and grant["bucket"] == gcp_plan.outputs["artifactBucket"]
    assert grant["member"] == f"serviceAccount:{account.inputs['accountId']}@{project}.iam.gserviceaccount.com"
    annotations = resource(gcp_plan, "kubernetes:core/v1:ServiceAccount", f"{stack}-platform-ray").inputs["metadata"][
        "annotations"
    ]
    assert annotations[GSA_ANNOTATION] == grant["member"].removeprefix("serviceAccount:")
    # No grant anywhere reaches beyond the bucket: the only project roles are the nodes'.
    members = {m.inputs["member"] for m in gcp_plan.of_type("gcp:projects/iAMMember:IAMMember")}
    assert all("-nodes@" in m for m in members)


def test_prefix_conditions_and_account_ids():
    assert prefix_condition("b", "teams/vision/") == (
        'resource.name.startsWith("projects/_/buckets/b/objects/teams/vision/")'
    )
    assert account_id("gcp-dev-platform-ray") == "gcp-dev-platform-ray"
    long = account_id("gcp-production-platform-team-vision-ray")
    assert len(long) == 30 and long.startswith("gcp-production-platform")


GCP_BAD = {
    "unknown region": (
        lambda c: set_key(c, "gcp", {**get_key(c, "gcp"), "region": "mars-central1"}),
        "gcp.region: 'mars-central1' is not a GPU region",
    ),
    "zone outside the region": (
        lambda c: set_key(c, "gcp", {**get_key(c, "gcp"), "zones": ["us-east1-b"]}),
        "gcp.zones[0]: 'us-east1-b' is not a zone of us-central1",
    ),
    "accelerator not in a zone": (
        lambda c: set_key(c, "gcp", {**get_key(c, "gcp"), "zones": ["us-central1-a", "us-central1-f"]}),
        "gpuPools[0].instanceTypes[0]: nvidia-l4 (g2-standard-8) is not offered in zone us-central1-f",
    ),
    "n1 without accelerator": (
        lambda c: set_key(c, "gpuPools", [{**get_key(c, "gpuPools")[1], "accelerator": None}]),
        "gpuPools[0].accelerator: n1-standard-8 has no GPU",
    ),
    "bad accelerator count": (
        lambda c: set_key(
            c, "gpuPools", [{**get_key(c, "gpuPools")[1], "accelerator": {"type": "nvidia-tesla-t4", "count": 3}}]
        ),
        "gpuPools[0].accelerator.count: nvidia-tesla-t4 attaches in counts of 1, 2, 4",
    ),
    "aws type on gcp": (
        lambda c: set_key(c, "systemPool", {"instanceTypes": ["m6i.xlarge"]}),
        "systemPool.instanceTypes[0]: 'm6i.xlarge' is an AWS instance type",
    ),
    "uppercase label": (
        lambda c: set_key(c, "tags", {**get_key(c, "tags"), "team": "ML-Platform"}),
        "tags.team: 'team: ML-Platform' is not a valid GCP label",
    ),
    "aws section on gcp": (
        lambda c: set_key(c, "aws", {"region": "us-west-2"}),
        "aws: does not apply when cloud is 'gcp'",
    ),
    "system pool without a machine type": (
        lambda c: set_key(c, "systemPool", {"minSize": 1}),
        "systemPool.instanceTypes: required when cloud is 'gcp'",
    ),
    "kubernetes version on gcp": (
        lambda c: set_key(c, "cluster", {**get_key(c, "cluster"), "kubernetesVersion": "1.34"}),
        "cluster.kubernetesVersion: does not apply when cloud is 'gcp'",
    ),
    "gke cluster name": (
        lambda c: set_key(c, "cluster", {**get_key(c, "cluster"), "name": "Ray_Dev"}),
        "cluster.name: 'Ray_Dev' is not a GKE cluster name",
    ),
    "overlapping ranges": (
        lambda c: set_key(c, "gcp", {**get_key(c, "gcp"), "network": {"podsCidr": "10.8.0.0/14"}}),
        "gcp.network.podsCidr: overlaps subnetCidr",
    ),
}


@pytest.mark.parametrize("case", GCP_BAD, ids=list(GCP_BAD))
def test_bad_gcp_configs(case):
    mutate, expected = GCP_BAD[case]
    problems = config_problems(mutate(read_stack_config("gcp-dev")))
    assert any(expected in p for p in problems), problems


def test_gcp_outputs():
    outputs = planned("gcp-dev").outputs
    assert outputs["cloud"] == "gcp" and outputs["project"] == "acme-ml-dev"
    assert outputs["artifactBucketUri"] == f"gs://{outputs['artifactBucket']}"
    assert outputs["kubeconfig"] == "[secret]"
    assert outputs["gpuPools"]["t4"]["gpuModel"] == "T4" and outputs["gpuPools"]["l4"]["maxGpus"] == 4
