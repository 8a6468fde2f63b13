"""SSO in front of the platform's web UIs: one oauth2-proxy per team dashboard (and one for Grafana) in the
platform's own namespace, each logging users in with the stack's OIDC issuer and letting through only the
members of its allowed groups, each behind an Ingress served by the cluster's ingress controller.

The proxies run in ``rayplat-sso``, not in the team namespaces, so that a team (which may edit its own
namespace) can neither change its proxy's group check nor read the OIDC client secret. A team namespace
admits the team's proxy, and only it, on the head's dashboard port; the Ray token still guards the dashboard
behind it (Ray asks for it once per browser and keeps it in a cookie).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from catalog import versions
from catalog.ray_ports import RAY_SERVICE_PORTS
from components.handle import IngressSupport
from components.kubernetes import manifests
from components.nodes import PoolSpec
from components.options import child_options

NAMESPACE = "rayplat-sso"
PROXY_PORT = 4180
COOKIE_SECRET_KEY = "cookie-secret"
# oauth2-proxy's image runs as this non-root user (distroless nonroot).
PROXY_UID = 65532
NAME_LABEL = "app.kubernetes.io/name"
INSTANCE_LABEL = "app.kubernetes.io/instance"


@dataclass(frozen=True)
class OidcClient:
    issuer_url: str
    client_id: str
    # The Secret in NAMESPACE, and its key, holding the client secret (created by the platform's admins).
    secret_name: str
    secret_key: str
    groups_claim: str = "groups"


@dataclass(frozen=True)
class ProxiedApp:
    """One web UI behind SSO: its proxy's name, its host name, where the proxy forwards, who may pass."""

    name: str
    host: str
    upstream: str
    allowed_groups: tuple[str, ...]
    # A team dashboard: (namespace, RayCluster name) the proxy must be let into.
    ray_cluster: tuple[str, str] | None = None


@dataclass(frozen=True)
class SsoArgs:
    oidc: OidcClient
    ingress: IngressSupport
    apps: list[ProxiedApp]
    system_pool: PoolSpec
    cost_labels: dict[str, str]
    replicas: int = 1


def dashboard_app(team: str, group: str, domain: str, namespace: str, cluster: str) -> ProxiedApp:
    """A team's Ray dashboard behind SSO, for the team's group only (KubeRay names the head's Service
    ``<cluster>-head-svc``)."""
    port = RAY_SERVICE_PORTS["dashboard"]
    return ProxiedApp(
        name=f"ray-{team}",
        host=f"{team}.{domain}",
        upstream=f"http://{cluster}-head-svc.{namespace}.svc.cluster.local:{port}/",
        allowed_groups=(group,),
        ray_cluster=(namespace, cluster),
    )


def grafana_app(domain: str, groups: list[str], namespace: str, service: str) -> ProxiedApp:
    return ProxiedApp(
        name="grafana",
        host=f"grafana.{domain}",
        upstream=f"http://{service}.{namespace}.svc.cluster.local:80/",
        allowed_groups=tuple(groups),
    )


def _labels(app: ProxiedApp) -> dict[str, str]:
    return {NAME_LABEL: "oauth2-proxy", INSTANCE_LABEL: app.name}


def cookie_secret_name(app: ProxiedApp) -> str:
    return f"{app.name}-cookie"


def proxy_args(app: ProxiedApp, oidc: OidcClient) -> list[str]:
    """oauth2-proxy's flags: OIDC login with PKCE, the group check on the ID token's group claim, secure
    cookies scoped to the app's host. Secrets come from the environment, never from flags."""
    return [
        "--provider=oidc",
        f"--oidc-issuer-url={oidc.issuer_url}",
        f"--client-id={oidc.client_id}",
        f"--oidc-groups-claim={oidc.groups_claim}",
        *(f"--allowed-group={group}" for group in app.allowed_groups),
        # Who may pass is decided by group membership alone; no e-mail domain widens it.
        "--email-domain=*",
        "--code-challenge-method=S256",
        f"--redirect-url=https://{app.host}/oauth2/callback",
        f"--upstream={app.upstream}",
        f"--http-address=0.0.0.0:{PROXY_PORT}",
        "--reverse-proxy=true",
        f"--cookie-name=_rayplat_{app.name.replace('-', '_')}",
        "--cookie-secure=true",
        "--cookie-samesite=lax",
        "--cookie-expire=12h",
        "--skip-provider-button=true",
        "--silence-ping-logging=true",
    ]


def proxy_deployment(app: ProxiedApp, args: SsoArgs) -> dict[str, Any]:
    oidc = args.oidc
    secrets = {
        "OAUTH2_PROXY_CLIENT_SECRET": (oidc.secret_name, oidc.secret_key),
        "OAUTH2_PROXY_COOKIE_SECRET": (cookie_secret_name(app), COOKIE_SECRET_KEY),
    }
    probe = {"httpGet": {"path": "/ping", "port": "http"}, "periodSeconds": 10}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": app.name,
            "namespace": NAMESPACE,
            "labels": {**args.cost_labels, **_labels(app)},
            # The proxies start once the administrators have put the OIDC client secret into the namespace this
            # creates; `pulumi up` does not wait for that.
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "replicas": args.replicas,
            "selector": {"matchLabels": _labels(app)},
            "template": {
                "metadata": {"labels": {**args.cost_labels, **_labels(app)}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "nodeSelector": dict(args.system_pool.selector),
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": PROXY_UID,
                        "runAsGroup": PROXY_UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": "oauth2-proxy",
                            "image": versions.OAUTH2_PROXY_IMAGE,
                            "args": proxy_args(app, oidc),
                            "env": [
                                {"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
                                for env, (name, key) in secrets.items()
                            ],
                            "ports": [{"name": "http", "containerPort": PROXY_PORT, "protocol": "TCP"}],
                            "readinessProbe": probe,
                            "livenessProbe": probe,
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def proxy_service(app: ProxiedApp) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app.name, "namespace": NAMESPACE, "labels": _labels(app)},
        "spec": {
            "type": "ClusterIP",
            "selector": _labels(app),
            "ports": [{"name": "http", "port": PROXY_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def proxy_ingress(app: ProxiedApp, ingress: IngressSupport) -> dict[str, Any]:
    """The app's host routed to its proxy, and nothing else: every request meets the login and group check."""
    spec: dict[str, Any] = {
        "ingressClassName": ingress.class_name,
        "rules": [
            {
                "host": app.host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": app.name, "port": {"number": PROXY_PORT}}},
                        }
                    ]
                },
            }
        ],
    }
    if ingress.tls_secret:
        spec["tls"] = [{"hosts": [app.host], "secretName": ingress.tls_secret}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": app.name,
            "namespace": NAMESPACE,
            "labels": _labels(app),
            "annotations": dict(ingress.annotations),
        },
        "spec": spec,
    }


def dashboard_access_policy(app: ProxiedApp) -> dict[str, Any]:
    """Into a team namespace: the team's proxy, and only it, on the head's dashboard port."""
    assert app.ray_cluster is not None, "a dashboard app names its RayCluster"
    namespace, cluster = app.ray_cluster
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-sso-proxy", "namespace": namespace},
        "spec": {
            "podSelector": {"matchLabels": {"ray.io/cluster": cluster, "ray.io/node-type": "head"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}},
                            "podSelector": {"matchLabels": _labels(app)},
                        }
                    ],
                    "ports": [{"protocol": "TCP", "port": RAY_SERVICE_PORTS["dashboard"]}],
                }
            ],
        },
    }


class SsoAccess(pulumi.ComponentResource):
    """The SSO namespace, and per app: its cookie secret, proxy, Service, Ingress and (for a team dashboard)
    the NetworkPolicy that lets the proxy in."""

    def __init__(self, name: str, args: SsoArgs, *, provider: k8s.Provider, opts: pulumi.ResourceOptions | None = None):
        super().__init__("rayplat:kubernetes:SsoAccess", name, None, opts)
        child = child_options(self, provider, opts)
        namespace = k8s.core.v1.Namespace(
            name, metadata=manifests.namespace(NAMESPACE, args.cost_labels, "restricted")["metadata"], opts=child
        )
        inside = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[namespace]))
        for app in args.apps:
            self._app(f"{name}-{app.name}", app, args, inside)
        self.register_outputs({"hosts": [app.host for app in args.apps]})

    def _app(self, name: str, app: ProxiedApp, args: SsoArgs, opts: pulumi.ResourceOptions) -> None:
        # oauth2-proxy takes a 32-byte cookie secret (AES-256) as it is.
        cookie = random.RandomPassword(name, length=32, special=False, opts=pulumi.ResourceOptions(parent=self))
        secret = k8s.core.v1.Secret(
            f"{name}-cookie",
            metadata={"name": cookie_secret_name(app), "namespace": NAMESPACE, "labels": _labels(app)},
            string_data={COOKIE_SECRET_KEY: cookie.result},
            opts=opts,
        )
        deployment = proxy_deployment(app, args)
        k8s.apps.v1.Deployment(
            name,
            metadata=deployment["metadata"],
            spec=deployment["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[secret])),
        )
        service = proxy_service(app)
        k8s.core.v1.Service(name, metadata=service["metadata"], spec=service["spec"], opts=opts)
        ingress = proxy_ingress(app, args.ingress)
        k8s.networking.v1.Ingress(
            name,
            metadata=ingress["metadata"],
            spec=ingress["spec"],
            # The controller's admission webhook must be up before it is asked to admit an Ingress.
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=args.ingress.ready)),
        )
        if app.ray_cluster is not None:
            policy = dashboard_access_policy(app)
            k8s.networking.v1.NetworkPolicy(
                f"{name}-allow", metadata=policy["metadata"], spec=policy["spec"], opts=opts
            )
