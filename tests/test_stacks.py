"""Every shipped stack plans, and carries the platform's building blocks."""

from __future__ import annotations

from catalog import versions
from tests.conftest import resource


def test_stack_plans_the_platform(plan):
    types = {r.type for r in plan.resources}
    for required in (
        "aws:eks/cluster:Cluster",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:s3/bucket:Bucket",
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        "kubernetes:helm.sh/v3:Release",
        "kubernetes:yaml/v2:ConfigGroup",
    ):
        assert required in types, f"{plan.stack} plans no {required}"
    assert plan.outputs["clusterName"] == f"ray-{plan.stack}"
    assert plan.outputs["kubeconfig"] == "[secret]"
    assert plan.outputs["artifactBucketUri"] == f"s3://{plan.outputs['artifactBucket']}"


def test_kuberay_operator_and_crds_are_pinned_together(any_plan):
    plan = any_plan
    release = resource(plan, "kubernetes:helm.sh/v3:Release", f"{plan.stack}-platform-kuberay")
    assert release.inputs["chart"] == "kuberay-operator"
    assert release.inputs["version"] == versions.KUBERAY_VERSION == "1.7.0"
    assert release.inputs["skipCrds"] is True
    assert release.inputs["values"]["image"]["tag"] == "v1.7.0"
    crds = resource(plan, "kubernetes:yaml/v2:ConfigGroup", f"{plan.stack}-platform-kuberay-crds")
    assert len(crds.inputs["files"]) == 4
    assert all("/kuberay/v1.7.0/" in url for url in crds.inputs["files"])
    assert crds.urn in release.dependencies, "the operator must wait for its CRDs"


def test_every_resource_has_a_parent_component_and_an_explicit_provider(plan):
    for r in plan.resources:
        assert r.parent, f"{r.urn} has no parent"
        # random needs no configuration: its default provider is the right one.
        if r.custom and not r.type.startswith(("pulumi:providers:", "random:")):
            assert r.provider, f"{r.urn} uses the default provider"


def test_system_pool_runs_the_operator_and_autoscaler(plan):
    system = {"rayplat.io/pool": "system"}
    kuberay = resource(plan, "kubernetes:helm.sh/v3:Release", f"{plan.stack}-platform-kuberay")
    autoscaler = resource(plan, "kubernetes:helm.sh/v3:Release", f"{plan.stack}-autoscaler")
    assert kuberay.inputs["values"]["nodeSelector"] == system
    assert autoscaler.inputs["values"]["nodeSelector"] == system
    assert autoscaler.inputs["values"]["autoDiscovery"]["clusterName"] == plan.outputs["clusterName"]
