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
