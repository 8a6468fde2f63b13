"""The SSO rules: each passes the compliant baseline (prod, which turns the ingress on) and fails when one
field changes; an Ingress whose backend is no longer an oauth2-proxy has no authenticating layer."""

from __future__ import annotations

import json

import pytest

from policies import sso
from policies.rules import Subject
from tests.test_policy_rules import Case, _set, check_case

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
RELEASE = "kubernetes:helm.sh/v3:Release"
ALB = "alb.ingress.kubernetes.io/"
VISION = "prod-sso-ray-vision"
GKE_GRAFANA = "gcp-prod-iap-grafana"


def _proxy_args(edit):
    def change(resource):
        container = resource.inputs["spec"]["template"]["spec"]["containers"][0]
        container["args"] = edit(container["args"])

    return change


SSO_CASES = [
    Case(
        "oauth2-proxy-group-restricted",
        DEPLOYMENT,
        VISION,
        _proxy_args(lambda args: [a for a in args if not a.startswith("--allowed-group")]),
        "lets every user of the identity provider through",
        stack="prod",
    ),
    Case(
        "alb-ingress-internal",
        INGRESS,
        VISION,
        _set(("metadata", "annotations", f"{ALB}scheme"), "internet-facing"),
        "not internal",
        stack="prod",
    ),
    Case(
        "alb-ingress-https",
        INGRESS,
        VISION,
        _set(("metadata", "annotations", f"{ALB}listen-ports"), json.dumps([{"HTTP": 80}, {"HTTPS": 443}])),
        "listens on HTTP",
        stack="prod",
    ),
    Case(
        "load-balancer-controller-pinned",
        RELEASE,
        "prod-load-balancer",
        _set("version", "3.4.0"),
        "chart version 3.4.0 is not the platform's 3.5.0",
        stack="prod",
    ),
    Case(
        "gke-ingress-internal-https",
        INGRESS,
        GKE_GRAFANA,
        _set(("metadata", "annotations", "kubernetes.io/ingress.class"), "gce"),
        "external Application Load Balancer (class gce)",
        stack="gcp-prod",
    ),
    Case(
        "gke-backend-config-iap",
        "kubernetes:cloud.google.com/v1:BackendConfig",
        GKE_GRAFANA,
        _set("spec.iap.enabled", False),
        "spec.iap.enabled is not true",
        stack="gcp-prod",
    ),
    Case(
        "iap-access-groups-only",
        "gcp:iap/webIamMember:WebIamMember",
        f"{GKE_GRAFANA}-ml-platform-admins@acme.example",
        _set("member", "allAuthenticatedUsers"),
        "grants roles/iap.httpsResourceAccessor to allAuthenticatedUsers",
        stack="gcp-prod",
    ),
]


@pytest.mark.parametrize("case", SSO_CASES, ids=[c.policy for c in SSO_CASES])
def test_rule_passes_baseline_and_fails_on_one_change(case):
    check_case(case)


def test_an_ingress_whose_backend_is_no_proxy_has_no_authenticating_layer():
    check_case(
        Case(
            "ingress-authenticated",
            INGRESS,
            "prod-sso-grafana",
            _set("spec.template.spec.containers.0.image", "docker.io/grafana/grafana:12.1.0"),
            "routes to grafana:4180 with no authenticating layer",
            changed_type=DEPLOYMENT,
            changed_name="prod-sso-grafana",
            stack="prod",
        )
    )


def test_a_proxy_that_skips_the_login_for_some_paths_is_refused():
    check_case(
        Case(
            "oauth2-proxy-group-restricted",
            DEPLOYMENT,
            VISION,
            _proxy_args(lambda args: [*args, "--skip-auth-regex=^/api/"]),
            "lets requests past the login (--skip-auth-regex)",
            stack="prod",
        )
    )


def _deployment(container: dict) -> Subject:
    props = {"spec": {"template": {"spec": {"containers": [container]}}}}
    return Subject(DEPLOYMENT, "d", "urn:d", props, False, {})


PROXY = "quay.io/oauth2-proxy/oauth2-proxy:v7.12.0"


@pytest.mark.parametrize(
    ("container", "violations"),
    [
        ({"name": "p", "image": PROXY, "args": ["--allowed-group", "ml-vision"]}, 0),
        ({"name": "p", "image": PROXY, "args": ["--allowed-group="]}, 1),
        ({"name": "p", "image": PROXY, "env": [{"name": "OAUTH2_PROXY_ALLOWED_GROUPS", "value": "a,b"}]}, 0),
        ({"name": "p", "image": PROXY, "env": [{"name": "OAUTH2_PROXY_ALLOWED_GROUPS", "value": ""}]}, 1),
        ({"name": "web", "image": "docker.io/library/nginx:1.27.0"}, 0),
        ({"name": "p", "image": PROXY, "args": {"allowed-group": "x"}, "env": "x"}, 1),
    ],
)
def test_what_counts_as_naming_the_groups(container, violations):
    assert len(list(sso._group_restricted(_deployment(container), {}))) == violations


def _ingress(annotations: dict, class_name: str | None = "alb", tls: list | None = None) -> Subject:
    spec: dict = {"ingressClassName": class_name} if class_name else {}
    if tls:
        spec["tls"] = tls
    props = {"metadata": {"name": "i", "annotations": annotations}, "spec": spec}
    return Subject(INGRESS, "i", "urn:i", props, False, {})


ALB_CONFIG = {"albClasses": ["alb"]}
HTTPS = {f"{ALB}listen-ports": '[{"HTTPS": 443}]', f"{ALB}certificate-arn": "arn:aws:acm:x"}


@pytest.mark.parametrize(
    ("ingress", "internal", "https"),
    [
        (_ingress({f"{ALB}scheme": "internal", **HTTPS}), 0, 0),
        (_ingress({**HTTPS}), 1, 0),
        (_ingress({f"{ALB}scheme": "internal"}), 0, 2),
        (_ingress({f"{ALB}scheme": "internal", f"{ALB}listen-ports": "not json"}), 0, 1),
        (_ingress({f"{ALB}scheme": "internal", f"{ALB}listen-ports": '[{"HTTPS": 443}]'}, tls=[{"x": 1}]), 0, 0),
        (_ingress({"kubernetes.io/ingress.class": "alb"}, class_name=None), 1, 2),
        (_ingress({}, class_name="nginx"), 0, 0),
    ],
)
def test_what_the_alb_rules_judge(ingress, internal, https):
    assert len(list(sso._alb_internal(ingress, ALB_CONFIG))) == internal
    assert len(list(sso._alb_https(ingress, ALB_CONFIG))) == https


def test_only_a_service_selecting_the_proxy_pods_counts_as_its_layer():
    labels = {"app.kubernetes.io/name": "oauth2-proxy", "app.kubernetes.io/instance": "ray-a"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "p", "image": PROXY}]}}
    props = {"metadata": {"namespace": "sso"}, "spec": {"template": template}}
    proxy = Subject(DEPLOYMENT, "d", "urn:d", props, False, {})

    def service(selector: dict) -> Subject:
        return Subject("kubernetes:core/v1:Service", "s", "urn:s", {"spec": {"selector": selector}}, False, {})

    assert sso.oauth2_proxy_behind([proxy], "sso", service(labels))
    assert not sso.oauth2_proxy_behind([proxy], "other", service(labels))
    assert not sso.oauth2_proxy_behind([proxy], "sso", service({"app": "grafana"}))
    assert not sso.oauth2_proxy_behind([proxy], "sso", service({}))
    assert not sso.oauth2_proxy_behind([proxy], "sso", None)


GKE_HTTPS = {
    "kubernetes.io/ingress.allow-http": "false",
    "ingress.gcp.kubernetes.io/pre-shared-cert": "cert",
}


@pytest.mark.parametrize(
    ("ingress", "violations"),
    [
        (_ingress({"kubernetes.io/ingress.class": "gce-internal", **GKE_HTTPS}, class_name=None), 0),
        (_ingress({"kubernetes.io/ingress.class": "gce", **GKE_HTTPS}, class_name=None), 1),
        (_ingress({"kubernetes.io/ingress.class": "gce-internal"}, class_name=None), 2),
        (_ingress({"kubernetes.io/ingress.class": "gce-internal", **GKE_HTTPS}, class_name=None, tls=[{}]), 0),
        (_ingress({}, class_name="alb"), 0),
    ],
)
def test_what_the_gke_ingress_rule_judges(ingress, violations):
    assert len(list(sso._gce_internal_https(ingress, {}))) == violations


def _binding(props: dict) -> Subject:
    return Subject("gcp:iap/webIamBinding:WebIamBinding", "b", "urn:b", props, False, {})


@pytest.mark.parametrize(
    ("props", "violations"),
    [
        ({"role": sso.IAP_ACCESSOR, "members": ["group:a@x.example", "group:b@x.example"]}, 0),
        ({"role": sso.IAP_ACCESSOR, "members": ["group:a@x.example", "allUsers", "user:c@x.example"]}, 2),
        ({"role": sso.IAP_ACCESSOR, "members": []}, 1),
        ({"role": sso.IAP_ACCESSOR, "members": "not a list"}, 1),
        ({"role": "roles/iap.admin", "members": ["user:c@x.example"]}, 0),
    ],
)
def test_what_the_iap_binding_rule_judges(props, violations):
    assert len(list(sso._iap_groups_only(_binding(props), {}))) == violations


@pytest.mark.parametrize(
    ("spec", "violations"),
    [
        ({"iap": {"enabled": True, "oauthclientCredentials": {"secretName": "s"}}}, 0),
        ({"iap": {"enabled": True}}, 0),
        ({"iap": {"enabled": True, "oauthclientCredentials": {}}}, 1),
        ({}, 1),
        ({"iap": "on"}, 1),
    ],
)
def test_what_the_backend_config_rule_judges(spec, violations):
    config = Subject("kubernetes:cloud.google.com/v1:BackendConfig", "c", "urn:c", {"spec": spec}, False, {})
    assert len(list(sso._backend_config_iap(config, {}))) == violations
