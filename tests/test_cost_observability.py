"""In-cluster cost: OpenCost pinned and private, the idle-GPU price rule, the cost dashboard, and that every
metric they query is one the pinned exporters (OpenCost, dcgm-exporter, kube-state-metrics) export."""

from __future__ import annotations

import json

import pytest
import yaml

from components.kubernetes.observability import alerts, cost, dashboards
from rayplat.cost.report import bill_of
from tests.conftest import STACKS, planned
from tests.test_observability import KUBERNETES_METRIC_PREFIXES, _dcgm_metrics, _unknown, metric_names

# OpenCost's own metrics, as its source declares them (opencost/opencost,
# modules/collector-source/pkg/scrape/opencost.go: the names the OpenCost scraper reads from the exporter).
OPENCOST_METRICS = {
    "kubecost_cluster_management_cost",
    "kubecost_network_zone_egress_cost",
    "kubecost_network_region_egress_cost",
    "kubecost_network_internet_egress_cost",
    "pv_hourly_cost",
    "kubecost_load_balancer_cost",
    "node_total_hourly_cost",
    "node_cpu_hourly_cost",
    "node_ram_hourly_cost",
    "node_gpu_hourly_cost",
    "node_gpu_count",
    "kubecost_node_is_spot",
    "container_cpu_allocation",
    "container_memory_allocation_bytes",
    "container_gpu_allocation",
    "pod_pvc_allocation",
}


def _release(plan, chart):
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart]
    return release


def _cost_rule(plan):
    (rule,) = [
        r for r in plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule") if r.name.endswith("cost-rules")
    ]
    return rule.inputs["spec"]["groups"][0]["rules"]


def test_the_cost_dashboard_and_rules_query_metrics_the_pinned_exporters_export(upstream_dir):
    recorded = {cost.GPU_PRICE, cost.IDLE_GPU_COST}
    known = OPENCOST_METRICS | _dcgm_metrics(upstream_dir) | recorded
    exprs = [p[1] for p in cost.COST_PANELS] + [r["expr"] for r in _cost_rule(planned("dev"))]
    exprs += [a.summary for a in alerts.alerts([]) if a.name == "GpuAllocatedButIdle"]
    names = set().union(*(metric_names(e) for e in exprs[:-1]))
    assert {"node_total_hourly_cost", "container_gpu_allocation", "DCGM_FI_DEV_GPU_UTIL", "kube_node_labels"} <= names
    for name in names:
        assert name in known or name.startswith(KUBERNETES_METRIC_PREFIXES), name
    assert cost.IDLE_GPU_COST in exprs[-1], "the idle-GPU alert states the money its GPUs burn"


def test_idle_gpus_are_priced_per_gpu_hour_of_their_pools_catalogue_price():
    plan = planned("dev")
    prices = {r["labels"]["pool"]: float(r["expr"].removeprefix("vector(").rstrip(")")) for r in _cost_rule(plan)[:-1]}
    lines = {line.pool: line for line in bill_of(plan).lines if line.gpus_per_unit}
    assert set(prices) == set(lines) == {"a10g", "l4"}
    for pool, usd in prices.items():
        assert usd == pytest.approx(lines[pool].unit_monthly / 730 / lines[pool].gpus_per_unit, abs=1e-6)


def test_dcgm_series_carry_their_node_for_the_join():
    monitor = _release(planned("dev"), "dcgm-exporter").inputs["values"]["serviceMonitor"]
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"} in (
        monitor["relabelings"]
    )


@pytest.mark.parametrize("stack", STACKS)
def test_opencost_is_pinned_reads_the_platforms_prometheus_and_is_reached_by_port_forward_only(stack):
    release = _release(planned(stack), "opencost")
    assert (release.inputs["version"], release.inputs["repositoryOpts"]["repo"]) == (
        "2.5.17",
        "https://opencost.github.io/opencost-helm-chart",
    )
    values = release.inputs["values"]
    assert values["service"]["type"] == "ClusterIP"
    assert values["opencost"]["ui"]["ingress"]["enabled"] is False
    prometheus = values["opencost"]["prometheus"]["internal"]
    assert (prometheus["serviceName"], prometheus["namespaceName"], prometheus["port"]) == (
        "kube-prometheus-stack-prometheus",
        "monitoring",
        9090,
    )
    assert values["opencost"]["metrics"]["serviceMonitor"]["additionalLabels"] == {"release": "kube-prometheus-stack"}


def test_opencost_values_use_keys_the_pinned_chart_defines(upstream_dir):
    defaults = yaml.safe_load((upstream_dir / "opencost-2.5.17" / "values.yaml").read_text())
    values = _release(planned("dev"), "opencost").inputs["values"]
    assert _unknown(values, defaults) == []


def test_namespaces_team_label_reaches_kube_state_metrics_for_the_per_team_panel():
    values = _release(planned("dev"), "kube-prometheus-stack").inputs["values"]
    assert "namespaces=[team]" in values["kube-state-metrics"]["metricLabelsAllowlist"]
    assert json.loads(dashboards.platform_dashboards()["cost"])["title"] == "Cost per team and pool"
