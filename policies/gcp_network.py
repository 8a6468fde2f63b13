"""GCP networks: no administration or Ray port open to the internet, subnets that log their flows and
reach Google APIs privately."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping

from pulumi_policy import Severity

from catalog.ray_ports import RAY_HEAD_PORTS
from policies.rules import Rule, Subject, as_list, resource_rule

FIREWALL = ("gcp:compute/firewall:Firewall",)
SUBNETWORK = ("gcp:compute/subnetwork:Subnetwork",)
ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
# Protocols that can carry each port's service: TCP for all of them, and UDP for RDP too.
_TCP = ("tcp", "6", "all")
_PROTOCOLS = {22: _TCP, 3389: (*_TCP, "udp", "17"), **{port: _TCP for port in RAY_HEAD_PORTS}}
# Subnets of these purposes carry proxies, not VMs: flow logs and Private Google Access do not apply.
_PROXY_PURPOSES = ("REGIONAL_MANAGED_PROXY", "GLOBAL_MANAGED_PROXY", "INTERNAL_HTTPS_LOAD_BALANCER")


class UnreadableRule(ValueError):
    """A firewall whose ranges or ports are not of the provider's shape."""


def _from_internet(subject: Subject) -> bool:
    """Does the firewall admit traffic from anywhere? With no source at all, GCP applies 0.0.0.0/0."""
    ranges = as_list(subject.get("sourceRanges"))
    if not ranges and not subject.get("sourceTags") and not subject.get("sourceServiceAccounts"):
        return True
    for cidr in ranges:
        try:
            if ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0:
                return True
        except ValueError as exc:
            raise UnreadableRule(f"source range {cidr!r} is not a network") from exc
    return False


def _ports(spec: object) -> list[tuple[int, int]]:
    if not spec:
        return [(0, 65535)]
    ranges = []
    for item in as_list(spec):
        low, _, high = str(item).partition("-")
        if not (low.isdigit() and (high.isdigit() or not high)):
            raise UnreadableRule(f"port {item!r} is neither a port nor a range")
        ranges.append((int(low), int(high or low)))
    return ranges


def _open_ports(subject: Subject, watched: Iterable[int]) -> list[int]:
    """The watched ports the firewall opens to the internet."""
    opened = set()
    for allow in as_list(subject.get("allows")):
        if not isinstance(allow, dict):
            raise UnreadableRule(f"allow {allow!r} is not a rule")
        protocol = str(allow.get("protocol", "")).lower()
        for low, high in _ports(allow.get("ports")):
            opened |= {p for p in watched if protocol in _PROTOCOLS[p] and low <= p <= high}
    ingress = subject.get("direction", default="INGRESS") == "INGRESS" and subject.get("disabled") is not True
    return sorted(opened) if opened and ingress and _from_internet(subject) else []


def _firewall_check(watched: dict[int, str], what: str):
    def check(subject: Subject, _config) -> Iterable[str]:
        try:
            opened = _open_ports(subject, watched)
        except UnreadableRule as exc:
            yield f"cannot judge the firewall: {exc}"
            return
        if opened:
            names = ", ".join(f"{watched[p]} ({p})" for p in opened)
            yield f"admits {names} from the internet (0.0.0.0/0): {what}"

    return check


def _serves_vms(subject: Subject) -> bool:
    return subject.get("purpose", default="PRIVATE") not in _PROXY_PURPOSES


def _flow_logs(subject: Subject, _config) -> Iterable[str]:
    config = subject.get("logConfig")
    if _serves_vms(subject) and (not config or (isinstance(config, Mapping) and config.get("enable") is False)):
        yield "VPC flow logs are off: set logConfig (aggregation interval, sampling)"


def _private_google_access(subject: Subject, _config) -> Iterable[str]:
    if _serves_vms(subject) and subject.get("privateIpGoogleAccess") is not True:
        yield "Private Google Access is off: private nodes cannot reach Google APIs (images, logging, GCS)"


POLICIES: list[Rule] = [
    resource_rule(
        name="gcp-firewall-no-public-ssh-rdp",
        area="gcp",
        severity=Severity.CRITICAL,
        types=FIREWALL,
        check=_firewall_check(ADMIN_PORTS, "administration ports are for IAP or a bastion only"),
        description="No firewall admits SSH (22) or RDP (3389) from the internet.",
        remediation="Admit your office or VPN CIDRs, or IAP's range 35.235.240.0/20, instead of 0.0.0.0/0.",
        controls=("CIS GCP 3.6", "CIS GCP 3.7"),
    ),
    resource_rule(
        name="gcp-firewall-ray-ports-never-public",
        area="gcp",
        severity=Severity.CRITICAL,
        types=FIREWALL,
        check=_firewall_check(
            {p: "Ray" for p in RAY_HEAD_PORTS}, "Ray's GCS, dashboard and client have no authentication by default"
        ),
        description="No firewall admits Ray's GCS (6379), dashboard (8265) or client (10001) port from the internet.",
        remediation="Reach Ray through kubectl port-forward or an authenticating proxy; drop the rule.",
        controls=("CIS GKE 5.6.6",),
    ),
    resource_rule(
        name="gcp-subnet-flow-logs",
        area="gcp",
        severity=Severity.MEDIUM,
        types=SUBNETWORK,
        check=_flow_logs,
        description="Every subnet records VPC flow logs, for investigating what reached the nodes.",
        remediation="Set logConfig on the subnetwork (the platform samples half the flows every 5 minutes).",
        controls=("CIS GCP 3.8", "CIS GKE 5.6.1"),
    ),
    resource_rule(
        name="gcp-subnet-private-google-access",
        area="gcp",
        severity=Severity.MEDIUM,
        types=SUBNETWORK,
        check=_private_google_access,
        description="Subnets of private nodes reach Google APIs through Private Google Access, not the internet.",
        remediation="Set privateIpGoogleAccess to true on the subnetwork.",
        controls=("CIS GKE 5.6.5",),
    ),
]
