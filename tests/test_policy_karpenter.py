"""The Karpenter rules: each passes the staging stack's NodePool and EC2NodeClass and fails when one field
changes; a check never raises on an input of the wrong shape."""

from __future__ import annotations

import pytest

from catalog.karpenter import NODECLASS_TYPE, NODEPOOL_TYPE
from policies import karpenter
from policies.rules import Subject
from tests.policy_support import baseline, changed, check
from tests.test_policy_rules import _DELETE, Case, _set, check_case

POOL, NODE_CLASS = "staging-karpenter-a10g-nodepool", "staging-karpenter-a10g-ec2nodeclass"


def _case(policy, type_, name, change, expected, **kwargs) -> Case:
    return Case(policy, type_, name, change, expected, stack="staging", **kwargs)


KARPENTER_CASES = [
    # The node-group rules bound a NodePool the same way.
    _case(
        "gpu-instance-types-allowed",
        NODEPOOL_TYPE,
        POOL,
        _set("spec.template.spec.requirements.0.values", ["p5.48xlarge"]),
        "p5.48xlarge is not an allowed GPU instance type",
        config={"gpu-instance-types-allowed": {"allowedInstanceTypes": ["g5.xlarge", "g5.2xlarge"]}},
    ),
    _case(
        "gpu-pool-bounds",
        NODEPOOL_TYPE,
        POOL,
        _set(("spec", "limits", "nvidia.com/gpu"), "80"),
        "up to 80 GPUs exceeds the 64 allowed per GPU pool",
        config={"gpu-pool-bounds": {"maxNodesPerPool": 100, "maxGpusPerPool": 64}},
    ),
    _case(
        "gpu-pool-bounds", NODEPOOL_TYPE, POOL, _set(("spec", "limits", "nvidia.com/gpu"), _DELETE), "sets no GPU limit"
    ),
    _case(
        "gpu-stack-budget",
        NODEPOOL_TYPE,
        POOL,
        _set(("spec", "limits", "nvidia.com/gpu"), "20"),
        "reach 20 GPUs, over the 16 allowed",
        config={"gpu-stack-budget": {"maxGpusPerStack": 16}},
    ),
    _case(
        "karpenter-gpu-pool-tainted",
        NODEPOOL_TYPE,
        POOL,
        _set("spec.template.spec.taints", []),
        "without the nvidia.com/gpu NoSchedule taint",
    ),
    _case(
        "karpenter-gpu-pool-tainted",
        NODEPOOL_TYPE,
        POOL,
        _set("spec.template.spec.taints.0.effect", "PreferNoSchedule"),
        "without the nvidia.com/gpu NoSchedule taint",
    ),
    _case("karpenter-nodepool-limits", NODEPOOL_TYPE, POOL, _set("spec.limits", _DELETE), "sets no limits"),
    _case(
        "karpenter-nodepool-limits",
        NODEPOOL_TYPE,
        POOL,
        _set(("spec", "limits", "nvidia.com/gpu"), _DELETE),
        "do not bound nvidia.com/gpu",
    ),
    _case("karpenter-nodepool-limits", NODEPOOL_TYPE, POOL, _set("spec.limits.cpu", _DELETE), "do not bound cpu"),
    _case(
        "karpenter-imdsv2-required",
        NODECLASS_TYPE,
        NODE_CLASS,
        _set("spec.metadataOptions.httpTokens", "optional"),
        "IMDSv1 is allowed",
    ),
    _case(
        "karpenter-imdsv2-required",
        NODECLASS_TYPE,
        NODE_CLASS,
        _set("spec.metadataOptions.httpPutResponseHopLimit", 2),
        "hop limit (2)",
    ),
    _case(
        "karpenter-encrypted-volumes",
        NODECLASS_TYPE,
        NODE_CLASS,
        _set("spec.blockDeviceMappings.0.ebs.encrypted", False),
        "volume /dev/xvda is not encrypted",
    ),
    _case(
        "karpenter-encrypted-volumes",
        NODECLASS_TYPE,
        NODE_CLASS,
        _set("spec.blockDeviceMappings", _DELETE),
        "no blockDeviceMappings",
    ),
    _case(
        "karpenter-no-public-ip",
        NODECLASS_TYPE,
        NODE_CLASS,
        _set("spec.associatePublicIPAddress", True),
        "associatePublicIPAddress is not false",
    ),
    _case(
        "karpenter-no-public-ip",
        NODECLASS_TYPE,
        NODE_CLASS,
        _set("spec.associatePublicIPAddress", _DELETE),
        "associatePublicIPAddress is not false",
    ),
    _case("karpenter-cost-tags", NODECLASS_TYPE, NODE_CLASS, _set("spec.tags.team", _DELETE), "lack cost tags team"),
]


@pytest.mark.parametrize("case", KARPENTER_CASES, ids=[f"{c.policy}-{i}" for i, c in enumerate(KARPENTER_CASES)])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def test_every_karpenter_rule_has_a_case():
    assert {c.policy for c in KARPENTER_CASES} >= {p.name for p in karpenter.POLICIES}


@pytest.mark.parametrize("spec", [None, "text", [], {"template": "x", "limits": [1]}, {"metadataOptions": [1]}])
def test_checks_report_instead_of_raising_on_a_wrong_shape(spec):
    plan = changed(baseline("staging"), NODEPOOL_TYPE, POOL, _set("spec", spec))
    plan = changed(plan, NODECLASS_TYPE, NODE_CLASS, _set("spec", spec))
    report = check(plan)
    judged = [f for f in report.findings if f.policy in {p.name for p in karpenter.POLICIES}]
    assert len(judged) == len(karpenter.POLICIES)
    assert {f.status for f in judged} <= {"passed", "failed"}, [(f.policy, f.message) for f in judged]


def test_a_cpu_nodepool_needs_no_gpu_taint_or_gpu_limit():
    subject = Subject(
        NODEPOOL_TYPE,
        "cpu",
        "urn:cpu",
        {
            "spec": {
                "template": {"spec": {"requirements": [{"key": "x", "values": ["m6i.large"]}]}},
                "limits": {"cpu": "64"},
            }
        },
        False,
        {},
    )
    assert not karpenter.is_gpu_pool(subject)
    assert list(karpenter._limits(subject, {})) == []
    assert list(karpenter._gpu_tainted(subject, {})) == []
