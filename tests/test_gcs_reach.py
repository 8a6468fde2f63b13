"""A team's GCS store (Memorystore) is reachable from its own team's namespace and from no other team's: the
generated NetworkPolicies are evaluated for what they let each namespace's pods send, and the pack checks it."""

from __future__ import annotations

import copy
import functools
from urllib.parse import urlsplit

import kubernetes_validate
import pytest

from catalog.labels import TEAM_LABEL
from components.kubernetes.tenancy import STORE_ISOLATION_POLICY
from policies.gcs_reach import egress_allowed
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, read_stack_config
from tests.conftest import get_key, planned, set_key
from tests.policy_support import check, outcome
from tests.test_policy_rules import Case, check_case

RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
RULE = "gcs-store-reached-by-its-team-only"


def _team(name: str, ha: bool) -> dict:
    cluster = {"maxWorkersPerPool": 1, "highAvailability": True} if ha else {"maxWorkersPerPool": 1}
    return {
        "name": name,
        "owner": "bob",
        "department": "research",
        "members": {"group": f"ml-{name}@acme.example"},
        "cpu": "16",
        "memory": "64Gi",
        "gpuQuota": {"l4-spot": {"nominal": 0, "borrowingLimit": 8}},
        "rayCluster": cluster,
    }


@functools.cache
def _three_teams():
    """gcp-prod with a second highly available team (speech) and a team without a store (tabular)."""
    config = read_stack_config("gcp-prod")
    teams = [*get_key(config, "teams"), _team("speech", ha=True), _team("tabular", ha=False)]
    return run_program("gcp-prod", set_key(config, "teams", teams), PROGRAM)


def _team_namespaces(plan) -> list[str]:
    return sorted(
        n.inputs["metadata"]["name"] for n in plan.of_type(NAMESPACE) if TEAM_LABEL in n.inputs["metadata"]["labels"]
    )


def _specs(plan, namespace: str) -> list[dict]:
    return [p.inputs["spec"] for p in plan.of_type(NETWORK_POLICY) if p.inputs["metadata"]["namespace"] == namespace]


def _stores(plan) -> dict[str, tuple[str, int]]:
    """Each HA cluster's namespace -> the IP address and port of its Redis."""
    stores = {}
    for cluster in plan.of_type(RAY_CLUSTER):
        address = cluster.inputs["spec"].get("gcsFaultToleranceOptions", {}).get("redisAddress")
        if address:
            parts = urlsplit(address)
            stores[cluster.inputs["metadata"]["namespace"]] = (parts.hostname, parts.port)
    return stores


def _isolation_policies(plan) -> list:
    return [p for p in plan.of_type(NETWORK_POLICY) if p.inputs["metadata"]["name"] == STORE_ISOLATION_POLICY]


def test_on_gcp_prod_vision_reaches_its_own_store():
    plan = planned("gcp-prod")
    stores = _stores(plan)
    assert list(stores) == ["team-vision"] and stores["team-vision"][1] == 6378
    assert egress_allowed(_specs(plan, "team-vision"), *stores["team-vision"])
    # No other team: nothing to keep out, so no egress policy narrows vision's pods.
    assert not _isolation_policies(plan)


def test_each_team_reaches_its_own_store_and_no_other():
    plan = _three_teams()
    stores = _stores(plan)
    namespaces = _team_namespaces(plan)
    assert set(stores) == {"team-vision", "team-speech"} and len(set(stores.values())) == 2
    assert namespaces == ["team-speech", "team-tabular", "team-vision"]
    reach = {(ns, owner): egress_allowed(_specs(plan, ns), *at) for ns in namespaces for owner, at in stores.items()}
    assert reach == {(ns, owner): ns == owner for ns, owner in reach}


@pytest.mark.parametrize(
    ("address", "port"),
    [
        ("8.8.8.8", 53),  # outside DNS
        ("199.36.153.8", 443),  # private.googleapis.com: the object store
        ("172.16.0.2", 443),  # a private control plane endpoint
        ("169.254.169.254", 80),  # the GKE metadata server (Workload Identity)
        ("10.200.1.1", 6378),  # a Redis that is no team's store
    ],
)
def test_the_isolation_keeps_every_other_destination_open(address, port):
    plan = _three_teams()
    for namespace in _team_namespaces(plan):
        assert egress_allowed(_specs(plan, namespace), address, port), namespace


def test_pods_in_the_cluster_stay_reachable_dns_included():
    policies = _isolation_policies(_three_teams())
    assert len(policies) == 3
    for policy in policies:
        assert {"to": [{"namespaceSelector": {}}]} in policy.inputs["spec"]["egress"]  # any port, any pod


def test_the_isolation_policies_validate_against_kubernetes_schemas():
    policies = _isolation_policies(_three_teams())
    assert policies
    for policy in policies:
        manifest = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", **policy.inputs}
        kubernetes_validate.validate(manifest, "1.34.0", strict=True)


def test_the_urns_of_the_stores_do_not_depend_on_the_other_teams():
    vision = [r.urn for r in planned("gcp-prod").resources if "vision-gcs" in r.name]
    assert vision and set(vision) <= {r.urn for r in _three_teams().resources}


SPEC_ALL_BUT = {
    "podSelector": {},
    "policyTypes": ["Egress"],
    "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.5/32"]}}]}],
}


@pytest.mark.parametrize(
    ("specs", "reaches"),
    [
        ([], True),  # no policy: egress is open
        ([{"podSelector": {}, "policyTypes": ["Ingress"], "ingress": []}], True),  # ingress only
        ([SPEC_ALL_BUT], False),
        ([{**SPEC_ALL_BUT, "podSelector": {"matchLabels": {"a": "b"}}}], True),  # other pods are not isolated
        ([SPEC_ALL_BUT, {"podSelector": {}, "egress": [{}]}], True),  # another policy opens everything
        ([SPEC_ALL_BUT, {"podSelector": {}, "egress": [{"ports": [{"port": 6379}]}]}], False),  # another port
        ([SPEC_ALL_BUT, {"podSelector": {}, "egress": [{"ports": [{"port": 6000, "endPort": 7000}]}]}], True),
        ([SPEC_ALL_BUT, {"podSelector": {}, "egress": [{"to": [{"namespaceSelector": {}}]}]}], False),  # pods only
        ([{"podSelector": {}, "policyTypes": ["Egress"]}], False),  # deny all
    ],
)
def test_the_evaluator_follows_kubernetes_semantics(specs, reaches):
    assert egress_allowed(specs, "10.0.0.5", 6378) is reaches


def _make_monitoring_a_team(resource):
    resource.inputs["metadata"]["labels"][TEAM_LABEL] = "monitoring"


GCS_REACH_CASES = [
    Case(
        RULE,
        RAY_CLUSTER,
        "gcp-prod-platform-team-vision-ray-cluster",
        _make_monitoring_a_team,
        "may be reached from other team namespaces: monitoring",
        changed_type=NAMESPACE,
        changed_name="gcp-prod-platform-monitoring",
        stack="gcp-prod",
    ),
]


@pytest.mark.parametrize("case", GCS_REACH_CASES, ids=[c.expected for c in GCS_REACH_CASES])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def _cluster_of(plan, namespace: str):
    (cluster,) = [c for c in plan.of_type(RAY_CLUSTER) if c.inputs["metadata"]["namespace"] == namespace]
    return cluster


def test_the_pack_passes_two_isolated_teams_and_fails_when_one_policy_reopens_a_store():
    plan = copy.deepcopy(_three_teams())
    speech = _cluster_of(plan, "team-speech")
    assert outcome(check(plan), RULE, RAY_CLUSTER, speech.name).status == "passed"
    (tabular,) = [
        p
        for p in plan.of_type(NETWORK_POLICY)
        if p.inputs["metadata"] == {"name": STORE_ISOLATION_POLICY, "namespace": "team-tabular"}
    ]
    tabular.inputs["spec"]["egress"][1]["to"][0]["ipBlock"]["except"] = []
    finding = outcome(check(plan), RULE, RAY_CLUSTER, speech.name)
    assert finding.status == "failed" and "team-tabular" in finding.message


def test_a_value_of_the_wrong_shape_is_a_violation_not_an_error():
    plan = copy.deepcopy(_three_teams())
    speech = _cluster_of(plan, "team-speech")
    speech.inputs["spec"]["gcsFaultToleranceOptions"]["redisAddress"] = ["rediss://10.0.0.1:6378"]
    finding = outcome(check(plan), RULE, RAY_CLUSTER, speech.name)
    assert finding.status == "failed" and "could not evaluate" in finding.message
