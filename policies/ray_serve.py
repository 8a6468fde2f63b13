"""Ray Serve behind no public load balancer: Serve's HTTP proxy has no authentication of its own, and a
RayService's application runs arbitrary code on the team's GPUs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog.ray_ports import RAY_SERVICE_PORTS
from policies.objects import mapping, mappings
from policies.ray_pods import kind
from policies.rules import Rule, Subject, resource_rule, whole

SERVICE = "kubernetes:core/v1:Service"
RAY_SERVICE = "kubernetes:ray.io/v1:RayService"
SERVE_PORT = RAY_SERVICE_PORTS["serve"]
# KubeRay labels the pods whose Serve proxy is ready to take traffic.
SERVE_LABEL = "ray.io/serve"
# The annotations that make a LoadBalancer Service internal (AWS load balancer controller and in-tree
# provider, GKE), with the value that does it.
INTERNAL_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "networking.gke.io/load-balancer-type": "Internal",
    "cloud.google.com/load-balancer-type": "Internal",
}


def _public_load_balancer(service: dict[str, Any]) -> bool:
    if mapping(service.get("spec")).get("type") != "LoadBalancer":
        return False
    annotations = mapping(mapping(service.get("metadata")).get("annotations"))
    internal = (str(annotations.get(key, "")).lower() == value.lower() for key, value in INTERNAL_ANNOTATIONS.items())
    return not any(internal)


def _serves(service: dict[str, Any]) -> bool:
    """Whether a Service sends traffic to Ray Serve: it selects Serve's pods or names Serve's port."""
    spec = mapping(service.get("spec"))
    ports = mappings(spec.get("ports"))
    named = {str(p.get("name", "")) for p in ports} | {str(p.get("targetPort", "")) for p in ports}
    numbers = {whole(p.get(k)) for p in ports for k in ("port", "targetPort")}
    return SERVE_LABEL in mapping(spec.get("selector")) or SERVE_PORT in numbers or "serve" in named


def _serve_service(subject: Subject, _config) -> Iterable[str]:
    if kind(subject) == "Service":
        service = mapping(subject.props)
        if _serves(service) and _public_load_balancer(service):
            yield f"a public LoadBalancer Service reaches Ray Serve (port {SERVE_PORT}): it needs an internal scheme"
        return
    serve_service = subject.get("spec", "serveService")
    if serve_service is None:
        return
    if not mapping(serve_service):
        yield "spec.serveService is not an object: cannot tell how Ray Serve is exposed"
    elif _public_load_balancer(mapping(serve_service)):
        yield "spec.serveService is a public LoadBalancer: Ray Serve answers anyone on the internet"


POLICIES: list[Rule] = [
    resource_rule(
        name="ray-serve-no-public-load-balancer",
        area="ray",
        severity=Severity.CRITICAL,
        types=(SERVICE, RAY_SERVICE),
        check=_serve_service,
        description="No RayService serve Service, and no Service in front of Ray Serve, is a public LoadBalancer.",
        remediation="Keep serveService ClusterIP and publish through an authenticated internal Ingress, or "
        "annotate the LoadBalancer internal (aws-load-balancer-scheme: internal, "
        "networking.gke.io/load-balancer-type: Internal).",
        controls=("Ray security guide: Ray expects to run in a safe network environment", "NIST SP 800-53 SC-7"),
    ),
]
