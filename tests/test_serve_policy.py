"""ray-serve-no-public-load-balancer beyond its baseline case: internal load balancers pass, a Service is judged
by what it sends traffic to, and a serveService of the wrong shape is reported, never raised on."""

from __future__ import annotations

import pytest

from components.kubernetes.rayservice import serve_service
from policies.ray_serve import _serve_service
from policies.rules import Subject
from rayplat.templates import examples

RAY_SERVICE = "kubernetes:ray.io/v1:RayService"
SERVICE = "kubernetes:core/v1:Service"


def _findings(type_: str, props: dict) -> list[str]:
    return list(_serve_service(Subject(type_, "x", "urn:x", props, False, {}), {}))


def _ray_service(serve: object) -> dict:
    return {"metadata": {"name": "serve"}, "spec": {"serveService": serve}}


def test_the_platforms_rayservice_is_internal():
    (generated,) = [m for m in examples().values() if m["kind"] == "RayService"]
    assert generated["spec"]["serveService"] == serve_service("vision-serve")
    assert _findings(RAY_SERVICE, generated) == []


@pytest.mark.parametrize(
    "annotations",
    [
        {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
        {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
        {"networking.gke.io/load-balancer-type": "Internal"},
    ],
)
def test_an_internal_load_balancer_passes(annotations):
    serve = {"metadata": {"annotations": annotations}, "spec": {"type": "LoadBalancer"}}
    assert _findings(RAY_SERVICE, _ray_service(serve)) == []
    service = {**serve, "spec": {"type": "LoadBalancer", "ports": [{"port": 80, "targetPort": 8000}]}}
    assert _findings(SERVICE, service) == []


def test_a_public_load_balancer_in_front_of_serve_fails_and_others_are_not_its_business():
    public = {"spec": {"type": "LoadBalancer", "ports": [{"name": "http", "port": 80, "targetPort": "serve"}]}}
    (finding,) = _findings(SERVICE, public)
    assert finding.startswith("a public LoadBalancer Service reaches Ray Serve (port 8000)")
    other = {"spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 443}]}}
    assert _findings(SERVICE, other) == []
    facing = {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}
    assert _findings(RAY_SERVICE, _ray_service({"metadata": {"annotations": facing}, "spec": {"type": "LoadBalancer"}}))


@pytest.mark.parametrize("serve", ["LoadBalancer", ["LoadBalancer"], 3])
def test_a_serve_service_of_the_wrong_shape_is_reported(serve):
    assert _findings(RAY_SERVICE, _ray_service(serve)) == [
        "spec.serveService is not an object: cannot tell how Ray Serve is exposed"
    ]
