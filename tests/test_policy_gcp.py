"""The GCP rules: each passes the compliant baseline (a GCP stack's plan plus compliant examples of what the
stacks do not create: a firewall, a bucket IAM policy, a service-account IAM binding) and fails when one
field changes, including to a value of the wrong shape."""

from __future__ import annotations

import functools
import json

import pytest

from policies import gcp_iam, gcp_kms, gcp_network, gke
from rayplat.check.engine import load_policy_config, policy_config_path
from tests.policy_support import _synthetic, baseline, changed, check, outcome
from tests.test_policy_rules import _DELETE, Case, _protected, _set

GKE = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
SUBNET = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
BUCKET_POLICY = "gcp:storage/bucketIAMPolicy:BucketIAMPolicy"
SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
SA_BINDING = "gcp:serviceaccount/iAMBinding:IAMBinding"
PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"

IAP_RANGE = "35.235.240.0/20"


def gcp_examples(stack: str):
    """Compliant GCP resources the shipped stacks do not create."""
    policy = {"bindings": [{"role": "roles/storage.objectViewer", "members": ["group:ml@acme.example"]}]}
    return [
        _synthetic(
            FIREWALL,
            "ray-ops",
            {
                "network": "projects/acme-ml-dev/global/networks/vpc",
                "direction": "INGRESS",
                "sourceRanges": [IAP_RANGE],
                "allows": [{"protocol": "tcp", "ports": ["22", "8265"]}],
            },
            stack,
        ),
        _synthetic(BUCKET_POLICY, "shared", {"bucket": "shared", "policyData": json.dumps(policy)}, stack),
        _synthetic(
            SA_BINDING,
            "teams",
            {
                "serviceAccountId": "projects/acme-ml-dev/serviceAccounts/teams@acme-ml-dev.iam.gserviceaccount.com",
                "role": "roles/iam.workloadIdentityUser",
                "members": [
                    "serviceAccount:acme-ml-dev.svc.id.goog[team-a/ray]",
                    "principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/"
                    "acme-ml-dev.svc.id.goog/subject/ns/team-b/sa/ray",
                ],
            },
            stack,
        ),
    ]


def _policy_data(document):
    return _set("policyData", json.dumps(document))


DEV, PROD = "gcp-dev", "gcp-prod"
GCP_CASES = [
    Case(
        "gke-network-policy-enforced", GKE, DEV, _set("datapathProvider", "LEGACY_DATAPATH"), "not enforced", stack=DEV
    ),
    Case(
        "gke-google-groups-rbac",
        GKE,
        DEV,
        _set("authenticatorGroupsConfig", _DELETE),
        "RoleBindings name the groups ml-vision@acme.example, but Google Groups for RBAC is off",
        stack=DEV,
    ),
    Case(
        "gke-legacy-metadata-off",
        GKE_POOL,
        "gcp-dev-l4",
        _set(("nodeConfig", "metadata", "disable-legacy-endpoints"), "false"),
        "disable-legacy-endpoints is false",
        stack=DEV,
    ),
    Case(
        "gke-node-auto-repair",
        GKE_POOL,
        "gcp-dev-system",
        _set("management.autoRepair", False),
        "auto-repair is off",
        stack=DEV,
    ),
    Case(
        "gke-node-auto-upgrade",
        GKE_POOL,
        "gcp-dev-system",
        _set("management.autoUpgrade", False),
        "auto-upgrade is off",
        stack=DEV,
    ),
    Case("gke-logging-monitoring", GKE, DEV, _set("loggingService", "none"), "Cloud logging is off", stack=DEV),
    Case(
        "gke-logging-monitoring",
        GKE,
        DEV,
        _set("monitoringConfig", {"enableComponents": []}),
        "Cloud monitoring of system components is off",
        stack=DEV,
    ),
    Case("gke-release-channel", GKE, DEV, _set("releaseChannel", _DELETE), "in no release channel", stack=DEV),
    Case(
        "gke-deletion-protection",
        GKE,
        PROD,
        _set("deletionProtection", False),
        "deletion protection is off",
        stack=PROD,
    ),
    Case(
        "gke-secrets-encryption",
        GKE,
        PROD,
        _set("databaseEncryption.state", "DECRYPTED"),
        "secrets are not encrypted with a Cloud KMS key",
        stack=PROD,
    ),
    Case(
        "gke-intranode-visibility",
        GKE,
        PROD,
        _set("enableIntranodeVisibility", False),
        "intranode visibility is off",
        stack=PROD,
    ),
    # Master authorized networks removed from a public endpoint.
    Case(
        "gke-control-plane-access",
        GKE,
        DEV,
        _set("masterAuthorizedNetworksConfig", _DELETE),
        "accepts every network",
        stack=DEV,
    ),
    Case(
        "gke-shielded-nodes",
        GKE_POOL,
        "gcp-dev-l4",
        _set("nodeConfig.shieldedInstanceConfig.enableIntegrityMonitoring", False),
        "integrity monitoring is off",
        stack=DEV,
    ),
    Case(
        "gcp-iam-no-public-members",
        BUCKET_MEMBER,
        "gcp-dev-platform-ray",
        _set("member", "allUsers"),
        "to allUsers",
        stack=DEV,
    ),
    Case(
        "gcp-iam-no-public-members",
        BUCKET_POLICY,
        "shared",
        _policy_data({"bindings": [{"role": "roles/storage.objectViewer", "members": ["allAuthenticatedUsers"]}]}),
        "grants roles/storage.objectViewer to allAuthenticatedUsers",
        stack=DEV,
    ),
    Case(
        "gcp-iam-no-public-members",
        BUCKET_POLICY,
        "shared",
        _set("policyData", "{bindings"),
        "cannot judge the grant: policyData is not JSON",
        stack=DEV,
    ),
    Case(
        "gcp-sa-impersonation-scoped",
        SA_MEMBER,
        "gcp-dev-platform-ray",
        _set("role", "roles/iam.serviceAccountTokenCreator"),
        "grants roles/iam.serviceAccountTokenCreator to serviceAccount:acme-ml-dev.svc.id.goog[ray/ray]",
        stack=DEV,
    ),
    Case(
        "gcp-sa-impersonation-scoped",
        SA_BINDING,
        "teams",
        _set("members.1", "user:mallory@example.com"),
        "grants roles/iam.workloadIdentityUser to user:mallory@example.com",
        stack=DEV,
    ),
    Case(
        "gcp-sa-impersonation-scoped",
        PROJECT_MEMBER,
        "gcp-dev-nodes-viewer",
        _set("role", "roles/iam.serviceAccountUser"),
        "on the whole project",
        stack=DEV,
    ),
    Case(
        "gcp-sa-impersonation-scoped",
        SA_BINDING,
        "teams",
        _set("members", "serviceAccount:acme-ml-dev.svc.id.goog[team-a/ray]"),
        "cannot judge the grant: members",
        stack=DEV,
    ),
    Case(
        "gcp-sa-no-admin-roles",
        PROJECT_MEMBER,
        "gcp-dev-nodes-viewer",
        _set("role", "roles/storage.admin"),
        "grants the admin role roles/storage.admin on the project to the service account",
        stack=DEV,
    ),
    Case(
        "gcp-no-primitive-roles",
        BUCKET_POLICY,
        "shared",
        _policy_data({"bindings": [{"role": "roles/editor", "members": ["group:ml@acme.example"]}]}),
        "primitive role roles/editor",
        stack=DEV,
    ),
    Case(
        "gcp-firewall-no-public-ssh-rdp",
        FIREWALL,
        "ray-ops",
        _set("sourceRanges", ["0.0.0.0/0"]),
        "admits SSH (22) from the internet",
        stack=DEV,
    ),
    # No source at all: GCP admits the whole internet.
    Case(
        "gcp-firewall-no-public-ssh-rdp",
        FIREWALL,
        "ray-ops",
        _set("sourceRanges", _DELETE),
        "admits SSH (22) from the internet",
        stack=DEV,
    ),
    Case(
        "gcp-firewall-no-public-ssh-rdp",
        FIREWALL,
        "ray-ops",
        _set("sourceRanges", ["internet"]),
        "cannot judge the firewall: source range 'internet' is not a network",
        stack=DEV,
    ),
    Case(
        "gcp-firewall-ray-ports-never-public",
        FIREWALL,
        "ray-ops",
        _set("sourceRanges", ["10.0.0.0/8", "::/0"]),
        "admits Ray (8265) from the internet",
        stack=DEV,
    ),
    Case(
        "gcp-firewall-ray-ports-never-public",
        FIREWALL,
        "ray-ops",
        _set("allows", [{"protocol": "tcp", "ports": ["dashboard"]}]),
        "cannot judge the firewall: port 'dashboard'",
        stack=DEV,
    ),
    Case("gcp-subnet-flow-logs", SUBNET, "gcp-dev-vpc", _set("logConfig", _DELETE), "VPC flow logs are off", stack=DEV),
    Case(
        "gcp-subnet-private-google-access",
        SUBNET,
        "gcp-dev-vpc",
        _set("privateIpGoogleAccess", False),
        "Private Google Access is off",
        stack=DEV,
    ),
    Case(
        "gcp-kms-key-rotation",
        CRYPTO_KEY,
        "gcp-prod-secrets",
        _set("rotationPeriod", "31536000s"),
        "rotates every 365 days, more than 90",
        stack=PROD,
    ),
    Case(
        "gcp-kms-key-rotation",
        CRYPTO_KEY,
        "gcp-prod-secrets",
        _set("rotationPeriod", _DELETE),
        "never rotates",
        stack=PROD,
    ),
    Case(
        "gcp-kms-key-rotation",
        CRYPTO_KEY,
        "gcp-prod-secrets",
        _set("rotationPeriod", 90),
        "is not a duration",
        stack=PROD,
    ),
    Case(
        "stateful-resources-protected",
        CRYPTO_KEY,
        "gcp-prod-secrets",
        _protected,
        "CryptoKey holds data but is not protected",
        stack=PROD,
    ),
    Case(
        "gcp-labels",
        GKE_POOL,
        "gcp-dev-l4",
        _set("nodeConfig.resourceLabels.team", _DELETE),
        "missing labels team in nodeConfig.resourceLabels",
        stack=DEV,
    ),
    Case("gcp-labels", CRYPTO_KEY, "gcp-prod-secrets", _set("labels.owner", ""), "missing labels owner", stack=PROD),
    Case("gcp-labels", GKE, DEV, _set("resourceLabels.env", ""), "missing labels env in resourceLabels", stack=DEV),
]


def _plan(stack: str):
    plan = baseline(stack)
    plan.resources += gcp_examples(stack)
    return plan


def _config(stack: str, extra: dict) -> dict:
    return {**load_policy_config(policy_config_path(stack)), **extra}


@functools.cache
def _baseline_report(stack: str, config: str):
    return check(_plan(stack), json.loads(config))


@pytest.mark.parametrize("case", GCP_CASES, ids=[f"{i}-{c.policy}" for i, c in enumerate(GCP_CASES)])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    config = _config(case.stack, case.config)
    before = outcome(
        _baseline_report(case.stack, json.dumps(config, sort_keys=True)), case.policy, case.type, case.name
    )
    assert before.status == "passed", before
    plan = changed(_plan(case.stack), case.changed_type or case.type, case.changed_name or case.name, case.change)
    after = outcome(check(plan, config), case.policy, case.type, case.name)
    assert after.status == "failed", after
    assert case.expected in after.message


def test_every_new_gcp_rule_has_a_case_and_names_its_benchmark_items():
    rules = [*gke.POLICIES, *gcp_iam.POLICIES, *gcp_network.POLICIES, *gcp_kms.POLICIES]
    assert {r.name for r in rules} <= {c.policy for c in GCP_CASES}
    # Deletion protection is the platform's own rule: no benchmark has it.
    assert [r.name for r in rules if not r.controls] == ["gke-deletion-protection"]


def test_protected_environment_rules_pass_unprotected_stacks():
    report = _baseline_report(DEV, json.dumps(_config(DEV, {}), sort_keys=True))
    cluster = [f for f in report.findings if f.resource_type == GKE and f.resource_name == DEV]
    judged = {f.policy: f.status for f in cluster}
    # gcp-dev has neither a secrets key nor intranode visibility, and need not.
    assert judged["gke-secrets-encryption"] == judged["gke-intranode-visibility"] == "passed"
