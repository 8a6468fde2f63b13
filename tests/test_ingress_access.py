"""The authenticated ingress (access.ingress): every Ingress sits behind an oauth2-proxy that lets through only
its groups, on AWS an internal HTTPS ALB served by the pinned AWS Load Balancer Controller with a
least-privilege role; bad configs are refused; nothing exists where the stack does not ask for it."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest
from parliament import analyze_policy_string

from catalog import versions
from components.aws.load_balancer import CLUSTER_TAG, controller_policy
from components.gcp.iap import HEALTH_CHECK_RANGES, IAP_ROLE
from components.kubernetes.sso import INSTANCE_LABEL as PROXY_INSTANCE
from components.kubernetes.sso import NAME_LABEL as PROXY_NAME
from components.kubernetes.sso import NAMESPACE, PROXY_PORT
from rayplat.plan import run_program
from rayplat.plan.engine import read_stack_config
from stackconfig.loading import parse_config, project_keys
from tests.conftest import PROGRAM, STACKS, config_problems, get_key, planned, resource, set_key

INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
RELEASE = "kubernetes:helm.sh/v3:Release"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ALB = "alb.ingress.kubernetes.io/"
CERTIFICATE = "arn:aws:acm:us-east-1:210987654321:certificate/4f0c2a9e-1b7d-4c3e-9a58-2d6e8f1b3c70"
INGRESS_CONFIG = {
    "domain": "ray.example.internal",
    "certificateArn": CERTIFICATE.replace("us-east-1", "us-west-2"),
    "oidc": {
        "issuerUrl": "https://sso.example.com/oauth2/default",
        "clientId": "ray-platform",
        "clientSecret": {"name": "oidc-client", "key": "client-secret"},
    },
}


def _proxy_args(plan, name: str) -> list[str]:
    deployment = resource(plan, DEPLOYMENT, name)
    (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == versions.OAUTH2_PROXY_IMAGE
    return container["args"]


def _flag(args: list[str], flag: str) -> list[str]:
    return [a.split("=", 1)[1] for a in args if a.startswith(f"{flag}=")]


def _teams_with_clusters(stack: str) -> dict[str, str]:
    teams = get_key(read_stack_config(stack), "teams")
    return {t["name"]: t["members"]["group"] for t in teams if t.get("rayCluster") is not None}


def _with_ingress(config: dict[str, str], ingress: dict) -> dict[str, str]:
    return set_key(config, "access", {"ingress": ingress})


# --- Where it exists ----------------------------------------------------------------------------------------


WITHOUT_INGRESS = [s for s in STACKS if "ray-platform:access" not in read_stack_config(s)]


@pytest.mark.parametrize("stack", WITHOUT_INGRESS)
def test_no_ingress_and_no_controller_where_the_stack_asks_for_none(stack):
    plan = planned(stack)
    assert plan.of_type(INGRESS) == []
    assert not [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == versions.AWS_LOAD_BALANCER_CONTROLLER.name]


def test_every_prod_ingress_fronts_an_oauth2_proxy_that_lets_only_its_groups_through():
    plan = planned("prod")
    teams = _teams_with_clusters("prod")
    grafana = get_key(read_stack_config("prod"), "access")["ingress"]["grafanaGroups"]
    expected = {f"prod-sso-ray-{team}": [group] for team, group in teams.items()} | {"prod-sso-grafana": grafana}
    ingresses = plan.of_type(INGRESS)
    assert {i.name for i in ingresses} == set(expected) and teams
    for ingress in ingresses:
        assert ingress.inputs["metadata"]["namespace"] == NAMESPACE
        backends = [p["backend"]["service"] for r in ingress.inputs["spec"]["rules"] for p in r["http"]["paths"]]
        assert backends == [{"name": ingress.inputs["metadata"]["name"], "port": {"number": PROXY_PORT}}]
        assert "defaultBackend" not in ingress.inputs["spec"]
        service = resource(plan, SERVICE, ingress.name)
        pods = resource(plan, DEPLOYMENT, ingress.name).inputs["spec"]["template"]["metadata"]["labels"]
        assert service.inputs["spec"]["selector"].items() <= pods.items()
        args = _proxy_args(plan, ingress.name)
        assert _flag(args, "--allowed-group") == expected[ingress.name]
        assert _flag(args, "--provider") == ["oidc"]
        assert _flag(args, "--oidc-issuer-url") == ["https://sso.example.com/oauth2/default"]
        host = ingress.inputs["spec"]["rules"][0]["host"]
        assert _flag(args, "--redirect-url") == [f"https://{host}/oauth2/callback"]


def test_a_team_proxy_forwards_to_its_own_head_and_only_it_is_let_in():
    plan = planned("prod")
    for team in _teams_with_clusters("prod"):
        args = _proxy_args(plan, f"prod-sso-ray-{team}")
        assert _flag(args, "--upstream") == [f"http://{team}-ray-head-svc.team-{team}.svc.cluster.local:8265/"]
        policy = resource(plan, NETWORK_POLICY, f"prod-sso-ray-{team}-allow").inputs
        assert policy["metadata"]["namespace"] == f"team-{team}"
        head = {"ray.io/cluster": f"{team}-ray", "ray.io/node-type": "head"}
        assert policy["spec"]["podSelector"]["matchLabels"] == head
        (rule,) = policy["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": 8265}]
        assert rule["from"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
                "podSelector": {"matchLabels": {PROXY_NAME: "oauth2-proxy", PROXY_INSTANCE: f"ray-{team}"}},
            }
        ]


def test_secrets_are_referenced_never_written():
    plan = planned("prod")
    deployments = [d for d in plan.of_type(DEPLOYMENT) if d.inputs["metadata"]["namespace"] == NAMESPACE]
    assert deployments
    for deployment in deployments:
        (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        assert not [a for a in container["args"] if a.startswith(("--client-secret", "--cookie-secret"))]
        env = {e["name"]: e for e in container["env"]}
        assert env["OAUTH2_PROXY_CLIENT_SECRET"] == {
            "name": "OAUTH2_PROXY_CLIENT_SECRET",
            "valueFrom": {"secretKeyRef": {"name": "oidc-client", "key": "client-secret"}},
        }
        cookie = env["OAUTH2_PROXY_COOKIE_SECRET"]["valueFrom"]["secretKeyRef"]
        secret = resource(plan, "kubernetes:core/v1:Secret", f"{deployment.name}-cookie")
        assert secret.inputs["metadata"]["name"] == cookie["name"]
        # The generated cookie secret reaches the state as a Pulumi secret only (the plan masks it whole).
        assert secret.inputs["stringData"] == "[secret]" and cookie["key"] == "cookie-secret"
        generator = resource(plan, "random:index/randomPassword:RandomPassword", deployment.name)
        assert generator.inputs["length"] == 32
        assert generator.urn in secret.propertyDependencies["stringData"]
    assert "oidc-client" not in json.dumps(plan.outputs)


# --- AWS: an internal HTTPS ALB, served by the pinned controller with a least-privilege role --------------------


def test_prod_ingresses_are_internal_https_albs_admitted_after_the_controller():
    plan = planned("prod")
    release = next(r for r in plan.of_type(RELEASE) if r.inputs["chart"] == versions.AWS_LOAD_BALANCER_CONTROLLER.name)
    assert release.inputs["version"] == versions.AWS_LOAD_BALANCER_CONTROLLER.version
    for ingress in plan.of_type(INGRESS):
        annotations = ingress.inputs["metadata"]["annotations"]
        assert ingress.inputs["spec"]["ingressClassName"] == "alb"
        assert annotations[f"{ALB}scheme"] == "internal"
        assert json.loads(annotations[f"{ALB}listen-ports"]) == [{"HTTPS": 443}]
        assert annotations[f"{ALB}certificate-arn"] == CERTIFICATE
        assert release.urn in ingress.dependencies


def test_the_controller_serves_alb_only_with_what_its_role_grants():
    plan = planned("prod")
    release = next(r for r in plan.of_type(RELEASE) if r.inputs["chart"] == versions.AWS_LOAD_BALANCER_CONTROLLER.name)
    values = release.inputs["values"]
    assert values["ingressClass"] == "alb" and values["clusterName"] == "ray-prod"
    assert values["enableWaf"] is values["enableWafv2"] is values["enableShield"] is False
    assert values["enableServiceMutatorWebhook"] is False
    assert values["replicaCount"] == 2
    role = resource(plan, "aws:iam/role:Role", "prod-load-balancer")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert "system:serviceaccount:kube-system:aws-load-balancer-controller" in trust.values()
    assert values["serviceAccount"]["name"] == "aws-load-balancer-controller"


POLICY = controller_policy("ray-prod", "vpc-0abc", CERTIFICATE, "210987654321", "us-east-1")
MUTATING = [s for s in POLICY["Statement"] if s["Sid"] != "Describe"]


def test_the_controller_policy_passes_parliament_but_for_two_reviewed_gaps():
    findings = analyze_policy_string(json.dumps(POLICY)).findings
    # parliament's database predates ELB's tag-on-create condition key (documented by AWS), and it requires an
    # action's NLB and ALB listener formats together where an ALB-only grant names the ALB ones.
    gaps = [
        f
        for f in findings
        if not (f.issue == "UNKNOWN_CONDITION_FOR_ACTION" and "elasticloadbalancing:CreateAction" in f.detail)
        and not (f.issue == "RESOURCE_MISMATCH" and all("/net/" in d["required_format"] for d in f.detail))
    ]
    assert gaps == []


def test_the_controller_policy_grants_no_waf_shield_cognito_or_server_certificates():
    actions = {a for s in POLICY["Statement"] for a in s["Action"]}
    assert not [a for a in actions if a.split(":")[0] in ("waf-regional", "wafv2", "shield", "cognito-idp")]
    assert not [a for a in actions if "ServerCertificate" in a]


def test_the_controller_changes_only_what_it_created_in_its_vpc_region_and_account():
    assert MUTATING
    for statement in MUTATING:
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert "*" not in resources, statement["Sid"]
        for arn in resources:
            assert ":210987654321:" in arn and (":us-east-1:" in arn or arn.startswith("arn:aws:iam::")), arn
    conditions = {s["Sid"]: json.dumps(s.get("Condition", {})) for s in MUTATING}
    for sid in ("CreateOwnSecurityGroups", "ManageOwnSecurityGroups", "CreateOwnBalancers", "ManageOwnBalancers"):
        assert f'"aws:ResourceTag/{CLUSTER_TAG}": "ray-prod"' in conditions[sid] or (
            f'"aws:RequestTag/{CLUSTER_TAG}": "ray-prod"' in conditions[sid]
        ), sid
    assert "vpc/vpc-0abc" in conditions["OpenSecurityGroupsOfVpc"]
    (describe,) = [s for s in POLICY["Statement"] if s["Sid"] == "StackCertificate"]
    assert describe["Resource"] == CERTIFICATE


# --- Manifests are valid Kubernetes objects --------------------------------------------------------------------

SSO_KINDS = {
    DEPLOYMENT: ("apps/v1", "Deployment"),
    SERVICE: ("v1", "Service"),
    INGRESS: ("networking.k8s.io/v1", "Ingress"),
    NETWORK_POLICY: ("networking.k8s.io/v1", "NetworkPolicy"),
}


def test_sso_objects_validate_against_kubernetes_schemas():
    plan = planned("prod")
    checked = 0
    for type_, (api, kind) in SSO_KINDS.items():
        for r in plan.of_type(type_):
            if "-sso-" not in r.name:
                continue
            kubernetes_validate.validate({**r.inputs, "apiVersion": api, "kind": kind}, "1.34.0", strict=True)
            checked += 1
    assert checked >= 7


# --- Existing clusters: the controller the config names -------------------------------------------------------


def test_an_existing_cluster_uses_the_ingress_class_and_tls_secret_it_names():
    config = read_stack_config("local")
    ingress = {**INGRESS_CONFIG, "className": "nginx", "tlsSecret": "sso-tls", "grafanaGroups": ["developers"]}
    del ingress["certificateArn"]
    plan = run_program("local", _with_ingress(config, ingress), PROGRAM)
    (grafana,) = plan.of_type(INGRESS)
    assert grafana.inputs["spec"]["ingressClassName"] == "nginx"
    assert grafana.inputs["spec"]["tls"] == [{"hosts": ["grafana.ray.example.internal"], "secretName": "sso-tls"}]
    assert _flag(_proxy_args(plan, grafana.name), "--allowed-group") == ["developers"]
    assert not [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == versions.AWS_LOAD_BALANCER_CONTROLLER.name]


# --- Bad configs are refused ----------------------------------------------------------------------------------


def test_prod_config_parses_with_its_ingress():
    config = parse_config(project_keys(read_stack_config("prod")))
    assert config.access.ingress is not None and config.access.ingress.oidc is not None
    assert config.access.ingress.oidc.client_secret.name == "oidc-client"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i: i.pop("certificateArn"), "access.ingress.certificateArn: required when cloud is 'aws'"),
        (lambda i: i.update(className="nginx"), "access.ingress.className: does not apply when cloud is 'aws'"),
        (
            lambda i: i.update(certificateArn=CERTIFICATE),
            "access.ingress.certificateArn: is in us-east-1, not in the stack's region us-west-2",
        ),
        (lambda i: i["oidc"].update(clientSecret="s3cr3t"), "access.ingress.oidc.clientSecret"),
        (lambda i: i["oidc"].update(issuerUrl="http://sso.example.com"), "access.ingress.oidc.issuerUrl"),
        (lambda i: i.update(domain="Not A Domain"), "access.ingress.domain"),
        (lambda i: i.update(iap=True), "access.ingress.iap"),
    ],
)
def test_a_bad_ingress_is_refused_naming_its_key(dev_config, change, expected):
    ingress = json.loads(json.dumps(INGRESS_CONFIG))
    change(ingress)
    problems = config_problems(_with_ingress(dev_config, ingress))
    assert [p for p in problems if p.startswith(expected)], problems


def test_an_ingress_with_nothing_to_front_is_refused(dev_config):
    teams = [{k: v for k, v in t.items() if k != "rayCluster"} for t in get_key(dev_config, "teams")]
    problems = config_problems(set_key(_with_ingress(dev_config, INGRESS_CONFIG), "teams", teams))
    assert "access.ingress: fronts nothing: no team has a rayCluster and grafanaGroups is empty" in problems


def test_grafana_behind_sso_needs_the_monitoring_stack(dev_config):
    config = _with_ingress(dev_config, {**INGRESS_CONFIG, "grafanaGroups": ["ml-platform-admins"]})
    problems = config_problems(set_key(config, "observability", {"enabled": False}))
    assert [p for p in problems if p.startswith("access.ingress.grafanaGroups: needs observability.enabled")]


def test_an_existing_cluster_must_name_its_ingress_controller():
    config = _with_ingress(read_stack_config("local"), {**INGRESS_CONFIG, "grafanaGroups": ["developers"]})
    problems = config_problems(config)
    for key in ("className", "tlsSecret"):
        assert [p for p in problems if p.startswith(f"access.ingress.{key}: required when cloud is 'existing'")]
    assert [p for p in problems if p.startswith("access.ingress.certificateArn: does not apply")]


# --- GKE: Identity-Aware Proxy checks the group ---------------------------------------------------------------

BACKEND_CONFIG = "kubernetes:cloud.google.com/v1:BackendConfig"
IAP_MEMBER = "gcp:iap/webIamMember:WebIamMember"
SUBNETWORK = "gcp:compute/subnetwork:Subnetwork"
FIREWALL = "gcp:compute/firewall:Firewall"
PROXY_ONLY_CIDR = "10.99.0.0/23"
GKE_INGRESS = {
    "domain": "ray.example.internal",
    "iap": {"oauthClientSecret": "iap-oauth-client", "preSharedCert": "ray-cert"},
    "grafanaGroups": ["ml-platform-admins@acme.example"],
}


def _gke_config(ingress: dict | None = None, proxy_only_cidr: str | None = PROXY_ONLY_CIDR) -> dict[str, str]:
    config = read_stack_config("gcp-dev")
    gcp = get_key(config, "gcp")
    network = gcp.setdefault("network", {})
    if proxy_only_cidr is not None:
        network["proxyOnlyCidr"] = proxy_only_cidr
    return _with_ingress(set_key(config, "gcp", gcp), json.loads(json.dumps(ingress or GKE_INGRESS)))


@pytest.fixture(scope="module")
def gke_plan():
    return run_program("gcp-dev", _gke_config(), PROGRAM)


def _iap_backends(plan) -> dict[str, tuple[str, str, list[str]]]:
    """Per Ingress: its namespace, host and the groups IAP lets through that host."""
    members = plan.of_type(IAP_MEMBER)
    backends = {}
    for ingress in plan.of_type(INGRESS):
        (rule,) = ingress.inputs["spec"]["rules"]
        host = rule["host"]
        granted = [m for m in members if m.inputs["condition"]["expression"] == f'request.host == "{host}"']
        backends[ingress.name] = (ingress.inputs["metadata"]["namespace"], host, [m.inputs["member"] for m in granted])
    return backends


def test_gke_each_team_dashboard_and_grafana_are_let_through_iap_to_their_groups_only(gke_plan):
    teams = _teams_with_clusters("gcp-dev")
    assert teams
    expected = {
        f"gcp-dev-iap-ray-{t}": (f"team-{t}", f"{t}.ray.example.internal", [f"group:{g}"]) for t, g in teams.items()
    }
    expected["gcp-dev-iap-grafana"] = (
        "monitoring",
        "grafana.ray.example.internal",
        ["group:ml-platform-admins@acme.example"],
    )
    assert _iap_backends(gke_plan) == expected
    members = gke_plan.of_type(IAP_MEMBER)
    assert len(members) == len(expected)
    for member in members:
        assert member.inputs["role"] == IAP_ROLE and member.inputs["project"] == "acme-ml-dev"


def test_gke_every_ingress_is_internal_https_and_its_backend_has_iap_on(gke_plan):
    ingresses = gke_plan.of_type(INGRESS)
    assert len(ingresses) == 2
    for ingress in ingresses:
        annotations = ingress.inputs["metadata"]["annotations"]
        assert annotations["kubernetes.io/ingress.class"] == "gce-internal"
        assert annotations["ingress.gcp.kubernetes.io/pre-shared-cert"] == "ray-cert"
        assert annotations["kubernetes.io/ingress.allow-http"] == "false"
        assert "defaultBackend" not in ingress.inputs["spec"]
        backends = [
            p["backend"]["service"]["name"] for r in ingress.inputs["spec"]["rules"] for p in r["http"]["paths"]
        ]
        (service_name,) = set(backends)
        service = resource(gke_plan, SERVICE, ingress.name)
        assert service.inputs["metadata"]["name"] == service_name
        service_annotations = service.inputs["metadata"]["annotations"]
        assert json.loads(service_annotations["cloud.google.com/neg"]) == {"ingress": True}
        config_name = json.loads(service_annotations["cloud.google.com/backend-config"])["default"]
        config = resource(gke_plan, BACKEND_CONFIG, ingress.name)
        assert config.inputs["metadata"] == {"name": config_name, "namespace": ingress.inputs["metadata"]["namespace"]}
        # BackendConfig is GKE's CRD (no public schema in the project's validators): its shape is checked here.
        assert config.inputs["spec"] == {
            "iap": {"enabled": True, "oauthclientCredentials": {"secretName": "iap-oauth-client"}}
        }


def test_gke_the_team_backend_is_its_own_head_and_only_the_load_balancer_is_let_in(gke_plan):
    for team in _teams_with_clusters("gcp-dev"):
        service = resource(gke_plan, SERVICE, f"gcp-dev-iap-ray-{team}")
        head = {"ray.io/cluster": f"{team}-ray", "ray.io/node-type": "head"}
        assert service.inputs["spec"]["selector"] == head
        assert [p["targetPort"] for p in service.inputs["spec"]["ports"]] == [8265]
        policy = resource(gke_plan, NETWORK_POLICY, f"gcp-dev-iap-ray-{team}-allow")
        assert policy.inputs["metadata"]["namespace"] == f"team-{team}"
        assert policy.inputs["spec"]["podSelector"] == {"matchLabels": head}
        (rule,) = policy.inputs["spec"]["ingress"]
        assert [f["ipBlock"]["cidr"] for f in rule["from"]] == [PROXY_ONLY_CIDR, *HEALTH_CHECK_RANGES]
        assert rule["ports"] == [{"protocol": "TCP", "port": 8265}]


def test_gke_the_proxy_only_subnet_and_its_firewall_reach_only_the_ui_ports(gke_plan):
    subnet = resource(gke_plan, SUBNETWORK, "gcp-dev-vpc-proxy-only")
    assert subnet.inputs["purpose"] == "REGIONAL_MANAGED_PROXY" and subnet.inputs["role"] == "ACTIVE"
    assert subnet.inputs["ipCidrRange"] == PROXY_ONLY_CIDR
    firewall = resource(gke_plan, FIREWALL, "gcp-dev-vpc-proxy-only")
    assert firewall.inputs["sourceRanges"] == [PROXY_ONLY_CIDR]
    assert firewall.inputs["allows"] == [{"protocol": "tcp", "ports": ["8265", "3000"]}]


def test_gke_uses_no_oauth2_proxy_and_writes_no_secret(gke_plan):
    assert not [d for d in gke_plan.of_type(DEPLOYMENT) if "-sso-" in d.name]
    assert not [s for s in gke_plan.of_type("kubernetes:core/v1:Secret") if "-iap-" in s.name]


def test_gke_objects_validate_against_kubernetes_schemas(gke_plan):
    checked = 0
    for type_, (api, kind) in SSO_KINDS.items():
        for r in gke_plan.of_type(type_):
            if "-iap-" in r.name:
                kubernetes_validate.validate({**r.inputs, "apiVersion": api, "kind": kind}, "1.34.0", strict=True)
                checked += 1
    assert checked == 5


def test_gcp_prod_turns_the_iap_ingress_on():
    config = parse_config(project_keys(read_stack_config("gcp-prod")))
    assert config.access.ingress is not None and config.access.ingress.iap is not None
    assert config.gcp_settings.network.proxy_only_cidr is not None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda i: i.pop("iap"), "access.ingress.iap: required when cloud is 'gcp'"),
        (lambda i: i.update(oidc=INGRESS_CONFIG["oidc"]), "access.ingress.oidc: does not apply when cloud is 'gcp'"),
        (lambda i: i.update(certificateArn=CERTIFICATE), "access.ingress.certificateArn: does not apply"),
        (lambda i: i.update(tlsSecret="tls"), "access.ingress.tlsSecret: does not apply when cloud is 'gcp'"),
        (
            lambda i: i["iap"].update(oauthClientSecret={"client_secret": "s3cr3t"}),
            "access.ingress.iap.oauthClientSecret",
        ),
        (lambda i: i["iap"].pop("preSharedCert"), "access.ingress.iap.preSharedCert"),
    ],
)
def test_gke_a_bad_ingress_is_refused_naming_its_key(change, expected):
    ingress = json.loads(json.dumps(GKE_INGRESS))
    change(ingress)
    problems = config_problems(_gke_config(ingress))
    assert [p for p in problems if p.startswith(expected)], problems


def test_gke_the_ingress_needs_a_proxy_only_subnet_apart_from_the_others():
    problems = config_problems(_gke_config(proxy_only_cidr=None))
    assert [p for p in problems if p.startswith("gcp.network.proxyOnlyCidr: required with access.ingress")], problems
    subnet = get_key(read_stack_config("gcp-dev"), "gcp").get("network", {}).get("subnetCidr", "10.10.0.0/20")
    problems = config_problems(_gke_config(proxy_only_cidr=subnet))
    assert [p for p in problems if p.startswith("gcp.network.proxyOnlyCidr: overlaps")], problems


def test_iap_does_not_apply_outside_gcp(dev_config):
    problems = config_problems(_with_ingress(dev_config, {**INGRESS_CONFIG, "iap": GKE_INGRESS["iap"]}))
    assert [p for p in problems if p.startswith("access.ingress.iap: does not apply when cloud is 'aws'")], problems
