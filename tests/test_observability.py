"""Observability: Prometheus selects everything the platform ships, dashboards come from the installed
ray, PromQL names real metrics, Helm values use real keys, and every alert has its runbook."""

from __future__ import annotations

import json
import os
import re

import pytest
import ray
import yaml

from catalog import versions
from catalog.karpenter import NODEPOOL_TYPE
from catalog.ray_ports import head_container_ports, worker_container_ports
from components.kubernetes.observability import alerts, dashboards, ray_dashboards
from rayplat import PROJECT_ROOT
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from tests.conftest import get_key, planned, set_key

MONITOR_KINDS = ("PodMonitor", "ServiceMonitor", "PrometheusRule")


def _release(plan, chart):
    (release,) = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == chart]
    return release


def _custom(plan, kind):
    return [r for r in plan.resources if r.type == f"kubernetes:monitoring.coreos.com/v1:{kind}"]


def _selects(spec: dict, kind: str, labels: dict, release: str) -> bool:
    """prometheus-operator's rule: with *NilUsesHelmValues on, an empty selector means release=<name>."""
    key = {"PodMonitor": "podMonitor", "ServiceMonitor": "serviceMonitor", "PrometheusRule": "rule"}[kind]
    selector = spec.get(f"{key}Selector", {})
    if not selector and spec.get(f"{key}SelectorNilUsesHelmValues", True):
        selector = {"matchLabels": {"release": release}}
    namespaces = spec.get(f"{key}NamespaceSelector")
    return namespaces == {} and all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_prometheus_selects_every_monitor_and_rule(any_plan):
    stack = _release(any_plan, "kube-prometheus-stack")
    spec = stack.inputs["values"]["prometheus"]["prometheusSpec"]
    shipped = [
        (kind, r.inputs["metadata"].get("labels", {})) for kind in MONITOR_KINDS for r in _custom(any_plan, kind)
    ]
    karpenter = {"ServiceMonitor"} if any_plan.of_type(NODEPOOL_TYPE) else set()
    assert {kind for kind, _ in shipped} == {"PodMonitor", "PrometheusRule", *karpenter}
    # Monitors the charts create: KubeRay's ServiceMonitor, and dcgm-exporter's where there are GPU pools.
    chart_monitors = [
        (
            "ServiceMonitor",
            _release(any_plan, "kuberay-operator").inputs["values"]["metrics"]["serviceMonitor"]["additionalLabels"],
        )
    ]
    if any_plan.outputs["gpuPools"]:
        dcgm = _release(any_plan, "dcgm-exporter").inputs["values"]["serviceMonitor"]
        assert dcgm["enabled"] is True and dcgm["honorLabels"] is True
        chart_monitors.append(("ServiceMonitor", dcgm["additionalLabels"]))
    for kind, labels in shipped + chart_monitors:
        assert _selects(spec, kind, labels, stack.inputs["name"]), (kind, labels)


def test_ray_monitors_scrape_the_declared_ports_and_label_the_cluster(any_plan):
    monitors = {m.inputs["metadata"]["name"]: m.inputs["spec"] for m in _custom(any_plan, "PodMonitor")}
    assert set(monitors) == {"ray-head", "ray-workers", "cluster-autoscaler"}
    del monitors["cluster-autoscaler"]
    head_ports = {p["name"] for p in head_container_ports()}
    assert [e["port"] for e in monitors["ray-head"]["podMetricsEndpoints"]] == ["metrics", "as-metrics", "dash-metrics"]
    assert {e["port"] for e in monitors["ray-head"]["podMetricsEndpoints"]} <= head_ports
    assert {e["port"] for e in monitors["ray-workers"]["podMetricsEndpoints"]} == {
        p["name"] for p in worker_container_ports()
    }
    for spec in monitors.values():
        for endpoint in spec["podMetricsEndpoints"]:
            assert endpoint["relabelings"][0]["targetLabel"] == "ray_io_cluster"
    assert {p["containerPort"] for p in head_container_ports()} >= {8080, 44217, 44227}


def test_dashboards_are_rays_own_valid_and_within_configmap_limits(any_plan):
    maps = {
        m.inputs["metadata"]["name"]: m.inputs
        for m in any_plan.of_type("kubernetes:core/v1:ConfigMap")
        if m.inputs["metadata"].get("labels") == dashboards.SIDECAR_LABEL
    }
    karpenter = ["karpenter"] if any_plan.of_type(NODEPOOL_TYPE) else []
    expected = {f"dashboard-{n}" for n in (*ray_dashboards.FACTORIES, "gpu", "kuberay-operator", "cost", *karpenter)}
    assert set(maps) == expected
    sidecar = _release(any_plan, "kube-prometheus-stack").inputs["values"]["grafana"]["sidecar"]["dashboards"]
    assert {sidecar["label"]: sidecar["labelValue"]} == dashboards.SIDECAR_LABEL
    for name, committed in ray_dashboards.ray_dashboards().items():
        (content,) = maps[f"dashboard-{name}"]["data"].values()
        assert content == committed, name
    for configmap in maps.values():
        (content,) = configmap["data"].values()
        assert json.loads(content)["panels"]
        assert len(content.encode()) < dashboards.CONFIGMAP_LIMIT_BYTES


def test_committed_ray_dashboards_are_what_the_pinned_ray_generates_whatever_the_environment(monkeypatch):
    monkeypatch.setenv("RAY_GRAFANA_DEFAULT_DASHBOARD_UID", "from-a-developers-shell")
    monkeypatch.setenv("RAY_GRAFANA_DEFAULT_GLOBAL_FILTERS", 'team="x"')
    assert ray.__version__ == versions.RAY_VERSION
    from ray.dashboard.modules.metrics import grafana_dashboard_factory

    shell_sees = grafana_dashboard_factory.generate_default_grafana_dashboard()[0]
    assert shell_sees != ray_dashboards.ray_dashboards()["ray-default"], "the override no longer reaches Ray"
    generated = ray_dashboards.generate()
    assert generated and generated == ray_dashboards.ray_dashboards(), "run `make dashboards` and commit the result"
    assert os.environ["RAY_GRAFANA_DEFAULT_DASHBOARD_UID"] == "from-a-developers-shell"


def _ray_metrics(upstream_dir) -> set[str]:
    document = json.loads((upstream_dir / "ray-2.60.0-exported-metrics.json").read_text())
    names = {f["name"] for endpoint in document["endpoints"].values() for f in endpoint["families"]}
    return names | set(document["gpu_metrics_not_scraped_here"])


def _dcgm_metrics(upstream_dir) -> set[str]:
    values = (upstream_dir / "dcgm-exporter-4.8.2" / "values.yaml").read_text()
    return set(re.findall(r"(DCGM_FI_[A-Z0-9_]+)\s*,", values))


# Metrics of the cluster's own exporters (kube-state-metrics, kubelet, cluster-autoscaler, controller-runtime)
# and Prometheus itself; everything else must be one Ray or dcgm-exporter exports.
KUBERNETES_METRIC_PREFIXES = (
    "kube_",
    "kubelet_volume_stats_",
    "cluster_autoscaler_",
    "controller_runtime_",
    "workqueue_",
)
_PROMQL_WORDS = {
    "sum",
    "avg",
    "max",
    "min",
    "count",
    "by",
    "on",
    "and",
    "or",
    "unless",
    "without",
    "rate",
    "increase",
    "absent",
    "predict_linear",
    "histogram_quantile",
    "group_left",
    "vector",
    "le",
    "bool",
    "ignoring",
}


def metric_names(expr: str) -> set[str]:
    """Identifiers of a PromQL expression that name series: not functions, keywords, labels or durations."""
    expr = re.sub(r'"[^"]*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    words = set(re.findall(r"\b([A-Za-z_:][A-Za-z0-9_:]*)\b(?!\s*\()", expr))
    return {w for w in words if w not in _PROMQL_WORDS and not w.isdigit()}


def test_promql_names_real_metrics(upstream_dir):
    known = _ray_metrics(upstream_dir) | _dcgm_metrics(upstream_dir) | {"up"}
    pool = planned("dev")
    exprs = [a.expr for a in alerts.alerts([])]
    rule = _custom(pool, "PrometheusRule")[0].inputs["spec"]["groups"][0]["rules"]
    exprs += [r["expr"] for r in rule]
    exprs += [p[1] for p in dashboards.GPU_PANELS + dashboards.KUBERAY_PANELS]
    for expr in exprs:
        for name in metric_names(expr):
            assert name in known or name.startswith(KUBERNETES_METRIC_PREFIXES), f"{name} in {expr}"
    assert "DCGM_FI_DEV_GPU_UTIL" in _dcgm_metrics(upstream_dir)
    assert "ray_cluster_active_nodes" in _ray_metrics(upstream_dir)


def test_metric_name_extraction():
    assert metric_names('avg by (pod) (DCGM_FI_DEV_GPU_UTIL{pod!=""}) < 5') == {"DCGM_FI_DEV_GPU_UTIL"}
    assert metric_names("increase(cluster_autoscaler_failed_scale_ups_total[15m]) > 0") == {
        "cluster_autoscaler_failed_scale_ups_total"
    }


def test_every_alert_links_to_an_existing_runbook():
    rules = _custom(planned("prod"), "PrometheusRule")[0].inputs["spec"]["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {
        "RayHeadDown",
        "KubeRayOperatorDown",
        "GpuAllocatedButIdle",
        "GpuPoolAtMaxWithPendingPods",
        "ClusterAutoscalerFailingToScaleUp",
        "PrometheusDiskFilling",
    }
    for rule in rules:
        page = PROJECT_ROOT / rule["annotations"]["runbook"]
        assert page.is_file(), f"{rule['alert']}: no {page}"
    pools = [r["labels"]["pool"] for r in rules if r["alert"] == "GpuPoolAtMaxWithPendingPods"]
    assert pools == ["a10g-ondemand", "a10g-spot", "h100"]


def _unknown(values: dict, defaults: dict, path: str = "") -> list[str]:
    unknown = []
    for key, value in values.items():
        if key not in defaults:
            unknown.append(f"{path}{key}")
        elif key not in FREE_FORM and isinstance(value, dict) and isinstance(defaults[key], dict) and defaults[key]:
            unknown += _unknown(value, defaults[key], f"{path}{key}.")
    return unknown


FREE_FORM = {
    "resources",
    "nodeSelector",
    "labels",
    "annotations",
    "affinity",
    "tolerations",
    "additionalLabels",
    "storageSpec",
    "serviceAccount",
}
# Values for subcharts whose defaults live in the subchart, not in kube-prometheus-stack's values.yaml.
SUBCHART_KEYS = {"kube-state-metrics.metricLabelsAllowlist", "grafana.ingress.enabled"}


@pytest.mark.parametrize(
    "chart, directory",
    [("kube-prometheus-stack", "kube-prometheus-stack-88.5.3"), ("dcgm-exporter", "dcgm-exporter-4.8.2")],
)
def test_helm_values_use_keys_the_pinned_charts_define(chart, directory, upstream_dir):
    defaults = yaml.safe_load((upstream_dir / directory / "values.yaml").read_text())
    values = _release(planned("dev"), chart).inputs["values"]
    assert set(_unknown(values, defaults)) <= SUBCHART_KEYS


def test_grafana_is_private_and_its_password_generated(any_plan):
    values = _release(any_plan, "kube-prometheus-stack").inputs["values"]
    assert values["grafana"]["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in values["grafana"] and values["grafana"]["ingress"]["enabled"] is False
    secret = next(s for s in any_plan.of_type("kubernetes:core/v1:Secret") if s.name.endswith("-grafana"))
    assert secret.inputs["stringData"] == "[secret]"
    assert values["crds"]["upgradeJob"]["enabled"] is True


def test_retention_and_storage_follow_config():
    config = read_stack_config("dev")
    config = set_key(config, "observability", {"retention": "30d", "storageGib": 200})
    spec = _release(run_program("dev", config, PROGRAM), "kube-prometheus-stack").inputs["values"]["prometheus"][
        "prometheusSpec"
    ]
    assert spec["retention"] == "30d"
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "200Gi"


def test_dcgm_exporter_runs_on_gpu_pools_only():
    plan = planned("dev")
    values = _release(plan, "dcgm-exporter").inputs["values"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert [t["matchExpressions"][0]["values"] for t in terms] == [["a10g"], ["l4"]]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]
    assert not [
        r for r in planned("local").of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "dcgm-exporter"
    ]


def test_managed_prometheus_on_aws_remote_writes_with_its_own_role():
    config = set_key(read_stack_config("dev"), "observability", {"managedPrometheus": True})
    plan = run_program("dev", config, PROGRAM)
    (workspace,) = plan.of_type("aws:amp/workspace:Workspace")
    values = _release(plan, "kube-prometheus-stack").inputs["values"]
    (remote,) = values["prometheus"]["prometheusSpec"]["remoteWrite"]
    assert remote["url"].endswith("/api/v1/remote_write") and remote["sigv4"] == {"region": "us-west-2"}
    role_arn = values["prometheus"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    policy = next(p for p in plan.of_type("aws:iam/policy:Policy") if "metrics-writer" in p.name)
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == "aps:RemoteWrite" and statement["Resource"].startswith("arn:aws:aps:")
    trust = next(r for r in plan.of_type("aws:iam/role:Role") if r.name.endswith("metrics-writer"))
    assert "monitoring:kube-prometheus-stack-prometheus" in trust.inputs["assumeRolePolicy"]
    assert role_arn.split("/")[-1].startswith("dev-metrics-writer")
    assert workspace.inputs["tags"]["team"] == "ml-platform"


def test_managed_prometheus_is_refused_where_not_supported():
    config = set_key(read_stack_config("gcp-dev"), "observability", {"managedPrometheus": True})
    with pytest.raises(ConfigError, match="observability.managedPrometheus: is supported on AWS"):
        parse_config(project_keys(config))


def test_observability_can_be_turned_off():
    config = set_key(read_stack_config("local"), "observability", {"enabled": False})
    plan = run_program("local", config, PROGRAM)
    assert not [
        r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"] == "kube-prometheus-stack"
    ]
    kuberay = _release(plan, "kuberay-operator")
    assert kuberay.inputs["values"]["metrics"]["serviceMonitor"]["enabled"] is False
    assert get_key(config, "observability") == {"enabled": False}
