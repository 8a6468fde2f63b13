"""What enforces the platform's promises on GKE and on an existing cluster: NetworkPolicy enforcement,
group membership for team RoleBindings, secrets encrypted with a key only GKE can use, and the config
that refuses a stack where nothing would enforce them."""

from __future__ import annotations

import json

import pytest

from components.gcp.kms import ENCRYPTER_DECRYPTER, ROTATION_PERIOD
from rayplat.plan import mockvalues
from rayplat.plan.engine import read_stack_config
from stackconfig.loading import parse_config, project_keys
from tests.conftest import config_problems, get_key, planned, resource, set_key

CLUSTER = "gcp:container/cluster:Cluster"
BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"


def _gcp(stack: str) -> dict:
    return json.loads(read_stack_config(stack)["ray-platform:gcp"])


def test_gke_enforces_network_policy_and_fills_the_groups_team_bindings_name(gcp_plan):
    cluster = resource(gcp_plan, CLUSTER).inputs
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    group = _gcp(gcp_plan.stack)["rbacSecurityGroup"]
    assert cluster["authenticatorGroupsConfig"] == {"securityGroup": group}
    if gcp_plan.stack == "gcp-dev":
        # The team's RoleBinding names its group, which Google Groups for RBAC fills.
        named = [s["name"] for b in gcp_plan.of_type(BINDING) for s in b.inputs["subjects"] if s["kind"] == "Group"]
        assert set(named) == {"ml-vision@acme.example"}  # its edit binding, and its Ray token reader


def test_prod_encrypts_secrets_with_a_rotating_key_only_the_gke_service_agent_uses():
    plan = planned("gcp-prod")
    ring = resource(plan, "gcp:kms/keyRing:KeyRing")
    key = resource(plan, "gcp:kms/cryptoKey:CryptoKey")
    (grant,) = plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
    cluster = resource(plan, CLUSTER)
    assert ring.inputs["location"] == _gcp("gcp-prod")["region"] == cluster.inputs["location"]
    assert key.inputs["keyRing"].endswith(f"/keyRings/{ring.inputs['name']}")
    assert key.inputs["rotationPeriod"] == ROTATION_PERIOD == "7776000s"
    # Keys and rings cannot be deleted from a project; destroying the key's versions loses the secrets.
    assert ring.protect and key.protect and ring.retainOnDelete and key.retainOnDelete
    site = mockvalues.Site(region="us-central1", project="acme-ml-prod")
    number = mockvalues.call_outputs("gcp:organizations/getProject:getProject", {"projectId": "acme-ml-prod"}, site)
    assert grant.inputs == {
        "cryptoKeyId": cluster.inputs["databaseEncryption"]["keyName"],
        "role": ENCRYPTER_DECRYPTER,
        "member": f"serviceAccount:service-{number['number']}@container-engine-robot.iam.gserviceaccount.com",
    }
    assert cluster.inputs["databaseEncryption"]["state"] == "ENCRYPTED"
    assert grant.urn in cluster.dependencies, "GKE checks at creation that its agent can use the key"
    assert cluster.inputs["enableIntranodeVisibility"] is True


def test_dev_has_no_secrets_key():
    plan = planned("gcp-dev")
    assert not [r for r in plan.resources if r.type.startswith("gcp:kms")]
    cluster = resource(plan, CLUSTER).inputs
    assert "databaseEncryption" not in cluster and "enableIntranodeVisibility" not in cluster


def _problems(stack: str, mutate) -> list[str]:
    return config_problems(mutate(read_stack_config(stack)))


def _gcp_without_group(config):
    return set_key(config, "gcp", {k: v for k, v in get_key(config, "gcp").items() if k != "rbacSecurityGroup"})


REFUSED = {
    "teams without google groups": (
        "gcp-dev",
        _gcp_without_group,
        "gcp.rbacSecurityGroup: required when teams are declared: each team's RoleBinding names a Google group",
    ),
    "a security group of another name": (
        "gcp-dev",
        lambda c: set_key(c, "gcp", {**get_key(c, "gcp"), "rbacSecurityGroup": "admins@acme.example"}),
        "gcp.rbacSecurityGroup: 'admins@acme.example' must be gke-security-groups@<your domain>",
    ),
    "unknown system machine type": (
        "gcp-dev",
        lambda c: set_key(c, "systemPool", {**get_key(c, "systemPool"), "instanceTypes": ["e2-standard-3"]}),
        "systemPool.instanceTypes[0]: 'e2-standard-3' is not a known GCP CPU machine type (c3-standard-*",
    ),
    "existing teams without an enforcing cni": (
        "local",
        lambda c: set_key(c, "existing", {**get_key(c, "existing"), "networkPolicyEnforced": False}),
        "existing.networkPolicyEnforced: must be true when teams are declared: teams are isolated by NetworkPolicies",
    ),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_stack_whose_promises_nothing_would_enforce_is_refused(case):
    stack, mutate, expected = REFUSED[case]
    problems = _problems(stack, mutate)
    assert any(expected in p for p in problems), problems


def test_an_aws_type_on_the_gcp_system_pool_is_reported_once():
    problems = _problems("gcp-dev", lambda c: set_key(c, "systemPool", {"instanceTypes": ["m6i.xlarge"]}))
    assert [p for p in problems if p.startswith("systemPool.instanceTypes[0]")] == [
        "systemPool.instanceTypes[0]: 'm6i.xlarge' is an AWS instance type, not a GCP machine type"
    ]


def test_without_teams_neither_google_groups_nor_an_enforcing_cni_is_required():
    gcp = _gcp_without_group(set_key(read_stack_config("gcp-dev"), "teams", []))
    assert parse_config(project_keys(gcp)).gcp_settings.rbac_security_group is None
    local = read_stack_config("local")
    local = set_key(
        set_key(local, "teams", []), "existing", {**get_key(local, "existing"), "networkPolicyEnforced": False}
    )
    assert parse_config(project_keys(local)).existing_settings.network_policy_enforced is False
