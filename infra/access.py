"""The authenticated ingress of `access.ingress`, mapped from the stack's config: the only place that does."""

from __future__ import annotations

import pulumi

from catalog.ray_ports import RAY_SERVICE_PORTS
from components.gcp.cluster import GcpCluster
from components.gcp.iap import GRAFANA_PORT, IapAccess, IapArgs, IapBackend
from components.handle import CloudLayer, ClusterHandle, IngressSupport
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


def sso_access(stack: str, config: PlatformConfig, cloud: CloudLayer, after: list[pulumi.Resource]) -> None:
    ingress = config.access.ingress
    if ingress is None:
        return
    if isinstance(cloud, GcpCluster):
        iap_access(stack, config, ingress, cloud, after)
        return
    handle = cloud.handle
    oidc = ingress.oidc
    assert oidc is not None, "validated: oauth2-proxy's OIDC client is required outside GCP"
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


def iap_access(
    stack: str, config: PlatformConfig, ingress: IngressConfig, cloud: GcpCluster, after: list[pulumi.Resource]
) -> None:
    """GKE: IAP checks the group in front of each team's dashboard (the team's group, a Google group e-mail)
    and of Grafana (grafanaGroups)."""
    iap, cidr = ingress.iap, config.gcp_settings.network.proxy_only_cidr
    assert iap is not None and cidr is not None, "validated: required with access.ingress on GCP"
    backends = [
        IapBackend(
            name=f"ray-{team.name}",
            host=f"{team.name}.{ingress.domain}",
            namespace=team.namespace,
            selector={"ray.io/cluster": f"{team.name}-ray", "ray.io/node-type": "head"},
            port=RAY_SERVICE_PORTS["dashboard"],
            groups=(team.members.group,),
            isolate=True,
        )
        for team in config.teams
        if team.ray_cluster is not None
    ]
    if ingress.grafana_groups:
        backends.append(
            IapBackend(
                name="grafana",
                host=f"grafana.{ingress.domain}",
                namespace=MONITORING_NAMESPACE,
                selector={"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASE_NAME},
                port=GRAFANA_PORT,
                groups=tuple(ingress.grafana_groups),
            )
        )
    handle = cloud.handle
    IapAccess(
        f"{stack}-iap",
        IapArgs(
            project=config.gcp_settings.project,
            oauth_client_secret=iap.oauth_client_secret,
            pre_shared_cert=iap.pre_shared_cert,
            proxy_only_cidr=cidr,
            backends=backends,
        ),
        provider=handle.provider,
        gcp_provider=cloud.provider,
        opts=pulumi.ResourceOptions(depends_on=[*handle.ready, *after]),
    )
