"""Who reaches what: Ray dashboards, Grafana and Prometheus only behind an authenticating layer; RBAC that
grants no cluster-wide power, nothing to anonymous or every authenticated user, and a team's group nothing
outside its own namespace.

What counts as an authenticating layer in front of an Ingress (docs/policies.md says why):
- ingress-nginx external authentication: ``nginx.ingress.kubernetes.io/auth-url`` (oauth2-proxy and the like);
- the AWS Load Balancer Controller's ALB authentication: ``alb.ingress.kubernetes.io/auth-type`` ``oidc`` or
  ``cognito`` with its identity-provider annotation, and unauthenticated requests not allowed through;
- GKE Identity-Aware Proxy: a BackendConfig with ``spec.iap.enabled`` named by the backend Service's
  ``cloud.google.com/backend-config`` annotation (Ingress), or a GCPBackendPolicy with
  ``spec.default.iap.enabled`` on the backend Service (Gateway API HTTPRoute);
- oauth2-proxy as the Ingress's backend: the backend Service selects a Deployment of its image (policies/sso.py,
  which also requires the proxy to name the groups it lets through).
Basic authentication is not one: a shared password, no identity, no second factor.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog.ray_ports import RAY_SERVICE_PORTS
from policies.objects import (
    TEAM_CONFIG,
    mapping,
    mappings,
    metadata,
    object_name,
    object_namespace,
    strings,
    team_namespaces,
)
from policies.rules import Rule, Subject, as_list, of_type, resource_rule, stack_rule, whole
from policies.sso import DEPLOYMENT, oauth2_proxy_behind

INGRESS = ("kubernetes:networking.k8s.io/v1:Ingress",)
HTTP_ROUTE = ("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",)
RELEASE = ("kubernetes:helm.sh/v3:Release",)
SERVICE = ("kubernetes:core/v1:Service",)
BACKEND_CONFIG = ("kubernetes:cloud.google.com/v1:BackendConfig",)
BACKEND_POLICY = ("kubernetes:networking.gke.io/v1:GCPBackendPolicy",)
ROLE_BINDING = ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",)
CLUSTER_ROLE_BINDING = ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",)
BINDINGS = (*ROLE_BINDING, *CLUSTER_ROLE_BINDING)
NAMESPACE = ("kubernetes:core/v1:Namespace",)

NGINX_AUTH_URL = "nginx.ingress.kubernetes.io/auth-url"
ALB = "alb.ingress.kubernetes.io/"
BACKEND_CONFIG_ANNOTATIONS = ("cloud.google.com/backend-config", "beta.cloud.google.com/backend-config")
# The web UIs kube-prometheus-stack can put behind an Ingress of its own (values <ui>.ingress).
CHART_INGRESSES = {"kube-prometheus-stack": ("grafana", "prometheus", "alertmanager", "thanosRuler")}

_INGRESS_CONFIG = {
    "sensitiveServices": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["*-head-svc", "*ray-head*", "*grafana*", "*prometheus*", "*alertmanager*"],
        "description": "Service name globs whose Ingress needs an authenticating layer.",
    },
    "sensitivePorts": {
        "type": "array",
        "items": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "default": [
            RAY_SERVICE_PORTS["dashboard"],
            RAY_SERVICE_PORTS["client"],
            RAY_SERVICE_PORTS["gcs"],
            "dashboard",
            "client",
            "gcs-server",
            9090,
            9093,
        ],
        "description": "Service ports (numbers or names) whose Ingress needs an authenticating layer.",
    },
}


# --- Ingress -----------------------------------------------------------------------------------------------


def _ingress_backends(ingress: Subject) -> list[tuple[str, Any]]:
    """(service name, port number or name) of every backend an Ingress routes to."""
    spec = mapping(ingress.get("spec"))
    backends = [mapping(spec.get("defaultBackend"))]
    for rule in mappings(spec.get("rules")):
        backends += [mapping(p.get("backend")) for p in mappings(mapping(rule.get("http")).get("paths"))]
    found = []
    for backend in backends:
        service = mapping(backend.get("service"))
        if service:
            port = mapping(service.get("port"))
            found.append((str(service.get("name", "")), whole(port.get("number", port.get("name")))))
    return found


def _route_backends(route: Subject) -> list[tuple[str, Any]]:
    found = []
    for rule in mappings(mapping(route.get("spec")).get("rules")):
        for ref in mappings(rule.get("backendRefs")):
            if ref.get("kind", "Service") == "Service":
                found.append((str(ref.get("name", "")), whole(ref.get("port"))))
    return found


def _is_ray_head(service: Subject | None) -> bool:
    selector = mapping(mapping(service.get("spec")).get("selector")) if service else {}
    return selector.get("ray.io/node-type") == "head"


def _sensitive(name: str, port: Any, service: Subject | None, config) -> bool:
    return (
        any(fnmatch.fnmatchcase(name, pattern) for pattern in config["sensitiveServices"])
        or port in config["sensitivePorts"]
        or _is_ray_head(service)
    )


def _annotation_layer(annotations: dict[str, Any]) -> str | None:
    """The authenticating layer Ingress annotations set up, or None."""
    if str(annotations.get(NGINX_AUTH_URL, "")).strip():
        return "ingress-nginx external auth"
    auth_type = str(annotations.get(f"{ALB}auth-type", "")).lower()
    lets_through = str(annotations.get(f"{ALB}auth-on-unauthenticated-request", "")).lower() == "allow"
    if auth_type in ("oidc", "cognito") and annotations.get(f"{ALB}auth-idp-{auth_type}") and not lets_through:
        return f"ALB {auth_type} authentication"
    return None


def _backend_config_names(annotations: dict[str, Any], port: Any) -> list[str]:
    """The BackendConfigs a Service's annotations name for ``port`` (or for all its ports)."""
    names = []
    for key in BACKEND_CONFIG_ANNOTATIONS:
        try:
            value = json.loads(str(annotations.get(key, "{}")))
        except ValueError:
            continue
        value = value if isinstance(value, dict) else {}
        ports = mapping(value.get("ports"))
        names += [n for n in (ports.get(str(port)), value.get("default")) if isinstance(n, str)]
    return names


def _iap_backend_config(subjects: list[Subject], namespace: str, names: list[str]) -> bool:
    return any(
        object_namespace(config) == namespace
        and object_name(config) in names
        and mapping(mapping(config.get("spec")).get("iap")).get("enabled") is True
        for config in of_type(subjects, BACKEND_CONFIG)
    )


def _iap_backend_policy(subjects: list[Subject], namespace: str, service: str) -> bool:
    for policy in of_type(subjects, BACKEND_POLICY):
        spec = mapping(policy.get("spec"))
        target = mapping(spec.get("targetRef"))
        if (
            object_namespace(policy) == namespace
            and target.get("kind") == "Service"
            and target.get("name") == service
            and mapping(mapping(spec.get("default")).get("iap")).get("enabled") is True
        ):
            return True
    return False


def _service(subjects: list[Subject], namespace: str, name: str) -> Subject | None:
    for service in of_type(subjects, SERVICE):
        if object_namespace(service) == namespace and object_name(service) == name:
            return service
    return None


def _unauthenticated_routes(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    for route in of_type(subjects, (*INGRESS, *HTTP_ROUTE)):
        namespace = object_namespace(route)
        layer = _annotation_layer(mapping(metadata(route).get("annotations"))) if route.type in INGRESS else None
        is_ingress = route.type in INGRESS
        for name, port in _ingress_backends(route) if is_ingress else _route_backends(route):
            service = _service(subjects, namespace, name)
            if not _sensitive(name, port, service, config) or layer:
                continue
            annotations = mapping(metadata(service).get("annotations")) if service else {}
            if is_ingress and _iap_backend_config(subjects, namespace, _backend_config_names(annotations, port)):
                continue
            if is_ingress and oauth2_proxy_behind(subjects, namespace, service):
                continue
            if not is_ingress and _iap_backend_policy(subjects, namespace, name):
                continue
            yield route, f"routes to {name}:{port} with no authenticating layer (oauth2-proxy, ALB OIDC/Cognito, IAP)"


def _unauthenticated_chart_ingresses(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    for release in of_type(subjects, RELEASE):
        chart = str(release.get("chart", default="")).rsplit("/", 1)[-1]
        values = mapping(release.get("values"))
        namespace = str(release.get("namespace", default="default"))
        for ui in CHART_INGRESSES.get(chart, ()):
            service_type = mapping(mapping(values.get(ui)).get("service")).get("type")
            if service_type in ("NodePort", "LoadBalancer"):
                yield release, f"{ui}.service.type {service_type} puts {ui} on the network with no authenticating layer"
            ingress = mapping(mapping(values.get(ui)).get("ingress"))
            if ingress.get("enabled") is not True or _annotation_layer(mapping(ingress.get("annotations"))):
                continue
            service = mapping(mapping(values.get(ui)).get("service"))
            names = _backend_config_names(mapping(service.get("annotations")), None)
            if _iap_backend_config(subjects, namespace, names):
                continue
            yield release, f"{ui}.ingress is enabled with no authenticating layer (oauth2-proxy, ALB OIDC/Cognito, IAP)"


def _ingress_authenticated(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    yield from _unauthenticated_routes(subjects, config)
    yield from _unauthenticated_chart_ingresses(subjects, config)


# --- RBAC --------------------------------------------------------------------------------------------------

ANONYMOUS = ("system:unauthenticated", "system:anonymous", "system:authenticated")
ESCALATING_VERBS = {"bind", "escalate", "impersonate"}
ROLES = ("kubernetes:rbac.authorization.k8s.io/v1:Role", "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
ADMIN_ROLES = ("cluster-admin",)
WIDE_ROLES = ("admin", "edit")


def _subjects(binding: Subject) -> list[dict[str, Any]]:
    return mappings(binding.get("subjects"))


def _role(binding: Subject) -> str:
    role = mapping(binding.get("roleRef"))
    return str(role.get("name", "")) if role.get("kind", "ClusterRole") == "ClusterRole" else ""


def _who(subject: dict[str, Any]) -> str:
    return f"{subject.get('kind', '?')} {subject.get('name', '?')}"


def _cluster_admin(binding: Subject, _config) -> Iterable[str]:
    role, cluster_wide = _role(binding), binding.type in CLUSTER_ROLE_BINDING
    for subject in _subjects(binding):
        if subject.get("name") == "system:masters":
            yield f"binds {_who(subject)}, which bypasses RBAC and cannot be revoked"
        elif role in ADMIN_ROLES:
            yield f"grants cluster-admin to {_who(subject)}"
        elif role in WIDE_ROLES and cluster_wide:
            yield f"grants {role} in every namespace to {_who(subject)} (use a RoleBinding in one namespace)"
    if len(as_list(binding.get("subjects"))) != len(_subjects(binding)):
        yield "subjects holds entries that are not subjects, which cannot be judged"


def _role_rules(role: Subject, _config) -> Iterable[str]:
    for index, rule in enumerate(mappings(role.get("rules"))):
        wildcards = [f for f in ("verbs", "resources", "apiGroups", "nonResourceURLs") if "*" in strings(rule.get(f))]
        if wildcards:
            yield f"rule {index} grants '*' in {', '.join(wildcards)}"
        powers = sorted(set(strings(rule.get("verbs"))) & ESCALATING_VERBS)
        if powers:
            yield f"rule {index} grants {', '.join(powers)}, which lets the holder exceed its own permissions"


def _anonymous(binding: Subject, _config) -> Iterable[str]:
    for subject in _subjects(binding):
        if subject.get("name") in ANONYMOUS:
            yield f"grants {_role(binding) or 'a role'} to {subject.get('name')} (anyone who reaches the API)"


def _team_groups_at_home(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    homes: dict[str, set[str]] = {}
    for team in team_namespaces(subjects, config):
        if team.group:
            homes.setdefault(team.group, set()).add(team.name)
    for binding in of_type(subjects, BINDINGS):
        for subject in _subjects(binding):
            group = subject.get("name")
            if subject.get("kind") != "Group" or group not in homes:
                continue
            if binding.type in CLUSTER_ROLE_BINDING:
                yield binding, f"binds team group {group} cluster-wide; it belongs in {', '.join(sorted(homes[group]))}"
            elif object_namespace(binding) not in homes[group]:
                yield (
                    binding,
                    f"binds team group {group} in namespace {object_namespace(binding)}, "
                    f"outside its own ({', '.join(sorted(homes[group]))})",
                )


POLICIES: list[Rule] = [
    stack_rule(
        name="ingress-authenticated",
        area="kubernetes",
        severity=Severity.CRITICAL,
        types=(*INGRESS, *HTTP_ROUTE, *RELEASE),
        reads=(*SERVICE, *BACKEND_CONFIG, *BACKEND_POLICY, *DEPLOYMENT),
        check=_ingress_authenticated,
        config=_INGRESS_CONFIG,
        description="No Ingress, route or chart-made public Service reaches a Ray dashboard, Grafana or Prometheus "
        "without an authenticating layer in front.",
        remediation="Put oauth2-proxy (nginx auth-url), ALB OIDC/Cognito or GKE IAP in front, or use kubectl "
        "port-forward; see docs/policies.md for what counts.",
        controls=(
            "Ray security guide: expose no Ray service to untrusted users",
            "KubeRay ingress guide: only authorized users",
            "CVE-2023-48022",
        ),
    ),
    resource_rule(
        name="rbac-no-cluster-admin",
        area="kubernetes",
        severity=Severity.CRITICAL,
        types=BINDINGS,
        check=_cluster_admin,
        description="No binding grants cluster-admin, admin or edit across the cluster, or names system:masters.",
        remediation="Bind a narrower role in one namespace with a RoleBinding; grant administrators access "
        "through EKS access entries or GKE IAM, reviewed.",
        controls=("CIS EKS 4.1.1", "CIS GKE 4.1.1", "CIS GKE 4.1.6", "CIS Kubernetes 5.1.1", "CIS Kubernetes 5.1.7"),
    ),
    resource_rule(
        name="rbac-roles-least-privilege",
        area="kubernetes",
        severity=Severity.HIGH,
        types=ROLES,
        check=_role_rules,
        description="No Role or ClusterRole grants '*' verbs, resources or API groups, or bind, escalate or "
        "impersonate.",
        remediation="List the verbs and resources the workload needs; grant role binding through a reviewed "
        "platform role, never escalate or impersonate.",
        controls=(
            "CIS EKS 4.1.3",
            "CIS EKS 4.1.8",
            "CIS GKE 4.1.3",
            "CIS GKE 4.1.7",
            "CIS Kubernetes 5.1.3",
            "CIS Kubernetes 5.1.8",
        ),
    ),
    resource_rule(
        name="rbac-no-anonymous",
        area="kubernetes",
        severity=Severity.CRITICAL,
        types=BINDINGS,
        check=_anonymous,
        description="No binding grants anything to system:anonymous, system:unauthenticated or system:authenticated.",
        remediation="Bind the named groups that need the role; on GKE system:authenticated is every Google account.",
        controls=("CIS GKE 4.1.8", "CIS GKE 4.1.9", "CIS GKE 4.1.10"),
    ),
    stack_rule(
        name="rbac-team-groups-in-own-namespace",
        area="kubernetes",
        severity=Severity.HIGH,
        types=BINDINGS,
        reads=NAMESPACE,
        check=_team_groups_at_home,
        config=TEAM_CONFIG,
        description="A team's group is bound only inside its own team namespace.",
        remediation="Bind the team's group with a RoleBinding in its namespace; share across teams through a "
        "reviewed platform role instead.",
        controls=("CIS EKS 4.5.1", "CIS GKE 4.6.1", "CIS Kubernetes 5.6.1"),
    ),
]
