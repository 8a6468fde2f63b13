"""Teams and GPU fairness: manifests valid against the real CRDs, Kueue's rules, isolation, quotas."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
import yaml

from catalog.labels import TEAM_LABEL
from components.kubernetes.raycluster import example_ray_job
from components.kubernetes.tenancy import COHORT, LOCAL_QUEUE, RAY_FRAMEWORKS
from rayplat import PROJECT_ROOT
from rayplat.plan.engine import read_stack_config
from tests.conftest import config_problems, get_key, planned, set_key
from tests.crds import crd_validator, validate

TEAM_STACKS = ["dev", "prod", "gcp-dev", "local"]
CRDS = {
    "RayCluster": "kuberay/crd/ray.io_rayclusters.yaml",
    "RayJob": "kuberay/crd/ray.io_rayjobs.yaml",
    "ClusterQueue": "kueue/crd/kueue.x-k8s.io_clusterqueues.yaml",
    "LocalQueue": "kueue/crd/kueue.x-k8s.io_localqueues.yaml",
    "ResourceFlavor": "kueue/crd/kueue.x-k8s.io_resourceflavors.yaml",
}
CORE_KINDS = {
    "core/v1:ResourceQuota",
    "core/v1:LimitRange",
    "networking.k8s.io/v1:NetworkPolicy",
    "rbac.authorization.k8s.io/v1:RoleBinding",
    "core/v1:Namespace",
}


def _teams(stack):
    return json.loads(read_stack_config(stack)["ray-platform:teams"])


def _objects(plan, kind):
    return [r.inputs for r in plan.resources if r.type.endswith(f":{kind}") and r.type.startswith("kubernetes:")]


def _manifest(inputs: dict, kind: str, api_version: str) -> dict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        **{k: v for k, v in inputs.items() if k not in ("apiVersion", "kind")},
    }


def _validator(upstream_dir, kind: str, version: str):
    return crd_validator(upstream_dir / CRDS[kind], version)


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_generated_objects_validate_against_the_real_crds(stack, upstream_dir):
    plan = planned(stack)
    checked = 0
    for kind, api in [
        ("RayCluster", "ray.io/v1"),
        ("ClusterQueue", "kueue.x-k8s.io/v1beta2"),
        ("LocalQueue", "kueue.x-k8s.io/v1beta2"),
        ("ResourceFlavor", "kueue.x-k8s.io/v1beta2"),
    ]:
        for inputs in _objects(plan, kind):
            validate(_manifest(inputs, kind, api), _validator(upstream_dir, kind, api.split("/")[1]))
            checked += 1
    assert checked >= 3 * len(_teams(stack))


def test_the_example_rayjob_is_current_and_valid(upstream_dir):
    document = yaml.safe_load((PROJECT_ROOT / "docs/examples/rayjob.yaml").read_text())
    assert document == example_ray_job("team-vision", "team-queue", "s3://<artifact bucket>/teams/vision")
    validate(document, _validator(upstream_dir, "RayJob", "v1"))
    assert document["spec"]["shutdownAfterJobFinishes"] is True
    assert document["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == LOCAL_QUEUE


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_core_objects_validate_against_kubernetes_schemas(stack):
    plan = planned(stack)
    for resource in plan.resources:
        group_kind = resource.type.removeprefix("kubernetes:")
        if group_kind in CORE_KINDS:
            group, kind = group_kind.split(":")
            api = "v1" if group == "core/v1" else group
            kubernetes_validate.validate(_manifest(resource.inputs, kind, api), "1.34.0", strict=True)


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_kueue_rules_hold(stack):
    plan = planned(stack)
    queues = _objects(plan, "ClusterQueue")
    assert len(queues) == len(_teams(stack))
    for queue in queues:
        spec = queue["spec"]
        assert spec["cohortName"] == COHORT
        assert spec["preemption"]["reclaimWithinCohort"] == "Any"
        for group in spec["resourceGroups"]:
            for flavor in group["flavors"]:
                # A nominal quota (even 0) for every covered resource, so the queue may borrow it.
                assert [r["name"] for r in flavor["resources"]] == group["coveredResources"]
                assert all("nominalQuota" in r for r in flavor["resources"])
    release = next(r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r.inputs["chart"].endswith("/kueue"))
    assert release.inputs["version"] == "0.19.2"
    config = yaml.safe_load(release.inputs["values"]["managerConfig"]["controllerManagerConfigYaml"])
    assert set(RAY_FRAMEWORKS) <= set(config["integrations"]["frameworks"])
    flavors = {f["metadata"]["name"] for f in _objects(plan, "ResourceFlavor")}
    assert flavors == {"cpu", *plan.outputs["gpuPools"]}


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_every_gpu_quota_states_its_borrowing_bound(stack):
    plan = planned(stack)
    capacity = {name: pool["maxGpus"] for name, pool in plan.outputs["gpuPools"].items()}
    shares = {f"team-{t['name']}": t.get("gpuQuota", {}) for t in _teams(stack)}
    bounds = {}
    for queue in _objects(plan, "ClusterQueue"):
        assert queue["metadata"]["labels"][TEAM_LABEL] == queue["metadata"]["name"].removeprefix("team-")
        for group in queue["spec"]["resourceGroups"]:
            for flavor in group["flavors"]:
                for resource in flavor["resources"]:
                    if resource["name"] == "nvidia.com/gpu":
                        bounds[queue["metadata"]["name"], flavor["name"]] = resource["borrowingLimit"]
    # Every team has a flavor per GPU pool; without a limit of its own it may borrow what the pool holds.
    assert len(bounds) == len(shares) * len(capacity)
    for (queue, pool), bound in bounds.items():
        share = shares[queue].get(pool, {})
        assert bound == share.get("borrowingLimit", capacity[pool] - share.get("nominal", 0))


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_each_namespace_has_a_quota_with_its_gpu_limit(stack):
    plan = planned(stack)
    capacity = {name: pool["maxGpus"] for name, pool in plan.outputs["gpuPools"].items()}
    quotas = {q["metadata"]["namespace"]: q["spec"]["hard"] for q in _objects(plan, "ResourceQuota")}
    for team in _teams(stack):
        expected = sum(
            min(q["nominal"] + q.get("borrowingLimit", capacity[pool]), capacity[pool])
            for pool, q in team.get("gpuQuota", {}).items()
        )
        assert quotas[f"team-{team['name']}"]["requests.nvidia.com/gpu"] == str(expected)


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_no_role_binding_crosses_namespaces(stack):
    plan = planned(stack)
    bindings = _objects(plan, "RoleBinding")
    # Each team's edit binding, and one to read its Ray cluster's token where it has a cluster.
    with_cluster = [t for t in _teams(stack) if t.get("rayCluster")]
    assert len(bindings) == len(_teams(stack)) + len(with_cluster)
    groups = {f"team-{t['name']}": t["members"]["group"] for t in _teams(stack)}
    edit = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}

    def token_reader(team: str) -> dict:
        return {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"read-{team}-ray-auth"}

    for binding in bindings:
        namespace = binding["metadata"]["namespace"]
        assert binding["roleRef"] in (edit, token_reader(namespace.removeprefix("team-")))
        assert binding["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": groups[namespace]}
        ]
        assert all("namespace" not in s for s in binding["subjects"])
    assert not plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_team_identity_reaches_another_teams_prefix_on_aws(stack):
    plan = planned(stack)
    bucket = f"arn:aws:s3:::{plan.outputs['artifactBucket']}"
    for team in _teams(stack):
        policy = next(p for p in plan.of_type("aws:iam/policy:Policy") if p.name.endswith(f"team-{team['name']}-ray"))
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        assert statements["ReadWriteArtifacts"]["Resource"] == f"{bucket}/teams/{team['name']}/*"
        assert statements["ListArtifacts"]["Condition"] == {"StringLike": {"s3:prefix": [f"teams/{team['name']}/*"]}}
        role = next(r for r in plan.of_type("aws:iam/role:Role") if r.name.endswith(f"team-{team['name']}-ray"))
        assert f"system:serviceaccount:team-{team['name']}:ray" in role.inputs["assumeRolePolicy"]


def test_no_team_identity_reaches_another_teams_prefix_on_gcp():
    plan = planned("gcp-dev")
    (grant,) = [g for g in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if "team-vision" in g.name]
    assert grant.inputs["condition"]["expression"].endswith('/objects/teams/vision/")')


@pytest.mark.parametrize("stack", TEAM_STACKS)
def test_network_policies_deny_by_default_and_open_only_what_ray_needs(stack):
    plan = planned(stack)
    for team in _teams(stack):
        namespace = f"team-{team['name']}"
        policies = {
            p["metadata"]["name"]: p["spec"]
            for p in _objects(plan, "NetworkPolicy")
            if p["metadata"]["namespace"] == namespace
        }
        assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}
        assert policies["allow-same-namespace"]["ingress"] == [{"from": [{"podSelector": {}}]}]
        operator = policies["allow-kuberay-operator"]
        assert operator["podSelector"] == {"matchLabels": {"ray.io/node-type": "head"}}
        assert operator["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8265}]


def test_team_namespaces_carry_the_teams_cost_labels():
    plan = planned("prod")
    namespaces = {n["metadata"]["name"]: n["metadata"]["labels"] for n in _objects(plan, "Namespace")}
    labels = namespaces["team-recsys"]
    assert (labels["team"], labels["owner"], labels["department"], labels["env"]) == ("recsys", "carol", "ads", "prod")
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert labels[TEAM_LABEL] == "recsys"


def test_team_ray_cluster():
    plan = planned("dev")
    (cluster,) = _objects(plan, "RayCluster")
    spec = cluster["spec"]
    assert cluster["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == LOCAL_QUEUE
    assert spec["enableInTreeAutoscaling"] is True and spec["rayVersion"] == "2.60.0"
    head = spec["headGroupSpec"]["template"]["spec"]
    assert head["nodeSelector"] == {"rayplat.io/pool": "system"}
    # Restricted: the Ray image's own non-root user, the runtime's seccomp profile, no privilege to gain, and
    # the same for the autoscaler sidecar KubeRay injects (its settings come from autoscalerOptions).
    assert head["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 100,
        "fsGroup": 100,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    restricted = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert head["containers"][0]["securityContext"] == spec["autoscalerOptions"]["securityContext"] == restricted
    assert {p["containerPort"] for p in head["containers"][0]["ports"]} >= {8080, 44217, 44227, 8265, 6379}
    (workers,) = spec["workerGroupSpecs"]  # vision has quota on a10g only
    assert workers["groupName"] == "a10g" and workers["maxReplicas"] == 4 and workers["minReplicas"] == 0
    pod = workers["template"]["spec"]
    assert pod["nodeSelector"] == {"rayplat.io/pool": "a10g"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    container = pod["containers"][0]
    assert pod["securityContext"] == head["securityContext"] and container["securityContext"] == restricted
    assert container["image"] == "rayproject/ray:2.60.0-py311-gpu"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert {"requests", "limits"} <= set(container["resources"]) and "memory" in container["resources"]["limits"]
    storage = {e["name"]: e["value"] for e in container["env"]}["RAYPLAT_STORAGE_URI"]
    assert storage == f"{plan.outputs['artifactBucketUri']}/teams/vision"
    account = next(a for a in plan.of_type("kubernetes:core/v1:ServiceAccount") if "team-vision" in a.name)
    assert account.inputs["metadata"]["namespace"] == "team-vision"


BAD_TEAMS = {
    "over capacity": (
        lambda t: [{**t[0], "gpuQuota": {"a10g": {"nominal": 3}}}, t[1]],
        "teams: the teams' nominal quotas on pool 'a10g' add up to 5 GPUs, more than its capacity of 4",
    ),
    "unknown pool": (
        lambda t: [{**t[0], "gpuQuota": {"h100": {"nominal": 1}}}],
        "teams[0].gpuQuota.h100: no GPU pool 'h100' (a10g, l4)",
    ),
    "duplicate team": (lambda t: [t[0], {**t[1], "name": "vision"}], "teams[1].name: duplicate team name 'vision'"),
    "lending more than nominal": (
        lambda t: [{**t[0], "gpuQuota": {"a10g": {"nominal": 1, "lendingLimit": 2}}}],
        "teams[0].gpuQuota.a10g.lendingLimit: must be <= nominal (1)",
    ),
    "owner not a label value": (
        lambda t: [{**t[0], "owner": "alice@example.com"}],
        "teams[0].owner: 'alice@example.com' must be a valid Kubernetes label value",
    ),
    "bad team name": (lambda t: [{**t[0], "name": "Vision Team"}], "teams[0].name: string should match pattern"),
}


@pytest.mark.parametrize("case", BAD_TEAMS, ids=list(BAD_TEAMS))
def test_bad_team_configs(case):
    mutate, expected = BAD_TEAMS[case]
    config = read_stack_config("dev")
    problems = config_problems(set_key(config, "teams", mutate(get_key(config, "teams"))))
    assert any(expected in p for p in problems), problems
