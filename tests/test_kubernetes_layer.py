"""The kubernetes layer: cloud-neutral, pinned, and consistent with the upstream charts and CRDs."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from catalog import versions
from components.kubernetes.kuberay import KubeRayArgs, operator_values
from components.nodes import PoolSpec
from rayplat import PROJECT_ROOT
from tests.conftest import config_tags, resource

CLOUD_SDKS = ("pulumi_aws", "pulumi_gcp", "boto3")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_kubernetes_layer_imports_no_cloud_sdk():
    files = sorted((PROJECT_ROOT / "components" / "kubernetes").rglob("*.py"))
    files += [PROJECT_ROOT / "components" / name for name in ("handle.py", "nodes.py")]
    assert len(files) >= 5
    for path in files:
        assert not _imports(path) & set(CLOUD_SDKS), f"{path.name} imports a cloud SDK"


def test_device_plugin_runs_only_on_gpu_nodes(plan):
    release = resource(plan, "kubernetes:helm.sh/v3:Release", f"{plan.stack}-platform-nvidia-device-plugin")
    assert release.inputs["version"] == versions.NVIDIA_DEVICE_PLUGIN.version
    values = release.inputs["values"]
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    pools = set(plan.outputs["gpuPools"])
    assert terms == [
        {"matchExpressions": [{"key": "rayplat.io/pool", "operator": "In", "values": [pool]}]} for pool in sorted(pools)
    ]
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in values["tolerations"]


def test_ray_service_account_is_bound_to_its_cloud_identity(plan):
    account = resource(plan, "kubernetes:core/v1:ServiceAccount", f"{plan.stack}-platform-ray")
    role = resource(plan, "aws:iam/role:Role", f"{plan.stack}-platform-ray")
    assert account.inputs["metadata"]["name"] == plan.outputs["rayServiceAccount"]
    assert account.inputs["metadata"]["namespace"] == plan.outputs["rayNamespace"]
    annotation = account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert annotation == plan.outputs["rayServiceAccountAnnotations"]["eks.amazonaws.com/role-arn"]
    assert annotation.endswith(f":role/{role.name}-{annotation.rsplit('-', 1)[1]}")
    assert role.urn in account.dependencies


def test_namespaces_carry_cost_and_pod_security_labels(any_plan):
    plan = any_plan
    tags = config_tags(plan.stack)
    namespaces = plan.of_type("kubernetes:core/v1:Namespace")
    assert {n.inputs["metadata"]["name"] for n in namespaces} >= {"kuberay-system", "ray"}
    for namespace in namespaces:
        labels = namespace.inputs["metadata"]["labels"]
        if namespace.inputs["metadata"]["name"].startswith("team-"):
            continue  # a team's namespace carries the team's own labels (tests/test_teams.py)
        assert {k: labels[k] for k in ("team", "env", "owner", "department", "app")} == {
            k: tags[k] for k in ("team", "env", "owner", "department", "app")
        }
        # node-exporter reads the host: the monitoring namespace alone is privileged (and exempted by policy).
        expected = (
            ("privileged",) if namespace.inputs["metadata"]["name"] == "monitoring" else ("baseline", "restricted")
        )
        assert labels["pod-security.kubernetes.io/enforce"] in expected


def test_workloads_wait_for_the_cluster_to_be_ready(plan):
    release = resource(plan, "kubernetes:helm.sh/v3:Release", f"{plan.stack}-platform-kuberay")
    crds = resource(plan, "kubernetes:yaml/v2:ConfigGroup", f"{plan.stack}-platform-kuberay-crds")
    plugin = resource(plan, "kubernetes:helm.sh/v3:Release", f"{plan.stack}-platform-nvidia-device-plugin")
    addons = {a.urn for a in plan.of_type("aws:eks/addon:Addon")}
    for waiting in (release, crds, plugin):
        assert addons <= set(waiting.dependencies), f"{waiting.name} does not wait for the core add-ons"


def test_crd_urls_name_the_upstream_crds(upstream_dir):
    upstream = sorted(p.name for p in (upstream_dir / "kuberay" / "crd").glob("ray.io_*.yaml"))
    pinned = sorted(url.rsplit("/", 1)[1] for url in versions.KUBERAY_CRD_URLS)
    assert pinned == upstream


def test_operator_pin_matches_the_upstream_chart(upstream_dir):
    chart_dir = upstream_dir / "kuberay" / f"chart-kuberay-operator-{versions.KUBERAY_VERSION}"
    chart = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    defaults = yaml.safe_load((chart_dir / "values.yaml").read_text())
    assert chart["version"] == versions.KUBERAY_VERSION
    assert f"{defaults['image']['repository']}:{defaults['image']['tag']}" == versions.KUBERAY_OPERATOR_IMAGE


def test_operator_values_use_keys_the_chart_defines(upstream_dir):
    defaults = yaml.safe_load(
        (upstream_dir / "kuberay" / f"chart-kuberay-operator-{versions.KUBERAY_VERSION}" / "values.yaml").read_text()
    )
    system = PoolSpec(name="system", labels={}, taints=[], min_size=1, max_size=2)
    values = operator_values(KubeRayArgs(system_pool=system, cost_labels={"team": "a"}))
    assert _unknown_keys(values, defaults) == []


# Kubernetes structures a chart passes through verbatim: any of their keys is valid.
FREE_FORM = {"resources", "nodeSelector", "labels", "annotations", "affinity", "tolerations", "additionalLabels"}


def _unknown_keys(values: dict, defaults: dict, path: str = "") -> list[str]:
    unknown = []
    for key, value in values.items():
        if key not in defaults:
            unknown.append(f"{path}{key}")
        elif key not in FREE_FORM and isinstance(value, dict) and isinstance(defaults[key], dict):
            unknown += _unknown_keys(value, defaults[key], f"{path}{key}.")
    return unknown
