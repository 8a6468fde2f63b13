"""The authenticated ingress of `access.ingress`, mapped from the stack's config: the only place that does."""

from __future__ import annotations

import pulumi

from components.handle import ClusterHandle, IngressSupport
from components.kubernetes.observability.monitors import RELEASE_NAME
from components.kubernetes.observability.stack import NAMESPACE as MONITORING_NAMESPACE
from components.kubernetes.sso import OidcClient, SsoAccess, SsoArgs, dashboard_app, grafana_app
from stackconfig.access import IngressConfig
from stackconfig.platform import PlatformConfig

# kube-prometheus-stack's Grafana Service (release name + "-grafana").
GRAFANA_SERVICE = f"{RELEASE_NAME}-grafana"


def _ingress_support(config: PlatformConfig, ingress: IngressConfig, handle: ClusterHandle) -> IngressSupport:
    """The cloud layer's controller (AWS), or the controller the existing cluster names (a precondition)."""
    if handle.ingress is not None:
        return handle.ingress
    if config.cloud == "existing" and ingress.class_name:
        return IngressSupport(ingress.class_name, tls_secret=ingress.tls_secret)
    raise ValueError(f"access.ingress: no ingress controller serves Ingresses on cloud '{config.cloud}'")


def sso_access(stack: str, config: PlatformConfig, handle: ClusterHandle, after: list[pulumi.Resource]) -> None:
    ingress = config.access.ingress
    if ingress is None:
        return
    oidc = ingress.oidc
    apps = [
        dashboard_app(team.name, team.members.group, ingress.domain, team.namespace, f"{team.name}-ray")
        for team in config.teams
        if team.ray_cluster is not None
    ]
    if ingress.grafana_groups:
        apps.append(grafana_app(ingress.domain, ingress.grafana_groups, MONITORING_NAMESPACE, GRAFANA_SERVICE))
    SsoAccess(
        f"{stack}-sso",
        SsoArgs(
            oidc=OidcClient(
                issuer_url=oidc.issuer_url,
                client_id=oidc.client_id,
                secret_name=oidc.client_secret.name,
                secret_key=oidc.client_secret.key,
                groups_claim=oidc.groups_claim,
            ),
            ingress=_ingress_support(config, ingress, handle),
            apps=apps,
            system_pool=handle.system_pool,
            cost_labels=handle.cost_labels,
            replicas=2 if config.protected else 1,
        ),
        provider=handle.provider,
        opts=pulumi.ResourceOptions(depends_on=[*handle.ready, *after]),
    )
