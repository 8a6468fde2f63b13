"""GPU pools are tainted, labelled, hardened, and can scale up from zero."""

from __future__ import annotations

import json

import pytest

from components.aws.nodepools import AUTOSCALER_TEMPLATE
from rayplat.plan.engine import read_stack_config
from tests.conftest import planned


def _pools(stack):
    """The stack's GPU pools, which these tests expect as managed node groups."""
    config = read_stack_config(stack)
    if json.loads(config["ray-platform:aws"]).get("provisioner") == "karpenter":
        pytest.skip(f"{stack}'s GPU pools are Karpenter NodePools (tests/test_karpenter.py)")
    return {p["name"]: p for p in json.loads(config["ray-platform:gpuPools"])}


def _node_group(plan, pool):
    return next(r for r in plan.of_type("aws:eks/nodeGroup:NodeGroup") if r.name == f"{plan.stack}-{pool}")


def test_gpu_pools_are_tainted_labelled_and_on_the_nvidia_ami(plan):
    for name in _pools(plan.stack):
        group = _node_group(plan, name)
        assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"} in group.inputs["taints"]
        assert group.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
        assert group.inputs["labels"]["rayplat.io/pool"] == name
        assert group.inputs["labels"]["nvidia.com/gpu.present"] == "true"
        assert group.inputs["nodeGroupNamePrefix"] == f"{name}-"


def test_system_pool_is_untainted_cpu(plan):
    group = _node_group(plan, "system")
    assert group.inputs.get("taints", []) == []
    assert group.inputs["amiType"] == "AL2023_x86_64_STANDARD"


def test_scaling_bounds_and_capacity_type_follow_config(plan):
    for name, pool in _pools(plan.stack).items():
        group = _node_group(plan, name)
        scaling = group.inputs["scalingConfig"]
        assert (scaling["minSize"], scaling["maxSize"]) == (pool["minSize"], pool["maxSize"])
        assert scaling["desiredSize"] == pool.get("desiredSize", pool["minSize"])
        assert group.inputs["capacityType"] == ("SPOT" if pool["capacityType"] == "spot" else "ON_DEMAND")


def test_gpu_pools_can_scale_up_from_zero(plan):
    """cluster-autoscaler needs the GPU count, labels and taint on the ASG to build a node from nothing."""
    for name, pool in _pools(plan.stack).items():
        group = _node_group(plan, name)
        asg_name = _asg_name(plan, group)
        tags = {
            t.inputs["tag"]["key"]: t.inputs["tag"]["value"]
            for t in plan.of_type("aws:autoscaling/tag:Tag")
            if t.inputs["autoscalingGroupName"] == asg_name
        }
        gpus = {"g5.xlarge": 1, "g5.2xlarge": 1, "g6.xlarge": 1, "g5.12xlarge": 4, "p5.48xlarge": 8}
        assert tags[f"{AUTOSCALER_TEMPLATE}/resources/nvidia.com/gpu"] == str(gpus[pool["instanceTypes"][0]])
        assert tags[f"{AUTOSCALER_TEMPLATE}/taint/nvidia.com/gpu"] == "present:NoSchedule"
        assert tags[f"{AUTOSCALER_TEMPLATE}/label/rayplat.io/pool"] == name
        for key, value in group.inputs["labels"].items():
            assert tags[f"{AUTOSCALER_TEMPLATE}/label/{key}"] == value


def _asg_name(plan, group):
    # The ASG tags depend on the node group, whose computed Auto Scaling group they name.
    tags = [t for t in plan.of_type("aws:autoscaling/tag:Tag") if group.urn in t.dependencies]
    names = {t.inputs["autoscalingGroupName"] for t in tags}
    assert len(names) == 1 and next(iter(names)).startswith("eks-")
    return next(iter(names))


def test_dev_gpu_pools_scale_to_zero():
    plan = planned("dev")
    for name in _pools("dev"):
        assert _node_group(plan, name).inputs["scalingConfig"]["minSize"] == 0


def test_launch_templates_require_imdsv2_and_encrypted_gp3(plan):
    for template in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        metadata = template.inputs["metadataOptions"]
        assert metadata["httpTokens"] == "required"
        assert metadata["httpPutResponseHopLimit"] == 1
        (root,) = template.inputs["blockDeviceMappings"]
        assert root["ebs"]["encrypted"] == "true"
        assert root["ebs"]["volumeType"] == "gp3"
        group = next(g for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") if g.name == template.name)
        assert group.inputs["launchTemplate"]["id"].startswith("lt-")


def test_gpu_pool_capacity_is_reported(plan):
    pools = _pools(plan.stack)
    assert set(plan.outputs["gpuPools"]) == set(pools)
    for name, out in plan.outputs["gpuPools"].items():
        assert out["maxGpus"] == out["maxSize"] * out["gpusPerNode"]
        assert out["maxSize"] == pools[name]["maxSize"]


def test_creation_order_nodes_after_role_policies_and_addons_after_nodes(plan):
    attachments = {
        a.urn
        for a in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.name.startswith(f"{plan.stack}-node-")
    }
    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert len(attachments) == 2
    for group in groups:
        assert attachments <= set(group.dependencies), f"{group.name} could start without its node policies"
    for addon in plan.of_type("aws:eks/addon:Addon"):
        assert {g.urn for g in groups} <= set(addon.dependencies), f"{addon.name} would have no nodes to run on"
