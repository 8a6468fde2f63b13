"""Identity-Aware Proxy in front of the platform's web UIs on GKE: per UI, a Service whose BackendConfig
enables IAP, an Ingress served by GKE's internal Application Load Balancer (gce-internal, HTTPS with a
regional pre-shared certificate, no HTTP), and IAP access granted to the UI's Google groups only.

Google ID tokens carry no groups claim, so on GKE the group check is IAP's, not oauth2-proxy's. GKE names
the backend services it creates itself, so a per-backend-service IAM binding cannot be written from the
program: each group gets ``roles/iap.httpsResourceAccessor`` on the project's IAP web resource with an IAM
condition on the request host (its UI's host name and nothing else).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from catalog.ray_ports import RAY_SERVICE_PORTS
from components.kubernetes.custom import custom_resource
from components.options import child_options

IAP_ROLE = "roles/iap.httpsResourceAccessor"
INGRESS_CLASS = "gce-internal"
SERVICE_PORT = 80
# The Grafana chart's container port (kube-prometheus-stack's Grafana Service targets it).
GRAFANA_PORT = 3000
# The pod ports behind the platform's UIs: the Ray head's dashboard and Grafana.
IAP_BACKEND_PORTS = (RAY_SERVICE_PORTS["dashboard"], GRAFANA_PORT)
# Where Google Cloud's load balancer health checks come from (they reach the pods through the NEG).
HEALTH_CHECK_RANGES = ("35.191.0.0/16", "130.211.0.0/22")


@dataclass(frozen=True)
class IapBackend:
    """One web UI behind IAP: its name, host, where its pods run and listen, and who may pass. ``isolate``:
    the namespace denies ingress by default, so the load balancer's proxies must be let in explicitly."""

    name: str
    host: str
    namespace: str
    selector: dict[str, str]
    port: int
    groups: tuple[str, ...]
    isolate: bool = False


@dataclass(frozen=True)
class IapArgs:
    project: str
    # The Secret (client_id, client_secret) of the IAP OAuth client, in each backend's namespace.
    oauth_client_secret: str
    # The regional Compute Engine SSL certificate the internal load balancer serves.
    pre_shared_cert: str
    # The proxy-only subnet the internal load balancer's proxies connect from.
    proxy_only_cidr: str
    backends: list[IapBackend]


def _object_name(backend: IapBackend) -> str:
    return f"{backend.name}-iap"


def backend_config(backend: IapBackend, args: IapArgs) -> dict[str, Any]:
    return {
        "apiVersion": "cloud.google.com/v1",
        "kind": "BackendConfig",
        "metadata": {"name": _object_name(backend), "namespace": backend.namespace},
        "spec": {"iap": {"enabled": True, "oauthclientCredentials": {"secretName": args.oauth_client_secret}}},
    }


def iap_service(backend: IapBackend) -> dict[str, Any]:
    """Container-native load balancing (NEGs, which gce-internal requires), with the IAP BackendConfig."""
    name = _object_name(backend)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": backend.namespace,
            "annotations": {
                "cloud.google.com/neg": json.dumps({"ingress": True}),
                "cloud.google.com/backend-config": json.dumps({"default": name}),
            },
        },
        "spec": {
            "type": "ClusterIP",
            "selector": dict(backend.selector),
            "ports": [{"name": "http", "port": SERVICE_PORT, "targetPort": backend.port, "protocol": "TCP"}],
        },
    }


def iap_ingress(backend: IapBackend, args: IapArgs) -> dict[str, Any]:
    name = _object_name(backend)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": backend.namespace,
            # gce-internal is chosen by this annotation (GKE's controller has no IngressClass for it).
            "annotations": {
                "kubernetes.io/ingress.class": INGRESS_CLASS,
                "ingress.gcp.kubernetes.io/pre-shared-cert": args.pre_shared_cert,
                "kubernetes.io/ingress.allow-http": "false",
            },
        },
        "spec": {
            "rules": [
                {
                    "host": backend.host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": name, "port": {"number": SERVICE_PORT}}},
                            }
                        ]
                    },
                }
            ]
        },
    }


def load_balancer_policy(backend: IapBackend, args: IapArgs) -> dict[str, Any]:
    """Into a default-deny namespace: the load balancer's proxies and health checks, on the UI's port only."""
    sources = [args.proxy_only_cidr, *HEALTH_CHECK_RANGES]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-iap-load-balancer", "namespace": backend.namespace},
        "spec": {
            "podSelector": {"matchLabels": dict(backend.selector)},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": cidr}} for cidr in sources],
                    "ports": [{"protocol": "TCP", "port": backend.port}],
                }
            ],
        },
    }


def host_condition(host: str) -> dict[str, str]:
    return {"title": f"only {host}", "expression": f'request.host == "{host}"'}


class IapAccess(pulumi.ComponentResource):
    """Per UI: its BackendConfig, Service, Ingress, the NetworkPolicy that lets the load balancer in where
    the namespace denies by default, and one host-scoped IAP grant per allowed group."""

    def __init__(
        self,
        name: str,
        args: IapArgs,
        *,
        provider: k8s.Provider,
        gcp_provider: gcp.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("rayplat:gcp:IapAccess", name, None, opts)
        child = child_options(self, provider, opts)
        on_gcp = pulumi.ResourceOptions(parent=self, provider=gcp_provider)
        for backend in args.backends:
            self._backend(f"{name}-{backend.name}", backend, args, child, on_gcp)
        self.register_outputs({"hosts": [b.host for b in args.backends]})

    def _backend(
        self,
        name: str,
        backend: IapBackend,
        args: IapArgs,
        opts: pulumi.ResourceOptions,
        on_gcp: pulumi.ResourceOptions,
    ) -> None:
        config_resource = custom_resource(name, backend_config(backend, args), opts)
        service = iap_service(backend)
        service_resource = k8s.core.v1.Service(
            name,
            metadata=service["metadata"],
            spec=service["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[config_resource])),
        )
        ingress = iap_ingress(backend, args)
        k8s.networking.v1.Ingress(
            name,
            metadata=ingress["metadata"],
            spec=ingress["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[service_resource])),
        )
        if backend.isolate:
            policy = load_balancer_policy(backend, args)
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow", metadata=policy["metadata"], spec=policy["spec"], opts=opts
            )
        for group in backend.groups:
            gcp.iap.WebIamMember(
                f"{name}-{group}",
                project=args.project,
                role=IAP_ROLE,
                member=f"group:{group}",
                condition=gcp.iap.WebIamMemberConditionArgs(**host_condition(backend.host)),
                opts=on_gcp,
            )
