"""Each rule: the compliant baseline passes, and changing one field produces the expected violation.

The baseline is a shipped stack's plan plus compliant examples of resources the stacks do not create
yet (a RayCluster, a Service, a security group, a GCS bucket); checks run through the pack's own analyzer.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from policies import ALL_POLICIES
from rayplat.check.engine import load_policy_config, policy_config_path
from tests.policy_support import baseline, changed, check, edit_document, outcome

BUCKET = "aws:s3/bucket:Bucket"
PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
KEY = "aws:kms/key:Key"
CLUSTER = "aws:eks/cluster:Cluster"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
GROUP = "aws:eks/nodeGroup:NodeGroup"
SUBNET = "aws:ec2/subnet:Subnet"
POLICY = "aws:iam/policy:Policy"
ROLE = "aws:iam/role:Role"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
SG = "aws:ec2/securityGroup:SecurityGroup"
RELEASE = "kubernetes:helm.sh/v3:Release"
RAY = "kubernetes:ray.io/v1:RayCluster"
SERVICE = "kubernetes:core/v1:Service"
NAMESPACE = "kubernetes:core/v1:Namespace"
GCS = "gcp:storage/bucket:Bucket"
GKE = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"


@dataclass(frozen=True)
class Case:
    policy: str
    type: str
    name: str
    change: Any
    expected: str
    # A resource of another type whose change makes ``name`` fail (a bucket's companion), if any.
    changed_type: str | None = None
    changed_name: str | None = None
    stack: str = "dev"
    config: dict = field(default_factory=dict)


def _set(path: str | tuple, value):
    *parents, last = path.split(".") if isinstance(path, str) else path

    def change(resource):
        target = resource.inputs
        for key in parents:
            target = target[int(key)] if key.isdigit() else target.setdefault(key, {})
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return change


_DELETE = object()


def _statements(edit):
    return edit_document("policy", lambda doc: edit(doc["Statement"]))


def _trust(edit):
    return edit_document("assumeRolePolicy", lambda doc: edit(doc["Statement"][0]))


def _remove_aud(statement):
    conditions = statement["Condition"]["StringEquals"]
    for key in [k for k in conditions if k.endswith(":aud")]:
        del conditions[key]


def _protected(resource):
    resource.protect = False


CASES = [
    Case(
        "s3-public-access-block",
        BUCKET,
        "dev-artifacts",
        _set("blockPublicPolicy", False),
        "leaves blockPublicPolicy off",
        PAB,
        "dev-artifacts",
    ),
    Case(
        "s3-no-public-principal",
        BUCKET_POLICY,
        "dev-artifacts",
        _statements(
            lambda s: s.append(
                {
                    "Sid": "Open",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::x/*",
                }
            )
        ),
        "statement Open allows any principal",
    ),
    Case(
        "s3-sse-kms",
        BUCKET,
        "dev-artifacts",
        _set("rules.0.applyServerSideEncryptionByDefault.sseAlgorithm", "AES256"),
        "not encrypted by default with SSE-KMS",
        SSE,
        "dev-artifacts",
    ),
    Case(
        "s3-tls-only",
        BUCKET,
        "dev-artifacts",
        _statements(
            lambda s: s[0].update(Effect="Allow", Principal={"AWS": "arn:aws:iam::123456789012:root"}, Condition={})
        ),
        "denies requests without TLS",
        BUCKET_POLICY,
        "dev-artifacts",
    ),
    Case(
        "s3-versioning",
        BUCKET,
        "dev-artifacts",
        _set("versioningConfiguration.status", "Suspended"),
        "versioning is not enabled",
        VERSIONING,
        "dev-artifacts",
    ),
    Case(
        "s3-abort-incomplete-uploads",
        BUCKET,
        "dev-artifacts",
        _set("rules.0.status", "Disabled"),
        "aborts incomplete multipart uploads",
        LIFECYCLE,
        "dev-artifacts",
    ),
    Case(
        "s3-ownership-enforced",
        BUCKET,
        "dev-artifacts",
        _set("rule.objectOwnership", "ObjectWriter"),
        "not BucketOwnerEnforced",
        OWNERSHIP,
        "dev-artifacts",
    ),
    Case(
        "s3-no-force-destroy",
        BUCKET,
        "prod-artifacts",
        _set("forceDestroy", True),
        "forceDestroy would delete every object",
        stack="prod",
    ),
    Case(
        "stateful-resources-protected",
        KEY,
        "prod-artifacts-key",
        _protected,
        "Key holds data but is not protected",
        stack="prod",
    ),
    Case(
        "eks-endpoint-not-public",
        CLUSTER,
        "dev",
        _set("vpcConfig.publicAccessCidrs", ["0.0.0.0/0"]),
        "open to 0.0.0.0/0",
    ),
    Case("eks-secrets-encryption", CLUSTER, "dev", _set("encryptionConfig", _DELETE), "not envelope-encrypted"),
    Case(
        "eks-control-plane-logs",
        CLUSTER,
        "dev",
        _set("enabledClusterLogTypes", ["api"]),
        "control-plane logs off: audit, authenticator, controllerManager, scheduler",
    ),
    Case("eks-supported-version", CLUSTER, "dev", _set("version", "1.29"), "Kubernetes 1.29 is not one of"),
    Case(
        "nodes-imdsv2-required",
        TEMPLATE,
        "dev-a10g",
        _set("metadataOptions.httpTokens", "optional"),
        "IMDSv1 is allowed",
    ),
    Case(
        "nodes-encrypted-volumes",
        TEMPLATE,
        "dev-a10g",
        _set("blockDeviceMappings.0.ebs.encrypted", "false"),
        "volume /dev/xvda is not encrypted",
    ),
    Case(
        "nodes-no-public-ip", SUBNET, "dev-vpc-public-us-west-2a", _set("mapPublicIpOnLaunch", True), "get a public IP"
    ),
    Case(
        "nodes-no-ssh-from-anywhere",
        GROUP,
        "dev-a10g",
        _set("remoteAccess", {"ec2SshKey": "ops"}),
        "SSH is open to nodes from anywhere",
    ),
    Case("gpu-pools-tainted", GROUP, "dev-a10g", _set("taints", []), "without the nvidia.com/gpu NoSchedule taint"),
    Case(
        "gpu-instance-types-allowed",
        GROUP,
        "dev-a10g",
        _set("instanceTypes", ["p5.48xlarge"]),
        "p5.48xlarge is not an allowed GPU instance type",
        config={"gpu-instance-types-allowed": {"allowedInstanceTypes": ["g5.xlarge", "g5.2xlarge", "g6.xlarge"]}},
    ),
    Case(
        "gpu-pool-bounds",
        GROUP,
        "dev-a10g",
        _set("scalingConfig.maxSize", 40),
        "up to 40 nodes exceeds the 16 nodes allowed per GPU pool",
    ),
    Case(
        "gpu-stack-budget",
        GROUP,
        "dev-a10g",
        _set("scalingConfig.maxSize", 15),
        "reach 17 GPUs, over the 16 allowed",
        config={"gpu-stack-budget": {"maxGpusPerStack": 16}},
    ),
    Case(
        "iam-no-star-action",
        POLICY,
        "dev-platform-ray",
        _statements(lambda s: s[1].update(Action="s3:*")),
        "allows every action of s3:*",
    ),
    Case(
        "iam-no-star-resource-on-data",
        POLICY,
        "dev-platform-ray",
        _statements(lambda s: s[2].update(Resource="*")),
        "on every resource",
    ),
    Case(
        "iam-no-admin",
        ATTACHMENT,
        "dev-platform-ray",
        _set("policyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
        "attaches AdministratorAccess",
    ),
    Case("iam-irsa-trust-scoped", ROLE, "dev-platform-ray", _trust(_remove_aud), "does not pin the token's 'aud'"),
    Case(
        "iam-parliament",
        POLICY,
        "dev-platform-ray",
        _statements(lambda s: s[2]["Action"].append("s3:GetObjekt")),
        "parliament UNKNOWN_ACTION",
    ),
    Case("kms-key-rotation", KEY, "dev-artifacts-key", _set("enableKeyRotation", False), "rotation is off"),
    Case(
        "sg-no-world-ingress",
        SG,
        "ray-head",
        _set("ingress.0.cidrBlocks", ["0.0.0.0/0"]),
        "ports 6379-6379 are open to 0.0.0.0/0",
    ),
    Case(
        "sg-ray-ports-never-public",
        SG,
        "ray-head",
        _set("ingress.0", {"protocol": "tcp", "fromPort": 8000, "toPort": 9000, "cidrBlocks": ["::/0"]}),
        "Ray ports 8265",
    ),
    Case(
        "helm-release-pinned",
        RELEASE,
        "dev-platform-kuberay",
        _set("version", "1.7"),
        "is not pinned to an exact version (1.7)",
    ),
    Case(
        "kuberay-operator-pinned",
        RELEASE,
        "dev-platform-kuberay",
        _set("version", "1.6.0"),
        "kuberay-operator chart 1.6.0 is not the platform's 1.7.0",
    ),
    Case(
        "ray-image-pinned",
        RAY,
        "team-a",
        _set("spec.workerGroupSpecs.0.template.spec.containers.0.image", "rayproject/ray:latest"),
        "a10g: image rayproject/ray:latest is not pinned",
    ),
    Case(
        "ray-pod-resources",
        RAY,
        "team-a",
        _set("spec.headGroupSpec.template.spec.containers.0.resources.limits", {"cpu": "4"}),
        "head/ray-head: no limits.memory",
    ),
    Case(
        "ray-gpu-workers-tolerate-taint",
        RAY,
        "team-a",
        _set("spec.workerGroupSpecs.0.template.spec.tolerations", []),
        "a10g requests GPUs but does not tolerate",
    ),
    Case(
        "ray-no-public-load-balancer",
        SERVICE,
        "ray-head",
        _set("spec.type", "LoadBalancer"),
        "a LoadBalancer service exposes a Ray head",
    ),
    Case(
        "namespace-cost-labels",
        NAMESPACE,
        "dev-platform-ray",
        _set("metadata.labels.team", _DELETE),
        "namespace lacks cost labels team",
    ),
    Case(
        "namespace-pod-security",
        NAMESPACE,
        "dev-platform-ray",
        _set(("metadata", "labels", "pod-security.kubernetes.io/enforce"), "privileged"),
        "not enforced at baseline",
    ),
    # An empty value on the resource overrides the provider's default tag.
    Case("aws-required-tags", BUCKET, "dev-artifacts", _set("tags.owner", ""), "missing cost tags owner"),
    Case("aws-tag-limits", BUCKET, "dev-artifacts", _set("tags.aws:team", "x"), "the 'aws:' prefix is reserved"),
    Case("gcp-labels", GCS, "gcs-artifacts", _set("labels.Team", "ML"), "key 'Team' must match"),
    Case(
        "gke-private-nodes",
        GKE,
        "gcp-dev",
        _set("privateClusterConfig.enablePrivateNodes", False),
        "nodes have public IP addresses",
        stack="gcp-dev",
    ),
    Case(
        "gke-control-plane-access",
        GKE,
        "gcp-dev",
        _set("masterAuthorizedNetworksConfig.cidrBlocks.0.cidrBlock", "0.0.0.0/0"),
        "the control plane is open to 0.0.0.0/0",
        stack="gcp-dev",
    ),
    Case(
        "gke-workload-identity",
        GKE_POOL,
        "gcp-dev-l4",
        _set("nodeConfig.workloadMetadataConfig.mode", "GCE_METADATA"),
        "not GKE_METADATA",
        stack="gcp-dev",
    ),
    Case(
        "gke-shielded-nodes",
        GKE_POOL,
        "gcp-dev-l4",
        _set("nodeConfig.shieldedInstanceConfig.enableSecureBoot", False),
        "secure boot is off",
        stack="gcp-dev",
    ),
    Case(
        "gke-no-default-service-account",
        GKE_POOL,
        "gcp-dev-system",
        _set("nodeConfig.serviceAccount", "123456789-compute@developer.gserviceaccount.com"),
        "default compute service account",
        stack="gcp-dev",
    ),
    Case("gke-legacy-auth-off", GKE, "gcp-dev", _set("enableLegacyAbac", True), "legacy ABAC", stack="gcp-dev"),
    Case(
        "gke-gpu-pools-tainted",
        GKE_POOL,
        "gcp-dev-t4",
        _set("nodeConfig.taints", []),
        "without the nvidia.com/gpu NoSchedule taint",
        stack="gcp-dev",
    ),
    Case(
        "gcs-public-access-prevention",
        GCS,
        "gcp-dev-artifacts",
        _set("publicAccessPrevention", "inherited"),
        "public access prevention is inherited",
        stack="gcp-dev",
    ),
    Case(
        "gcs-uniform-access",
        GCS,
        "gcp-dev-artifacts",
        _set("uniformBucketLevelAccess", False),
        "object ACLs are allowed",
        stack="gcp-dev",
    ),
    Case(
        "gcs-versioning",
        GCS,
        "gcp-dev-artifacts",
        _set("versioning.enabled", False),
        "versioning is off",
        stack="gcp-dev",
    ),
    Case(
        "gcp-no-primitive-roles",
        PROJECT_MEMBER,
        "gcp-dev-nodes-viewer",
        _set("role", "roles/editor"),
        "primitive role roles/editor",
        stack="gcp-dev",
    ),
]


@functools.cache
def _baseline_report(stack: str, config: str):
    return check(baseline(stack), json.loads(config))


def test_every_rule_has_a_case():
    from tests.test_gcs_reach import GCS_REACH_CASES
    from tests.test_policy_aws import AWS_CASES
    from tests.test_policy_cost import COST_CASES
    from tests.test_policy_databases import DATABASE_CASES
    from tests.test_policy_gcp import GCP_CASES
    from tests.test_policy_gcs_redis import GCS_REDIS_CASES
    from tests.test_policy_karpenter import KARPENTER_CASES
    from tests.test_policy_kubernetes import KUBERNETES_CASES
    from tests.test_policy_sso import SSO_CASES

    cases = [
        *CASES,
        *AWS_CASES,
        *GCP_CASES,
        *KUBERNETES_CASES,
        *COST_CASES,
        *KARPENTER_CASES,
        *GCS_REDIS_CASES,
        *GCS_REACH_CASES,
        *SSO_CASES,
        *DATABASE_CASES,
    ]
    assert {c.policy for c in cases} == {p.name for p in ALL_POLICIES}


@pytest.mark.parametrize("case", CASES, ids=[c.policy for c in CASES])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def check_case(case: Case) -> None:
    """The rule passes ``case``'s resource in the baseline, and fails it once the change is made."""
    plan = baseline(case.stack)
    target_type, target_name = case.changed_type or case.type, case.changed_name or case.name
    config = {**load_policy_config(policy_config_path(plan.stack)), **case.config}
    before = outcome(
        _baseline_report(case.stack, json.dumps(config, sort_keys=True)), case.policy, case.type, case.name
    )
    assert before.status == "passed", before
    after = outcome(
        check(changed(plan, target_type, target_name, case.change), config), case.policy, case.type, case.name
    )
    assert after.status == "failed", after
    assert case.expected in after.message
