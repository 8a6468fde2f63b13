"""Who may reach a team's GCS store: the Redis (Memorystore) a team's Ray cluster keeps its GCS state in may
be reached from that team's namespace, never from another team's (each is kept from it by an egress
NetworkPolicy). The check evaluates each namespace's NetworkPolicies with Kubernetes' semantics: a pod is
egress-isolated once a policy with ``Egress`` selects it, and then may send what any of those policies' rules
allows."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import Severity

from catalog.labels import TEAM_LABEL
from policies.rules import Rule, Subject, dig, of_type, stack_rule

RAY_CLUSTER = "kubernetes:ray.io/v1:RayCluster"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _egress_types(spec: Mapping[str, Any]) -> bool:
    types = spec.get("policyTypes")
    return "Egress" in types if types is not None else "egress" in spec


def _port_matches(entry: Mapping[str, Any], port: int | None) -> bool:
    if entry.get("protocol", "TCP") != "TCP":
        return False
    wanted = entry.get("port")
    if wanted is None or port is None or isinstance(wanted, str):
        return True  # all ports, or a named port: it may be the store's
    return int(wanted) <= port <= int(entry.get("endPort", wanted))


def _peer_matches(peer: Mapping[str, Any], address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    block = peer.get("ipBlock")
    if block is None:
        return False  # a pod or namespace selector: the store is no pod
    if address not in ipaddress.ip_network(block["cidr"], strict=False):
        return False
    return not any(address in ipaddress.ip_network(e, strict=False) for e in block.get("except") or [])


def _rule_allows(rule: Mapping[str, Any], address, port: int | None) -> bool:
    ports, peers = rule.get("ports") or [], rule.get("to") or []
    if ports and not any(_port_matches(p, port) for p in ports):
        return False
    return not peers or any(_peer_matches(p, address) for p in peers)


def egress_allowed(specs: Sequence[Mapping[str, Any]], address: str, port: int | None) -> bool:
    """Whether some pod of a namespace whose NetworkPolicies have these specs may send to ``address:port``."""
    isolating = [s for s in specs if _egress_types(s)]
    if not any(not dig(s, "podSelector") for s in isolating):
        return True  # some pod is selected by no egress policy (or may be): it sends anywhere
    ip = ipaddress.ip_address(address)
    return any(_rule_allows(r, ip, port) for s in isolating for r in s.get("egress") or [])


def _team_namespaces(subjects: list[Subject]) -> list[str]:
    return sorted(n.get("metadata", "name") for n in of_type(subjects, (NAMESPACE,)) if _is_team(n))


def _is_team(namespace: Subject) -> bool:
    labels = namespace.get("metadata", "labels", default={})
    return isinstance(labels, Mapping) and TEAM_LABEL in labels


def _policies_by_namespace(subjects: list[Subject]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for policy in of_type(subjects, (NETWORK_POLICY,)):
        found.setdefault(policy.get("metadata", "namespace", default="default"), []).append(policy.get("spec"))
    return found


def _store(cluster: Subject) -> tuple[str, int | None] | None:
    """The IP address and port of the Redis the cluster keeps its GCS state in, where it is an IP address
    (a DNS name, as ElastiCache's, no NetworkPolicy can name)."""
    address = cluster.get("spec", "gcsFaultToleranceOptions", "redisAddress")
    if address is None:
        return None
    if not isinstance(address, str):
        raise TypeError(f"redisAddress is a {type(address).__name__}, not a string")
    parts = urlsplit(address if "://" in address else f"redis://{address}")
    try:
        ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return None
    return str(parts.hostname), parts.port


def _reached_by_its_team_only(subjects: list[Subject], _config) -> Iterable[tuple[Subject, str]]:
    teams, policies = _team_namespaces(subjects), _policies_by_namespace(subjects)
    for cluster in of_type(subjects, (RAY_CLUSTER,)):
        store = _store(cluster)
        if store is None:
            continue
        own = cluster.get("metadata", "namespace")
        others = [t for t in teams if t != own and egress_allowed(policies.get(t, []), *store)]
        if others:
            yield (
                cluster,
                (
                    f"the GCS store {store[0]} of this cluster (namespace {own}) may be reached from other team "
                    f"namespaces: {', '.join(others)}"
                ),
            )


POLICIES: list[Rule] = [
    stack_rule(
        name="gcs-store-reached-by-its-team-only",
        area="network",
        severity=Severity.HIGH,
        types=(RAY_CLUSTER,),
        reads=(NAMESPACE, NETWORK_POLICY),
        check=_reached_by_its_team_only,
        description="A Ray cluster's GCS Redis, where it has an IP address (Memorystore), is reachable from no "
        "other team's namespace: each has an egress NetworkPolicy that excludes that address.",
        remediation="Give each other team's namespace the platform's deny-other-teams-gcs-stores NetworkPolicy "
        "(egress to 0.0.0.0/0 except each other team's store /32); do not add egress rules that re-open it.",
        controls=("CIS GKE 5.6.7", "NIST SP 800-53 SC-7"),
    ),
]
