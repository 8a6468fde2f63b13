"""SSO in front of the web UIs: an oauth2-proxy lets through only the groups it names, an ALB Ingress is
internal and HTTPS-only, and the AWS Load Balancer Controller runs the platform's pinned version.

An oauth2-proxy counts as an Ingress's authenticating layer (policies/access.py) when the Ingress's backend
Service selects the pods of a Deployment running the oauth2-proxy image.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog import versions
from policies.objects import mapping, mappings, metadata, object_namespace, parse_image, strings
from policies.rules import Rule, Subject, of_type, resource_rule

DEPLOYMENT = ("kubernetes:apps/v1:Deployment",)
INGRESS = ("kubernetes:networking.k8s.io/v1:Ingress",)
RELEASE = ("kubernetes:helm.sh/v3:Release",)
BACKEND_CONFIG = ("kubernetes:cloud.google.com/v1:BackendConfig",)
IAP_BINDINGS = (
    "gcp:iap/webIamMember:WebIamMember",
    "gcp:iap/webIamBinding:WebIamBinding",
    "gcp:iap/webBackendServiceIamMember:WebBackendServiceIamMember",
    "gcp:iap/webBackendServiceIamBinding:WebBackendServiceIamBinding",
)
IAP_ACCESSOR = "roles/iap.httpsResourceAccessor"
# The classes of GKE's Ingress controller: gce is an external Application Load Balancer.
GCE_CLASSES = ("gce", "gce-internal")
OAUTH2_PROXY_REPOSITORY = parse_image(versions.OAUTH2_PROXY_IMAGE).repository
ALB = "alb.ingress.kubernetes.io/"
_ALB_CONFIG = {
    "albClasses": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["alb"],
        "description": "The IngressClasses the AWS Load Balancer Controller serves.",
    }
}
# Flags that let requests through without the login (or its group check).
BYPASS_FLAGS = ("--skip-auth-regex", "--skip-auth-route", "--skip-jwt-bearer-tokens", "--skip-auth-preflight")


def _pod_spec(deployment: Subject) -> dict[str, Any]:
    return mapping(mapping(mapping(deployment.get("spec")).get("template")).get("spec"))


def _pod_labels(deployment: Subject) -> dict[str, Any]:
    template = mapping(mapping(deployment.get("spec")).get("template"))
    return mapping(mapping(template.get("metadata")).get("labels"))


def proxy_containers(deployment: Subject) -> list[dict[str, Any]]:
    return [
        c
        for c in mappings(_pod_spec(deployment).get("containers"))
        if parse_image(str(c.get("image", ""))).repository == OAUTH2_PROXY_REPOSITORY
    ]


def oauth2_proxy_behind(subjects: list[Subject], namespace: str, service: Subject | None) -> bool:
    """Whether ``service`` sends its traffic to an oauth2-proxy (a Deployment of its image it selects)."""
    selector = mapping(mapping(service.get("spec")).get("selector")) if service else {}
    if not selector:
        return False
    for deployment in of_type(subjects, DEPLOYMENT):
        labels = _pod_labels(deployment)
        if (
            object_namespace(deployment) == namespace
            and proxy_containers(deployment)
            and all(labels.get(k) == v for k, v in selector.items())
        ):
            return True
    return False


def _flag_values(args: list[str], flag: str) -> list[str]:
    values = [a.split("=", 1)[1] for a in args if a.startswith(f"{flag}=")]
    values += [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]
    return values


def _env_value(container: dict[str, Any], name: str) -> str | None:
    for variable in mappings(container.get("env")):
        if variable.get("name") == name:
            return str(variable.get("value", "")) if "value" in variable else "<from a reference>"
    return None


def _group_restricted(deployment: Subject, _config) -> Iterable[str]:
    for container in proxy_containers(deployment):
        name, args = container.get("name", "?"), strings(container.get("args"))
        groups = [g for v in _flag_values(args, "--allowed-group") for g in v.split(",") if g.strip()]
        from_env = _env_value(container, "OAUTH2_PROXY_ALLOWED_GROUPS")
        if not groups and not (from_env and from_env.strip()):
            yield f"container {name} lets every user of the identity provider through (no --allowed-group)"
        bypasses = sorted({a.split("=", 1)[0] for a in args if a.split("=", 1)[0] in BYPASS_FLAGS})
        if bypasses:
            yield f"container {name} lets requests past the login ({', '.join(bypasses)})"


def _ingress_class(ingress: Subject) -> str:
    annotations = mapping(metadata(ingress).get("annotations"))
    return str(mapping(ingress.get("spec")).get("ingressClassName") or annotations.get("kubernetes.io/ingress.class"))


def _listen_ports(annotations: dict[str, Any]) -> list[dict[str, Any]] | None:
    try:
        ports = json.loads(str(annotations.get(f"{ALB}listen-ports", '[{"HTTP": 80}]')))
    except ValueError:
        return None
    return [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else None


def _alb_internal(ingress: Subject, config) -> Iterable[str]:
    if _ingress_class(ingress) not in config["albClasses"]:
        return
    scheme = mapping(metadata(ingress).get("annotations")).get(f"{ALB}scheme")
    if scheme != "internal":
        yield f"the ALB's scheme is {scheme or 'left to the controller'}, not internal: it may face the internet"


def _alb_https(ingress: Subject, config) -> Iterable[str]:
    if _ingress_class(ingress) not in config["albClasses"]:
        return
    annotations = mapping(metadata(ingress).get("annotations"))
    ports = _listen_ports(annotations)
    if ports is None:
        yield f"{ALB}listen-ports is not a JSON list of listeners"
        return
    plain = sorted({protocol for port in ports for protocol in port if protocol != "HTTPS"})
    if plain or not ports:
        yield f"listens on {', '.join(plain) or 'nothing'}: an ALB in front of a login listens on HTTPS only"
    if not (annotations.get(f"{ALB}certificate-arn") or mapping(ingress.get("spec")).get("tls")):
        yield "names no certificate (certificate-arn or spec.tls)"


def _controller_pinned(release: Subject, _config) -> Iterable[str]:
    chart = versions.AWS_LOAD_BALANCER_CONTROLLER
    if str(release.get("chart", default="")).rsplit("/", 1)[-1] != chart.name:
        return
    if release.get("version") != chart.version:
        yield f"chart version {release.get('version') or '(none)'} is not the platform's {chart.version}"
    tag = mapping(mapping(release.get("values")).get("image")).get("tag")
    if tag not in (None, versions.AWS_LOAD_BALANCER_CONTROLLER_VERSION):
        yield f"image.tag {tag} overrides the chart's {versions.AWS_LOAD_BALANCER_CONTROLLER_VERSION}"


def _gce_internal_https(ingress: Subject, _config) -> Iterable[str]:
    ingress_class = _ingress_class(ingress)
    if ingress_class not in GCE_CLASSES:
        return
    if ingress_class != "gce-internal":
        yield "is served by an external Application Load Balancer (class gce), not gce-internal"
    annotations = mapping(metadata(ingress).get("annotations"))
    if str(annotations.get("kubernetes.io/ingress.allow-http", "true")).lower() != "false":
        yield 'serves plain HTTP too (kubernetes.io/ingress.allow-http is not "false")'
    if not (annotations.get("ingress.gcp.kubernetes.io/pre-shared-cert") or mapping(ingress.get("spec")).get("tls")):
        yield "names no certificate (ingress.gcp.kubernetes.io/pre-shared-cert or spec.tls)"


def _backend_config_iap(config: Subject, _config) -> Iterable[str]:
    iap = mapping(mapping(config.get("spec")).get("iap"))
    if iap.get("enabled") is not True:
        yield "spec.iap.enabled is not true: the backend is not behind Identity-Aware Proxy"
    secret = mapping(iap.get("oauthclientCredentials")).get("secretName")
    if "oauthclientCredentials" in iap and not isinstance(secret, str):
        yield "spec.iap.oauthclientCredentials names no Secret (secretName)"


def _iap_groups_only(binding: Subject, _config) -> Iterable[str]:
    if binding.get("role") != IAP_ACCESSOR:
        return
    member = binding.get("member")
    members = [member] if member is not None else strings(binding.get("members"))
    if not members:
        yield f"grants {IAP_ACCESSOR} to no member it names"
    for m in members:
        if not str(m).startswith("group:"):
            yield f"grants {IAP_ACCESSOR} to {m}: only Google groups (group:...) may pass IAP"


POLICIES: list[Rule] = [
    resource_rule(
        name="oauth2-proxy-group-restricted",
        area="kubernetes",
        severity=Severity.CRITICAL,
        types=DEPLOYMENT,
        check=_group_restricted,
        description="Every oauth2-proxy names the groups it lets through and lets no request past the login.",
        remediation="Give the proxy --allowed-group=<the team's group> (the platform sets it from "
        "teams[].members.group) and remove the --skip-auth-* flags.",
        controls=("NIST.800-53.r5 AC-3", "NIST.800-53.r5 AC-6", "KubeRay ingress guide: only authorized users"),
    ),
    resource_rule(
        name="alb-ingress-internal",
        area="network",
        severity=Severity.HIGH,
        types=INGRESS,
        check=_alb_internal,
        config=_ALB_CONFIG,
        description="An Ingress served by the AWS Load Balancer Controller gets an internal ALB, never an "
        "internet-facing one.",
        remediation=f"Set {ALB}scheme: internal; reach the UIs from the VPC (VPN, peering) or use `rayplat connect`.",
        controls=("Ray security guide: expose no Ray service to untrusted users", "CVE-2023-48022"),
    ),
    resource_rule(
        name="alb-ingress-https",
        area="network",
        severity=Severity.HIGH,
        types=INGRESS,
        check=_alb_https,
        config=_ALB_CONFIG,
        description="An ALB Ingress listens on HTTPS only, with a certificate.",
        remediation=f"Set {ALB}listen-ports: '[{{\"HTTPS\": 443}}]' and {ALB}certificate-arn "
        "(access.ingress.certificateArn).",
        controls=("AWS FSBP ELB.18", "CIS EKS 5.4.5"),
    ),
    resource_rule(
        name="load-balancer-controller-pinned",
        area="kubernetes",
        severity=Severity.HIGH,
        types=RELEASE,
        check=_controller_pinned,
        description="The AWS Load Balancer Controller runs the platform's pinned chart and image, the version "
        "its IAM policy was written for.",
        remediation="Upgrade through catalog/versions.py, and review components/aws/load_balancer.py's policy "
        "against upstream's docs/install/iam_policy.json at the new version.",
        controls=("OpenSSF Scorecard: Pinned-Dependencies",),
    ),
    resource_rule(
        name="gke-ingress-internal-https",
        area="network",
        severity=Severity.HIGH,
        types=INGRESS,
        check=_gce_internal_https,
        description="An Ingress served by GKE's controller gets an internal Application Load Balancer "
        "(gce-internal) that serves HTTPS only, with a certificate.",
        remediation="Annotate kubernetes.io/ingress.class: gce-internal, kubernetes.io/ingress.allow-http: "
        '"false" and ingress.gcp.kubernetes.io/pre-shared-cert (access.ingress.iap.preSharedCert).',
        controls=("Ray security guide: expose no Ray service to untrusted users", "CVE-2023-48022"),
    ),
    resource_rule(
        name="gke-backend-config-iap",
        area="network",
        severity=Severity.HIGH,
        types=BACKEND_CONFIG,
        check=_backend_config_iap,
        description="Every BackendConfig the platform creates puts its backend behind Identity-Aware Proxy.",
        remediation="Set spec.iap.enabled: true and spec.iap.oauthclientCredentials.secretName "
        "(access.ingress.iap.oauthClientSecret).",
        controls=("NIST.800-53.r5 AC-3", "NIST.800-53.r5 IA-2", "KubeRay ingress guide: only authorized users"),
    ),
    resource_rule(
        name="iap-access-groups-only",
        area="gcp",
        severity=Severity.CRITICAL,
        types=IAP_BINDINGS,
        check=_iap_groups_only,
        description="IAP lets through Google groups only: no allUsers, allAuthenticatedUsers, users or service "
        "accounts.",
        remediation="Grant roles/iap.httpsResourceAccessor to the team's group (teams[].members.group) or to "
        "access.ingress.grafanaGroups, never to individuals or to everyone.",
        controls=("NIST.800-53.r5 AC-3", "NIST.800-53.r5 AC-6"),
    ),
]
