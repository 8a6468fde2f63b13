"""The cost rules: the compliant baseline passes, one changed field fails, through the pack's own analyzer."""

from __future__ import annotations

import pytest

from tests.test_policy_rules import GKE, GKE_POOL, GROUP, RAY, Case, _set, check_case

CLUSTER = "aws:eks/cluster:Cluster"


def _standing_gpu_worker(resource):
    resource.inputs["spec"]["workerGroupSpecs"][0]["minReplicas"] = 1


COST_CASES = [
    Case(
        "stack-cost-ceiling",
        CLUSTER,
        "dev",
        _set("scalingConfig.maxSize", 12),
        "over the $4,000 allowed",
        GROUP,
        "dev-a10g",
    ),
    Case(
        "stack-cost-ceiling",
        GKE,
        "gcp-prod",
        _set("nodeConfig.machineType", "a2-highgpu-8g"),
        "over the $60,000 allowed",
        GKE_POOL,
        "gcp-prod-a100",
        stack="gcp-prod",
    ),
    Case(
        "stack-cost-ceiling",
        CLUSTER,
        "dev",
        _set("instanceTypes", ["g5.xlarge", "g9.xlarge"]),
        "no price for a10g: g5.xlarge | g9.xlarge",
        GROUP,
        "dev-a10g",
    ),
    Case(
        "dev-idle-floor-has-no-gpu",
        GROUP,
        "dev-a10g",
        _set("scalingConfig.minSize", 1),
        "pool a10g keeps 1 GPU(s) running when idle",
    ),
    Case(
        "dev-idle-floor-has-no-gpu",
        GKE_POOL,
        "gcp-dev-l4",
        _set("autoscaling.totalMinNodeCount", 2),
        "pool l4 keeps 2 GPU(s) running when idle",
        stack="gcp-dev",
    ),
    Case(
        "dev-idle-floor-has-no-gpu",
        RAY,
        "dev-platform-team-vision-ray-cluster",
        _standing_gpu_worker,
        "keeps 1 GPU(s) of pool a10g running",
    ),
]


@pytest.mark.parametrize("case", COST_CASES, ids=[f"{c.policy}-{c.stack}-{i}" for i, c in enumerate(COST_CASES)])
def test_cost_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)
