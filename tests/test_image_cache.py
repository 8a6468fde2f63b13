"""The Ray images in one place, pulled through the cloud's pull-through cache of Docker Hub where the stack
mirrors them (images.mirror): the cache, the nodes' permission to pull through it, and every Ray pod's image."""

from __future__ import annotations

import json

import pytest
from parliament import analyze_policy_string

from catalog import versions
from components.aws import iam_documents
from rayplat.check.engine import load_policy_config, policy_config_path
from rayplat.plan.engine import read_stack_config
from rayplat.templates import JobOptions, job_template
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_problems, planned, resource, set_key
from tests.policy_support import check, outcome

RAY_KINDS = ("kubernetes:ray.io/v1:RayCluster", "kubernetes:ray.io/v1:RayService")
PROD_MIRROR = "210987654321.dkr.ecr.us-east-1.amazonaws.com/docker-hub"
GCP_PROD_MIRROR = "us-central1-docker.pkg.dev/acme-ml-prod/ray-gcp-prod-docker-hub"
CREDENTIAL = "arn:aws:secretsmanager:us-east-1:210987654321:secret:ecr-pullthroughcache/docker-hub-Xy12Ab"


def _cluster_specs(plan):
    for kind in RAY_KINDS:
        for r in plan.of_type(kind):
            yield r.inputs["spec"].get("rayClusterConfig", r.inputs["spec"])


def _images(cluster: dict) -> list[str]:
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    return [c["image"] for g in groups for c in g["template"]["spec"]["containers"]]


def _pinned(mirror: str | None) -> dict[str, str]:
    return {"cpu": versions.ray_image(False, mirror), "gpu": versions.ray_image(True, mirror)}


@pytest.mark.parametrize(("stack", "mirror"), [("prod", PROD_MIRROR), ("dev", None)])
def test_every_ray_pod_pulls_the_pinned_images_from_the_stacks_mirror(stack, mirror):
    plan = planned(stack)
    images = [image for cluster in _cluster_specs(plan) for image in _images(cluster)]
    assert len(images) >= 2
    assert set(images) == set(_pinned(mirror).values())
    assert plan.outputs["rayImages"] == _pinned(mirror)


def test_the_job_template_pulls_from_the_mirror_when_the_stack_mirrors():
    config = parse_config(project_keys(read_stack_config("prod")))
    job = job_template(config, "vision", "s3://bucket", JobOptions(), config.image_mirror("prod"))
    cluster = job["spec"]["rayClusterSpec"]
    assert set(_images(cluster)) == set(_pinned(PROD_MIRROR).values())
    (submitter,) = job["spec"]["submitterPodTemplate"]["spec"]["containers"]
    assert submitter["image"] == _pinned(PROD_MIRROR)["cpu"]
    assert planned("prod").outputs["rayImageMirror"] == PROD_MIRROR


def test_a_gcp_stack_mirrors_under_its_own_project_region_and_cluster():
    mirrored = set_key(read_stack_config("gcp-dev"), "images", {"mirror": True})
    assert parse_config(project_keys(mirrored)).image_mirror("gcp-dev") == (
        "us-central1-docker.pkg.dev/acme-ml-dev/ray-gcp-dev-docker-hub"
    )
    assert planned("gcp-prod").outputs["rayImages"] == _pinned(GCP_PROD_MIRROR)


def test_prod_caches_docker_hub_in_ecr_with_the_configured_credential():
    plan = planned("prod")
    rule = resource(plan, "aws:ecr/pullThroughCacheRule:PullThroughCacheRule")
    assert rule.inputs["upstreamRegistryUrl"] == "registry-1.docker.io"
    assert rule.inputs["credentialArn"] == CREDENTIAL
    assert rule.inputs["ecrRepositoryPrefix"] == "docker-hub"
    assert not planned("dev").of_type("aws:ecr/pullThroughCacheRule:PullThroughCacheRule")


def test_the_nodes_may_pull_through_the_cache_and_nothing_more():
    plan = planned("prod")
    policy = resource(plan, "aws:iam/policy:Policy", "prod-image-cache-pull")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert sorted(statement["Action"]) == ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"]
    assert statement["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/docker-hub/*"
    attachments = plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    (read_only,) = [a for a in attachments if a.name == "prod-node-AmazonEC2ContainerRegistryReadOnly"]
    attached = [a for a in attachments if a.name.startswith("prod-image-cache-pull")]
    # The managed node groups' role (prod has no Karpenter), the one that already pulls from ECR.
    assert [a.inputs["role"] for a in attached] == [read_only.inputs["role"]]
    # The RayClusters wait for the cache and the nodes' permission.
    cluster = resource(plan, "kubernetes:ray.io/v1:RayCluster")
    assert {a.urn for a in attached} <= set(cluster.dependencies)


def test_the_pull_through_document_lints_clean_but_for_parliaments_stale_resource_type():
    """parliament still lists ecr:BatchImportUpstreamImage as '*'-only; IAM takes a repository ARN for it
    (AWS Service Authorization Reference: resource type repository, required). prod exempts that one finding."""
    document = iam_documents.ecr_pull_through("123456789012", "us-east-1", "docker-hub")
    findings = analyze_policy_string(json.dumps(document)).findings
    assert {f.issue for f in findings} <= {"RESOURCE_MISMATCH"}


def test_gcp_prod_caches_docker_hub_in_an_encrypted_remote_repository_its_nodes_read():
    plan = planned("gcp-prod")
    repository = resource(plan, "gcp:artifactregistry/repository:Repository")
    inputs = repository.inputs
    assert (inputs["mode"], inputs["format"], inputs["repositoryId"]) == (
        "REMOTE_REPOSITORY",
        "DOCKER",
        "ray-gcp-prod-docker-hub",
    )
    assert inputs["remoteRepositoryConfig"]["dockerRepository"]["publicRepository"] == "DOCKER_HUB"
    key = json.loads(read_stack_config("gcp-prod")["ray-platform:gcp"])["bucketKmsKey"]
    assert inputs["kmsKeyName"] == key
    grant = resource(plan, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gcp-prod-image-cache-key")
    assert grant.inputs["cryptoKeyId"] == key
    assert grant.inputs["member"].endswith("@gcp-sa-artifactregistry.iam.gserviceaccount.com")
    assert grant.urn in repository.dependencies
    reader = resource(plan, "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert reader.inputs["role"] == "roles/artifactregistry.reader"
    assert (reader.inputs["repository"], reader.inputs["location"]) == ("ray-gcp-prod-docker-hub", "us-central1")
    node_accounts = {p.inputs["nodeConfig"]["serviceAccount"] for p in plan.of_type("gcp:container/nodePool:NodePool")}
    assert {reader.inputs["member"]} == {f"serviceAccount:{a}" for a in node_accounts}
    assert not planned("gcp-dev").of_type("gcp:artifactregistry/repository:Repository")


BAD = {
    "no credential on AWS": ({"mirror": True}, "prod", "images.dockerHubCredentialArn: is required with mirror"),
    "credential outside the ECR prefix": (
        {"mirror": True, "dockerHubCredentialArn": "arn:aws:secretsmanager:us-east-1:210987654321:secret:dockerhub"},
        "prod",
        "images.dockerHubCredentialArn",
    ),
    "credential on GCP": ({"mirror": True, "dockerHubCredentialArn": CREDENTIAL}, "gcp-prod", "is for aws only"),
    "mirror on an existing cluster": ({"mirror": True}, "local", "images.mirror: is for aws and gcp"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_image_settings_name_the_key(case):
    images, stack, expected = BAD[case]
    problems = config_problems(set_key(read_stack_config(stack), "images", images))
    assert any(expected in p for p in problems), problems


def test_a_mirrored_image_is_allowed_only_under_a_mirror_the_stack_names():
    plan = planned("prod")
    (cluster,) = plan.of_type("kubernetes:ray.io/v1:RayCluster")
    config = load_policy_config(policy_config_path("prod"))
    passed = outcome(check(plan, config), "image-repository-allowed", cluster.type, cluster.name)
    assert passed.status == "passed"
    config["image-repository-allowed"]["dockerHubMirrors"] = ["123456789012.dkr.ecr.us-east-1.amazonaws.com/docker-hub"]
    refused = outcome(check(plan, config), "image-repository-allowed", cluster.type, cluster.name)
    assert refused.status == "failed"
    assert f"{PROD_MIRROR}/rayproject/ray is not an allowed repository" in refused.message
