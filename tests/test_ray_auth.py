"""Ray token authentication: every team RayCluster carries authOptions naming its own token Secret, whose
value is generated and masked in the plan, readable by the team's group; the pack refuses a Ray cluster
without token auth, whatever kind declares it."""

from __future__ import annotations

import pytest

from components.kubernetes.raycluster import AUTH_TOKEN_KEY, example_ray_job
from rayplat.plan.engine import SECRET
from tests.conftest import planned
from tests.policy_support import baseline, changed, check, outcome

RULE = "ray-token-auth"
RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
RAY_JOB = "kubernetes:ray.io/v1:RayJob"
RAY_SERVICE = "kubernetes:ray.io/v1:RayService"
SECRET_TYPE = "kubernetes:core/v1:Secret"


@pytest.mark.parametrize("stack", ["dev", "prod", "gcp-dev"])
def test_every_team_ray_cluster_reads_its_token_from_its_own_secret(stack):
    plan = planned(stack)
    clusters = plan.of_type(RAY_CLUSTER)
    assert clusters, f"{stack} has a standing team RayCluster"
    for cluster in clusters:
        metadata = cluster.inputs["metadata"]
        auth = cluster.inputs["spec"]["authOptions"]
        assert auth == {"mode": "token", "secretName": f"{metadata['name']}-auth"}
        (secret,) = [
            s
            for s in plan.of_type(SECRET_TYPE)
            if s.inputs["metadata"] == {"name": auth["secretName"], "namespace": metadata["namespace"]}
        ]
        assert secret.inputs["stringData"] in (SECRET, {AUTH_TOKEN_KEY: SECRET})
        assert secret.urn in cluster.dependencies


def test_only_the_teams_group_is_bound_to_read_the_token():
    plan = planned("dev")
    role = next(r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:Role") if "vision" in r.name)
    assert role.inputs["metadata"]["namespace"] == "team-vision"
    assert role.inputs["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["vision-ray-auth"], "verbs": ["get"]}
    ]
    bindings = plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
    (binding,) = [b for b in bindings if b.inputs["roleRef"]["name"] == role.inputs["metadata"]["name"]]
    assert binding.inputs["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ml-vision"}
    ]


def test_no_stack_output_holds_a_token():
    for stack in ("dev", "prod"):
        outputs = repr(planned(stack).outputs)
        assert "auth_token" not in outputs and "-auth" not in outputs


def test_the_example_rayjob_gets_a_generated_token():
    spec = example_ray_job("team-vision", "team-queue", "s3://bucket")["spec"]
    assert spec["rayClusterSpec"]["authOptions"] == {"mode": "token"}


def test_the_compliant_baseline_passes():
    report = check(baseline("dev"))
    judged = {(f.resource_type, f.resource_name): f for f in report.findings if f.policy == RULE}
    expected = {(RAY_CLUSTER, "team-a"), (RAY_CLUSTER, "dev-platform-team-vision-ray-cluster")}
    expected |= {(RAY_JOB, "hello-ray"), (RAY_SERVICE, "serve")}
    assert expected <= set(judged)
    assert all(f.status == "passed" for f in judged.values())


def _spec_of(type_: str):
    return {
        RAY_CLUSTER: lambda r: r.inputs["spec"],
        RAY_JOB: lambda r: r.inputs["spec"]["rayClusterSpec"],
        RAY_SERVICE: lambda r: r.inputs["spec"]["rayClusterConfig"],
    }[type_]


@pytest.mark.parametrize(
    ("type_", "name", "auth", "message"),
    [
        (RAY_CLUSTER, "team-a", None, "the RayCluster cluster has no authOptions"),
        (
            RAY_CLUSTER,
            "dev-platform-team-vision-ray-cluster",
            {"mode": "disabled"},
            "authOptions.mode disabled: anyone who reaches",
        ),
        (RAY_JOB, "hello-ray", None, "the RayJob cluster has no authOptions"),
        (RAY_SERVICE, "serve", {"enableK8sTokenAuth": True}, "the RayService cluster has authOptions.mode unset"),
    ],
)
def test_a_ray_cluster_without_token_auth_is_refused(type_, name, auth, message):
    def change(resource):
        spec = _spec_of(type_)(resource)
        if auth is None:
            del spec["authOptions"]
        else:
            spec["authOptions"] = auth

    finding = outcome(check(changed(baseline("dev"), type_, name, change)), RULE, type_, name)
    assert finding.status == "failed" and finding.level == "mandatory"
    assert message in finding.message


def test_a_rayjob_on_an_existing_cluster_is_not_judged():
    def select_cluster(job):
        del job.inputs["spec"]["rayClusterSpec"]
        job.inputs["spec"]["clusterSelector"] = {"ray.io/cluster": "vision-ray"}

    report = check(changed(baseline("dev"), RAY_JOB, "hello-ray", select_cluster))
    assert outcome(report, RULE, RAY_JOB, "hello-ray").status == "passed"
