"""How people reach the platform's web UIs: optionally, an authenticated ingress (SSO through oauth2-proxy,
the team's group only) in front of each team's Ray dashboard and of Grafana."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import Field

from stackconfig.base import ConfigModel, raw_bool, raw_list, raw_mapping

_DNS_NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_DOMAIN = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
ACM_CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]{36}$")


class SecretReference(ConfigModel):
    """A key of a Kubernetes Secret the platform's administrators create (never a value in a stack file)."""

    name: str = Field(pattern=_DNS_NAME)
    key: str = Field(pattern=r"^[-._a-zA-Z0-9]{1,253}$")


class OidcConfig(ConfigModel):
    """The stack's OIDC identity provider, and the client registered for the platform's UIs."""

    issuer_url: str = Field(pattern=r"^https://[^\s/$.?#].[^\s]*$")
    client_id: str = Field(min_length=1)
    # The client secret, in the SSO namespace (rayplat-sso); oauth2-proxy reads it from there.
    client_secret: SecretReference
    # The ID token claim that lists the user's groups (the team groups of `teams[].members.group`).
    groups_claim: str = Field(default="groups", min_length=1)


class IapConfig(ConfigModel):
    """GKE: Identity-Aware Proxy checks the group in front of each backend, with the OAuth client the
    administrators create by hand (docs/clouds/gcp.md)."""

    # The Secret (keys client_id and client_secret) in each namespace that holds a backend: every team
    # namespace with a rayCluster, and the monitoring namespace when grafanaGroups is set.
    oauth_client_secret: str = Field(pattern=_DNS_NAME)
    # The regional (same region as the cluster) Compute Engine SSL certificate the internal load balancer
    # serves; it covers *.<domain>.
    pre_shared_cert: str = Field(pattern=_DNS_NAME)


class IngressConfig(ConfigModel):
    # Each team's dashboard is served at <team>.<domain>, Grafana at grafana.<domain>.
    domain: str = Field(pattern=_DOMAIN)
    # AWS and existing clusters: oauth2-proxy's OIDC client. GKE: IAP checks the group instead (iap).
    oidc: OidcConfig | None = None
    iap: IapConfig | None = None
    # AWS: the ACM certificate of the ALB's HTTPS listener (it covers *.<domain>).
    certificate_arn: str | None = Field(default=None, pattern=ACM_CERTIFICATE_ARN.pattern)
    # Existing clusters: the IngressClass of the controller that serves Ingresses there, and the TLS Secret
    # (in rayplat-sso) it terminates HTTPS with.
    class_name: str | None = Field(default=None, pattern=_DNS_NAME)
    tls_secret: str | None = Field(default=None, pattern=_DNS_NAME)
    # The groups let through to Grafana (it shows every team's metrics); empty: no Grafana ingress.
    grafana_groups: list[str] = []


class AccessConfig(ConfigModel):
    ingress: IngressConfig | None = None


def _where(key: str) -> str:
    return f"access.ingress.{key}"


def access_problems(raw: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    """The ingress needs a controller that serves it and a TLS certificate on each cloud, and something to front."""
    ingress = raw_mapping(raw_mapping(raw.get("access")).get("ingress"))
    if not ingress:
        return
    cloud = raw.get("cloud")
    if cloud == "gcp":
        yield from _gcp_problems(raw, ingress)
    else:
        if ingress.get("oidc") is None:
            yield _where("oidc"), f"required when cloud is '{cloud}': oauth2-proxy logs users in with it"
        if ingress.get("iap") is not None:
            yield _where("iap"), f"does not apply when cloud is '{cloud}': Identity-Aware Proxy is GKE's"
    if cloud == "aws":
        yield from _aws_problems(raw, ingress)
    elif cloud == "existing":
        for key, why in (
            ("className", "the IngressClass of the controller that serves Ingresses on this cluster"),
            ("tlsSecret", "the TLS Secret in rayplat-sso that controller terminates HTTPS with"),
        ):
            if ingress.get(key) is None:
                yield _where(key), f"required when cloud is 'existing': {why}"
        if ingress.get("certificateArn") is not None:
            yield _where("certificateArn"), "does not apply when cloud is 'existing' (an ACM certificate is AWS's)"
    teams = [raw_mapping(t) for t in raw_list(raw.get("teams"))]
    dashboards = [t for t in teams if t.get("rayCluster") is not None]
    grafana = raw_list(ingress.get("grafanaGroups"))
    if not dashboards and not grafana:
        yield "access.ingress", "fronts nothing: no team has a rayCluster and grafanaGroups is empty"
    observability = raw_mapping(raw.get("observability"))
    if grafana and raw_bool(observability.get("enabled", True)) is False:
        yield _where("grafanaGroups"), "needs observability.enabled: Grafana is part of the monitoring stack"


def _aws_problems(raw: Mapping[str, Any], ingress: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key in ("className", "tlsSecret"):
        if ingress.get(key) is not None:
            yield (
                _where(key),
                "does not apply when cloud is 'aws': the platform installs the AWS Load Balancer Controller "
                "(class alb) and the ALB terminates HTTPS with certificateArn",
            )
    arn = ingress.get("certificateArn")
    region = raw_mapping(raw.get("aws")).get("region")
    if arn is None:
        yield _where("certificateArn"), "required when cloud is 'aws': the ALB's HTTPS listener needs a certificate"
    elif isinstance(arn, str) and (match := ACM_CERTIFICATE_ARN.match(arn)) and region and match[1] != region:
        yield _where("certificateArn"), f"is in {match[1]}, not in the stack's region {region}: an ALB uses its own"


def _gcp_problems(raw: Mapping[str, Any], ingress: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    if ingress.get("iap") is None:
        yield _where("iap"), "required when cloud is 'gcp': Identity-Aware Proxy checks the team's group on GKE"
    for key, why in (
        ("oidc", "IAP logs users in with Google and checks the group (Google ID tokens carry no groups claim)"),
        ("certificateArn", "an ACM certificate is AWS's: use iap.preSharedCert"),
        ("className", "the platform uses GKE's internal Application Load Balancer (gce-internal)"),
        ("tlsSecret", "the load balancer serves iap.preSharedCert"),
    ):
        if ingress.get(key) is not None:
            yield _where(key), f"does not apply when cloud is 'gcp': {why}"
    network = raw_mapping(raw_mapping(raw.get("gcp")).get("network"))
    if network.get("proxyOnlyCidr") is None:
        yield (
            "gcp.network.proxyOnlyCidr",
            "required with access.ingress: GKE's internal Application Load Balancer needs a proxy-only subnet",
        )
