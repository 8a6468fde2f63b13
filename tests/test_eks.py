"""The control plane: endpoint access from config, encrypted secrets, every log, admin access, OIDC."""

from __future__ import annotations

import json

from components.aws.eks import CONTROL_PLANE_LOG_TYPES
from rayplat.plan.engine import read_stack_config
from tests.conftest import planned, resource


def _cluster(plan):
    return resource(plan, "aws:eks/cluster:Cluster")


def test_endpoint_access_follows_config(plan):
    endpoint = json.loads(read_stack_config(plan.stack)["ray-platform:cluster"])["endpoint"]
    vpc = _cluster(plan).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is (endpoint["access"] == "public")
    assert vpc.get("publicAccessCidrs", []) == endpoint.get("publicCidrs", [])
    assert "0.0.0.0/0" not in vpc.get("publicAccessCidrs", [])


def test_prod_api_is_private():
    assert _cluster(planned("prod")).inputs["vpcConfig"]["endpointPublicAccess"] is False


def test_secrets_are_envelope_encrypted_with_a_rotating_key(plan):
    cluster = _cluster(plan)
    (encryption,) = [cluster.inputs["encryptionConfig"]]
    assert encryption["resources"] == ["secrets"]
    key = resource(plan, "aws:kms/key:Key", f"{plan.stack}-secrets")
    assert key.inputs["enableKeyRotation"] is True
    # Losing this key makes every secret of the cluster unreadable: production keeps it whatever happens.
    assert key.protect is key.retainOnDelete is (plan.stack == "prod")
    assert encryption["provider"]["keyArn"].startswith("arn:aws:kms:")


def test_every_control_plane_log_is_on_with_a_retention(plan):
    assert sorted(_cluster(plan).inputs["enabledClusterLogTypes"]) == sorted(CONTROL_PLANE_LOG_TYPES)
    group = resource(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["name"] == f"/aws/eks/ray-{plan.stack}/cluster"
    assert group.inputs["retentionInDays"] > 0
    assert group.urn in _cluster(plan).dependencies


def test_admin_role_gets_cluster_admin_through_an_access_entry(plan):
    admin_arn = json.loads(read_stack_config(plan.stack)["ray-platform:cluster"])["adminRoleArn"]
    entry = resource(plan, "aws:eks/accessEntry:AccessEntry", f"{plan.stack}-admin")
    association = resource(plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", f"{plan.stack}-admin")
    assert entry.inputs["principalArn"] == admin_arn
    assert association.inputs["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
    assert _cluster(plan).inputs["accessConfig"]["authenticationMode"] == "API"


def test_oidc_provider_serves_sts(plan):
    provider = resource(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert provider.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert provider.inputs["url"].startswith("https://oidc.eks.")


def test_core_addons_are_pinned_and_use_irsa_where_they_call_aws(plan):
    addons = {a.inputs["addonName"]: a for a in plan.of_type("aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"}
    assert all(a.inputs["addonVersion"] for a in addons.values())
    for name in ("vpc-cni", "aws-ebs-csi-driver"):
        assert addons[name].inputs["serviceAccountRoleArn"].startswith("arn:aws:iam::")


def test_network_spans_the_configured_zones(plan):
    network = json.loads(read_stack_config(plan.stack)["ray-platform:network"])
    subnets = plan.of_type("aws:ec2/subnet:Subnet")
    assert {s.inputs["availabilityZone"] for s in subnets} == set(network["availabilityZones"])
    private = [s for s in subnets if s.inputs["tags"].get("kubernetes.io/role/internal-elb") == "1"]
    public = [s for s in subnets if s.inputs["tags"].get("kubernetes.io/role/elb") == "1"]
    assert len(private) == len(public) == len(network["availabilityZones"])
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in public)
    nats = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == (len(network["availabilityZones"]) if network["natGateways"] == "perAz" else 1)
    subnet_dependencies = {d for d in _cluster(plan).dependencies if "aws:ec2/subnet:Subnet" in d}
    assert subnet_dependencies == {s.urn for s in private}, "the control plane belongs in the private subnets"


def test_a_default_storage_class_of_encrypted_expandable_gp3(plan):
    (storage,) = plan.of_type("kubernetes:storage.k8s.io/v1:StorageClass")
    inputs = storage.inputs
    assert inputs["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert inputs["provisioner"] == "ebs.csi.aws.com" and inputs["parameters"] == {"type": "gp3", "encrypted": "true"}
    assert inputs["allowVolumeExpansion"] is True and inputs["reclaimPolicy"] == "Retain"
    ebs = next(a for a in plan.of_type("aws:eks/addon:Addon") if a.inputs["addonName"] == "aws-ebs-csi-driver")
    assert ebs.urn in storage.dependencies
