"""What survives a voluntary disruption: in protected stacks the KubeRay operator, Kueue and Prometheus run
two replicas (one leading) behind disruption budgets; every team's Ray head has a budget. Every chart value
set here is a key the pinned chart declares."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.kubernetes.kuberay import OPERATOR_LABELS
from tests.conftest import planned

RELEASE = "kubernetes:helm.sh/v3:Release"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
CHARTS = {
    "kuberay-operator": "kuberay/chart-kuberay-operator-1.7.0/values.yaml",
    "kueue": "kueue/chart-0.19.2/values.yaml",
    "kube-prometheus-stack": "kube-prometheus-stack-88.5.3/values.yaml",
}
# The availability keys each chart is given: (path in the values, value when protected, value otherwise).
KEYS: dict[str, list[tuple[tuple[str, ...], Any, Any]]] = {
    "kuberay-operator": [(("replicas",), 2, 1), (("leaderElectionEnabled",), True, True)],
    "kueue": [
        (("controllerManager", "replicas"), 2, 1),
        (("controllerManager", "podDisruptionBudget", "enabled"), True, False),
        (("controllerManager", "podDisruptionBudget", "minAvailable"), 1, 1),
    ],
    "kube-prometheus-stack": [
        (("prometheus", "prometheusSpec", "replicas"), 2, 1),
        (("prometheus", "podDisruptionBudget", "enabled"), True, False),
        (("prometheus", "podDisruptionBudget", "minAvailable"), 1, 1),
    ],
}


def _dig(values: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        values = values[key]
    return values


def _values(stack: str, chart: str) -> dict:
    (release,) = [r for r in planned(stack).of_type(RELEASE) if r.inputs["name"] == chart]
    return release.inputs["values"]


@pytest.mark.parametrize("chart", KEYS)
def test_each_availability_key_exists_in_the_pinned_chart(chart, upstream_dir):
    defaults = yaml.safe_load((upstream_dir / CHARTS[chart]).read_text())
    for path, _, _ in KEYS[chart]:
        _dig(defaults, path)  # a KeyError names a key the chart does not have


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("dev", False)])
@pytest.mark.parametrize("chart", KEYS)
def test_protected_stacks_run_two_replicas_behind_a_budget(stack, protected, chart):
    values = _values(stack, chart)
    for path, when_protected, otherwise in KEYS[chart]:
        assert _dig(values, path) == (when_protected if protected else otherwise), path


@pytest.mark.parametrize(("stack", "protected"), [("prod", True), ("dev", False)])
def test_the_operator_has_its_own_budget_where_it_has_two_replicas(stack, protected):
    budgets = [b for b in planned(stack).of_type(PDB) if b.inputs["metadata"]["namespace"] == "kuberay-system"]
    if not protected:
        assert budgets == []
        return
    (budget,) = budgets
    assert budget.inputs["spec"] == {"minAvailable": 1, "selector": {"matchLabels": OPERATOR_LABELS}}
    assert _values(stack, "kuberay-operator").get("labels", {}).keys().isdisjoint(OPERATOR_LABELS)


@pytest.mark.parametrize("stack", ["dev", "prod", "gcp-dev"])
def test_every_team_ray_head_has_a_budget(stack):
    plan = planned(stack)
    clusters = plan.of_type("kubernetes:ray.io/v1:RayCluster")
    assert clusters
    budgets = {(b.inputs["metadata"]["namespace"], b.inputs["metadata"]["name"]): b for b in plan.of_type(PDB)}
    for cluster in clusters:
        name, namespace = cluster.inputs["metadata"]["name"], cluster.inputs["metadata"]["namespace"]
        budget = budgets[(namespace, f"{name}-head")]
        assert budget.inputs["spec"]["minAvailable"] == 1
        assert budget.inputs["spec"]["selector"]["matchLabels"] == {"ray.io/cluster": name, "ray.io/node-type": "head"}
