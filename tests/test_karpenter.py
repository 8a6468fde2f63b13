"""Karpenter as the AWS GPU provisioner: its objects valid against the upstream CRDs, the pools as config says,
the chart values real, the switch shown as the replacement it is, and Kueue still matching the nodes."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from catalog import versions
from catalog.karpenter import CAPACITY_TYPE_LABEL, DISCOVERY_TAG, NODECLASS_TYPE, NODEPOOL_TYPE
from catalog.labels import GPU_TAINT, POOL_LABEL
from components.aws.karpenter import INTERRUPTION_EVENTS
from components.kubernetes.observability import alerts, dashboards
from components.nodes import PoolSpec, gpu_labels
from rayplat import PROJECT_ROOT
from rayplat.diff.engine import diff_plans
from rayplat.diff.report import to_markdown
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from stackconfig.errors import ConfigError
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_tags, get_key, planned, resource, set_key
from tests.crds import crd_validator, validate
from tests.test_observability import _unknown, metric_names

KARPENTER_STACKS = [s for s in ("dev", "staging", "prod") if get_key(read_stack_config(s), "aws").get("provisioner")]
CRDS = {"NodePool": "karpenter.sh_nodepools.yaml", "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml"}
UPSTREAM = f"karpenter-{versions.KARPENTER_VERSION}"


def _karpenter_dev() -> dict[str, str]:
    """dev, switched to Karpenter, its a10g pool falling back to on-demand."""
    config = read_stack_config("dev")
    config = set_key(config, "aws", {**get_key(config, "aws"), "provisioner": "karpenter"})
    pools = get_key(config, "gpuPools")
    pools[0]["karpenter"] = {"onDemandFallback": True, "consolidateAfter": "5m"}
    return set_key(config, "gpuPools", pools)


_plans: dict[str, object] = {}


def karpenter_dev():
    if "dev" not in _plans:
        _plans["dev"] = run_program("dev", _karpenter_dev(), PROGRAM)
    return _plans["dev"]


def _validator(upstream_dir, kind: str):
    return crd_validator(upstream_dir / UPSTREAM / "crds" / CRDS[kind], "v1", unknown_fields=False)


def _manifest(r) -> dict:
    return {k: r.inputs[k] for k in ("apiVersion", "kind", "metadata", "spec")}


def _nodepools(plan) -> dict[str, dict]:
    return {r.inputs["metadata"]["name"]: r.inputs for r in plan.of_type(NODEPOOL_TYPE)}


def _requirement(pool: dict, key: str) -> list[str]:
    (values,) = [r["values"] for r in pool["spec"]["template"]["spec"]["requirements"] if r["key"] == key]
    return values


def test_a_shipped_stack_uses_each_provisioner():
    assert KARPENTER_STACKS == ["staging"]
    assert "provisioner" not in get_key(read_stack_config("prod"), "aws")


@pytest.mark.parametrize("source", ["staging", "karpenter-dev"])
def test_every_karpenter_object_validates_against_the_upstream_crds(source, upstream_dir):
    plan = planned("staging") if source == "staging" else karpenter_dev()
    objects = plan.of_type(NODEPOOL_TYPE) + plan.of_type(NODECLASS_TYPE)
    assert len(objects) == 2 * len(plan.outputs["gpuPools"])
    for r in objects:
        validate(_manifest(r), _validator(upstream_dir, r.inputs["kind"]))


def test_the_strict_schema_rejects_an_unknown_field(upstream_dir):
    pool = _manifest(planned("staging").of_type(NODEPOOL_TYPE)[0])
    pool["spec"]["disruption"]["consolidateAfterr"] = "5m"
    with pytest.raises(jsonschema.ValidationError, match="consolidateAfterr"):
        validate(pool, _validator(upstream_dir, "NodePool"))


def test_staging_pools_carry_the_taint_labels_and_limits_from_config():
    plan = planned("staging")
    config = read_stack_config("staging")
    (pool_config,) = get_key(config, "gpuPools")
    pool = _nodepools(plan)[pool_config["name"]]
    template = pool["spec"]["template"]
    assert template["spec"]["taints"] == [GPU_TAINT]
    assert template["metadata"]["labels"][POOL_LABEL] == pool_config["name"]
    assert template["metadata"]["labels"] == gpu_labels(pool_config["name"], "A10G", {})
    # g5.2xlarge: 1 GPU and 8 vCPUs per node, at most maxSize nodes.
    assert pool["spec"]["limits"] == {
        "nvidia.com/gpu": str(pool_config["maxSize"]),
        "cpu": str(8 * pool_config["maxSize"]),
    }
    assert _requirement(pool, "node.kubernetes.io/instance-type") == pool_config["instanceTypes"]
    disruption = pool["spec"]["disruption"]
    assert disruption["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
    assert disruption["consolidateAfter"] == pool_config["karpenter"]["consolidateAfter"]
    assert disruption["budgets"] == [{"nodes": pool_config["karpenter"]["disruptionBudget"]}]
    assert template["spec"]["expireAfter"] == pool_config["karpenter"]["expireAfter"]


def test_a_spot_pool_with_fallback_allows_both_capacity_types_spot_first():
    pools = _nodepools(karpenter_dev())
    # Karpenter launches spot first when a NodePool allows both, and falls back to on-demand on a shortage.
    assert _requirement(pools["a10g"], CAPACITY_TYPE_LABEL) == ["spot", "on-demand"]
    assert _requirement(pools["l4"], CAPACITY_TYPE_LABEL) == ["spot"]
    assert pools["a10g"]["spec"]["disruption"]["consolidateAfter"] == "5m"
    assert pools["l4"]["spec"]["disruption"]["consolidateAfter"] == "10m"


def test_node_classes_are_hardened_tagged_and_found_by_discovery_tags():
    plan = planned("staging")
    (pool_config,) = get_key(read_stack_config("staging"), "gpuPools")
    (node_class,) = [r.inputs["spec"] for r in plan.of_type(NODECLASS_TYPE)]
    assert node_class["metadataOptions"]["httpTokens"] == "required"
    assert node_class["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert node_class["associatePublicIPAddress"] is False
    (device,) = node_class["blockDeviceMappings"]
    assert device["ebs"] == {
        "volumeSize": f"{pool_config['diskSizeGib']}Gi",
        "volumeType": "gp3",
        "encrypted": True,
        "deleteOnTermination": True,
    }
    assert config_tags("staging").items() <= node_class["tags"].items()
    assert node_class["amiSelectorTerms"] == [{"alias": versions.KARPENTER_GPU_AMI_ALIAS}]
    assert node_class["role"] == resource(plan, "aws:iam/role:Role", "staging-karpenter-node").inputs["name"]
    discovery = {DISCOVERY_TAG: "ray-staging"}
    assert node_class["subnetSelectorTerms"] == node_class["securityGroupSelectorTerms"] == [{"tags": discovery}]
    # What the selectors find: the private subnets and the cluster security group carry the tag.
    private = [s for s in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in s.name]
    assert private and all(s.inputs["tags"][DISCOVERY_TAG] == "ray-staging" for s in private)
    tag = resource(plan, "aws:ec2/tag:Tag")
    assert (tag.inputs["key"], tag.inputs["value"]) == (DISCOVERY_TAG, "ray-staging")
    assert tag.inputs["resourceId"].startswith("sg-")


def test_cluster_autoscaler_stacks_have_no_discovery_tags():
    for stack in ("dev", "prod"):
        subnets = planned(stack).of_type("aws:ec2/subnet:Subnet")
        assert subnets and not any(DISCOVERY_TAG in s.inputs["tags"] for s in subnets)
        assert not planned(stack).of_type(NODEPOOL_TYPE)


def test_karpenter_pools_are_not_node_groups():
    plan = planned("staging")
    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert [g.inputs["labels"][POOL_LABEL] for g in groups] == ["system"]


def test_the_controller_is_pinned_on_the_system_pool_with_its_crds():
    plan = planned("staging")
    release = resource(plan, "kubernetes:helm.sh/v3:Release", "staging-karpenter")
    assert release.inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert release.inputs["version"] == versions.KARPENTER_VERSION == "1.14.0"
    assert release.inputs["skipCrds"] is True
    values = release.inputs["values"]
    assert values["nodeSelector"] == {POOL_LABEL: "system"}
    assert values["controller"]["image"]["tag"] == "1.14.0"
    assert values["replicas"] == 1
    queue = resource(plan, "aws:sqs/queue:Queue")
    assert values["settings"] == {"clusterName": "ray-staging", "interruptionQueue": queue.inputs["name"]}
    crds = resource(plan, "kubernetes:yaml/v2:ConfigGroup", "staging-karpenter-crds")
    assert crds.urn in release.dependencies
    assert all(f"/karpenter-provider-aws/v{versions.KARPENTER_VERSION}/" in url for url in crds.inputs["files"])
    for pool in plan.of_type(NODEPOOL_TYPE) + plan.of_type(NODECLASS_TYPE):
        assert release.urn in pool.dependencies, "NodePools wait for the controller and its CRDs"


def test_crd_urls_name_the_charts_crds(upstream_dir):
    upstream = sorted(p.stem for p in (upstream_dir / UPSTREAM / "crds").glob("*.yaml"))
    assert sorted(versions.KARPENTER_CRD_FILES) == upstream
    chart = yaml.safe_load((upstream_dir / UPSTREAM / "Chart.yaml").read_text())
    assert chart["version"] == chart["appVersion"] == versions.KARPENTER.version
    defaults = yaml.safe_load((upstream_dir / UPSTREAM / "values.yaml").read_text())
    assert defaults["controller"]["image"]["digest"] == versions.KARPENTER_IMAGE_DIGEST


def test_helm_values_use_keys_the_pinned_chart_defines(upstream_dir):
    defaults = yaml.safe_load((upstream_dir / UPSTREAM / "values.yaml").read_text())
    values = resource(planned("staging"), "kubernetes:helm.sh/v3:Release", "staging-karpenter").inputs["values"]
    assert _unknown(values, defaults) == []
    assert {"settings", "controller", "serviceAccount", "nodeSelector"} <= set(values)


def test_interruption_events_reach_the_queue():
    plan = planned("staging")
    rules = plan.of_type("aws:cloudwatch/eventRule:EventRule")
    patterns = {json.dumps(json.loads(r.inputs["eventPattern"]), sort_keys=True) for r in rules}
    assert patterns == {
        json.dumps({"detail-type": [detail], "source": [source]}, sort_keys=True)
        for source, detail in INTERRUPTION_EVENTS.values()
    }
    queue = resource(plan, "aws:sqs/queue:Queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True
    targets = plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert len(targets) == len(rules) == 4
    assert all(t.inputs["arn"].endswith(f":{queue.inputs['name']}") for t in targets)
    entry = resource(plan, "aws:eks/accessEntry:AccessEntry", "staging-karpenter-node")
    assert entry.inputs["type"] == "EC2_LINUX"


def test_switching_the_provisioner_is_shown_as_the_replacement_it_is():
    diff = diff_plans(planned("dev"), karpenter_dev())
    assert diff.provisioners == [
        ("a10g", "managed node group", "Karpenter NodePool"),
        ("l4", "managed node group", "Karpenter NodePool"),
    ]
    deleted = {c.name for c in diff.of_action("delete") if c.type == "aws:eks/nodeGroup:NodeGroup"}
    assert deleted == {"dev-a10g", "dev-l4"}
    created = {c.type for c in diff.of_action("create")}
    assert {NODEPOOL_TYPE, NODECLASS_TYPE} <= created
    # The same capacity, now read from the NodePools' limits.
    assert diff.gpus_before == diff.gpus_after == {"a10g": 4, "l4": 2}
    report = to_markdown(diff)
    assert "**GPU pool moves to a Karpenter NodePool**: `a10g` was a managed node group" in report
    # The system pool stays a node group: no existing resource other than the GPU pools' goes.
    assert all(c.name.startswith(("dev-a10g", "dev-l4")) for c in diff.of_action("delete"))
    assert not diff.of_action("replace")


def test_kueue_flavors_match_the_nodepool_labels():
    plan = karpenter_dev()
    pools = _nodepools(plan)
    flavors = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in plan.of_type("kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor")
    }
    gpu_flavors = {name: spec for name, spec in flavors.items() if name in pools}
    assert set(gpu_flavors) == set(pools) == {"a10g", "l4"}
    for name, spec in gpu_flavors.items():
        labels = pools[name]["spec"]["template"]["metadata"]["labels"]
        assert spec["nodeLabels"].items() <= labels.items()
        # Pods tolerating the flavor's taints land on the pool's nodes.
        taints = pools[name]["spec"]["template"]["spec"]["taints"]
        assert all(t in taints for t in spec.get("nodeTaints", []))


@pytest.mark.parametrize(
    "change, path, message",
    [
        (lambda c: _pool(c, karpenter={"consolidateAfter": "5m"}), "gpuPools[0].karpenter", "aws.provisioner"),
        (
            lambda c: _pool(_provisioner(c), capacityType="onDemand", karpenter={"onDemandFallback": True}),
            "gpuPools[0].karpenter.onDemandFallback",
            "spot pools only",
        ),
        (lambda c: _pool(_provisioner(c), minSize=1), "gpuPools[0].minSize", "must be 0 with Karpenter"),
        (lambda c: _pool(_provisioner(c), karpenter={"expireAfter": "30d"}), "gpuPools[0].karpenter.expireAfter", ""),
        (lambda c: _provisioner(c, "fargate"), "aws.provisioner", ""),
    ],
)
def test_karpenter_knobs_are_refused_where_they_do_not_apply(change, path, message):
    with pytest.raises(ConfigError) as error:
        parse_config(project_keys(change(read_stack_config("dev"))))
    lines = [line for line in str(error.value).splitlines() if path in line]
    assert lines and message in lines[0], str(error.value)


def _provisioner(config: dict[str, str], provisioner: str = "karpenter") -> dict[str, str]:
    return set_key(config, "aws", {**get_key(config, "aws"), "provisioner": provisioner})


def _pool(config: dict[str, str], **keys) -> dict[str, str]:
    pools = get_key(config, "gpuPools")
    pools[0].update(keys)
    return set_key(config, "gpuPools", pools)


# The Karpenter 1.14 metrics the platform reads, as its metrics reference lists them
# (aws/karpenter-provider-aws website/content/en/v1.14/reference/metrics.md at the v1.14.0 release commit
# 692ccdd0), with the labels used: nodepool and resource_type on the NodePool gauges; zone, capacity_type and
# reason on launch failures.
KARPENTER_1_14_METRICS = {
    "karpenter_nodepools_usage",
    "karpenter_nodepools_limit",
    "karpenter_nodeclaims_created_total",
    "karpenter_nodeclaims_disrupted_total",
    "karpenter_cloudprovider_instance_launch_failures_total",
    "karpenter_interruption_received_messages_total",
    "karpenter_scheduler_queue_depth",
    "karpenter_scheduler_scheduling_duration_seconds",
}


def test_karpenter_alerts_and_dashboard_read_metrics_karpenter_exports():
    gpu_pool = PoolSpec("a10g", {}, [], 0, 8, ["g5.2xlarge"], "A10G", 1)
    exprs = [a.expr for a in alerts.alerts([gpu_pool], karpenter=True)]
    exprs += [p[1] for p in dashboards.KARPENTER_PANELS]
    used = {n.removesuffix("_bucket") for e in exprs for n in metric_names(e) if n.startswith("karpenter_")}
    assert used == KARPENTER_1_14_METRICS
    (pending,) = [a for a in alerts.alerts([gpu_pool], karpenter=True) if a.name == "GpuPoolAtMaxWithPendingPods"]
    assert 'nodepool="a10g", resource_type="nvidia.com/gpu"' in pending.expr
    assert "kube_node_labels" not in pending.expr


def _alert_rules(plan):
    """The platform's alerts (the cost recording rules are a PrometheusRule of their own)."""
    return [r for r in plan.of_type("kubernetes:monitoring.coreos.com/v1:PrometheusRule") if r.name.endswith("-alerts")]


def test_staging_scrapes_karpenter_and_alerts_on_it():
    plan = planned("staging")
    (monitor,) = [r.inputs for r in plan.of_type("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")]
    assert monitor["spec"]["endpoints"] == [{"port": "http-metrics"}]
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["kube-system"]}
    (rule,) = _alert_rules(plan)
    rules = {r["alert"]: r for r in rule.inputs["spec"]["groups"][0]["rules"]}
    assert {"KarpenterDown", "KarpenterLaunchesFailing", "KarpenterInsufficientCapacity"} <= set(rules)
    assert "karpenter_nodepools_limit" in rules["GpuPoolAtMaxWithPendingPods"]["expr"]
    for name in ("KarpenterDown", "KarpenterLaunchesFailing", "KarpenterInsufficientCapacity"):
        assert (PROJECT_ROOT / rules[name]["annotations"]["runbook"]).is_file()
    (dev_rule,) = _alert_rules(planned("dev"))
    assert not any(r["alert"].startswith("Karpenter") for r in dev_rule.inputs["spec"]["groups"][0]["rules"])
