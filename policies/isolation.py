"""Team isolation inside the cluster: every team namespace denies ingress by default and has a quota; no
NetworkPolicy opens pods to every source, nor Ray's ports to every namespace.

Team namespaces are those carrying the team label (``rayplat.io/team``, the platform sets it); a
NetworkPolicy only isolates where the CNI enforces it, which the cloud layers turn on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog.labels import GPU_RESOURCE
from catalog.ray_ports import RAY_HEAD_PORTS
from policies.objects import (
    TEAM_CONFIG,
    mapping,
    mappings,
    object_name,
    object_namespace,
    strings,
    team_namespaces,
)
from policies.rules import Rule, Subject, of_type, resource_rule, stack_rule, whole

NAMESPACE = ("kubernetes:core/v1:Namespace",)
NETWORK_POLICY = ("kubernetes:networking.k8s.io/v1:NetworkPolicy",)
RESOURCE_QUOTA = ("kubernetes:core/v1:ResourceQuota",)
LOCAL_QUEUE = ("kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue",)
CLUSTER_QUEUE = ("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue",)
# The head's unauthenticated ports by KubeRay's port names.
RAY_PORT_NAMES = ("gcs", "gcs-server", "dashboard", "client")


def _spec(policy: Subject) -> dict[str, Any]:
    return mapping(policy.get("spec"))


def _policy_types(spec: dict[str, Any]) -> list[str]:
    # Without policyTypes a policy is an Ingress policy (plus Egress when it has egress rules).
    return strings(spec.get("policyTypes")) or ["Ingress"]


def _is_default_deny(policy: Subject) -> bool:
    spec = _spec(policy)
    selects_all = mapping(spec.get("podSelector")) == {}
    return selects_all and "Ingress" in _policy_types(spec) and not spec.get("ingress")


def _default_deny(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    policies = of_type(subjects, NETWORK_POLICY)
    for team in team_namespaces(subjects, config):
        if not any(object_namespace(p) == team.name and _is_default_deny(p) for p in policies):
            yield team.subject, f"team namespace {team.name} has no default-deny ingress NetworkPolicy"


def _world_block(peer: dict[str, Any]) -> str | None:
    cidr = mapping(peer.get("ipBlock")).get("cidr")
    try:
        return cidr if cidr and ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0 else None
    except ValueError:
        return None


def _all_namespaces(peer: dict[str, Any]) -> bool:
    return "namespaceSelector" in peer and mapping(peer.get("namespaceSelector")) == {}


def _open_sources(rule: dict[str, Any]) -> Iterable[str]:
    """Why an ingress rule admits every source, one reason per offending peer."""
    peers = rule.get("from")
    if not peers:
        yield "has no 'from', so every source may connect"
        return
    for peer in mappings(peers):
        if not any(peer.get(k) is not None for k in ("podSelector", "namespaceSelector", "ipBlock")):
            yield "has an empty peer {}, which admits every source"
        elif _world_block(peer):
            yield f"admits ipBlock {_world_block(peer)} (every address)"
        elif _all_namespaces(peer):
            # Whoever runs pods elsewhere chooses their labels: a podSelector narrows nothing.
            yield "admits pods of every namespace (namespaceSelector {})"


def _allow_from_anywhere(subject: Subject, _config) -> Iterable[str]:
    spec = _spec(subject)
    if "Ingress" not in _policy_types(spec):
        return
    for index, rule in enumerate(mappings(spec.get("ingress"))):
        for reason in _open_sources(rule):
            yield f"ingress rule {index} {reason}"


def _selects_ray_pods(spec: dict[str, Any]) -> bool:
    selector = mapping(spec.get("podSelector"))
    keys = [*mapping(selector.get("matchLabels")), *(e.get("key") for e in mappings(selector.get("matchExpressions")))]
    return selector == {} or any(str(k).startswith("ray.io/") for k in keys)


def _ray_ports(rule: dict[str, Any]) -> list[Any]:
    ports = mappings(rule.get("ports"))
    if not ports:
        return ["every port"]
    found = []
    for port in ports:
        number, end = whole(port.get("port")), whole(port.get("endPort"))
        if number is None:
            return ["every port"]
        if number in RAY_PORT_NAMES or number in RAY_HEAD_PORTS:
            found.append(number)
        elif isinstance(number, int) and isinstance(end, int):
            found += [p for p in RAY_HEAD_PORTS if number <= p <= end]
    return found


def _every_namespace(rule: dict[str, Any]) -> bool:
    peers = rule.get("from")
    if not peers:
        return True
    return any(_all_namespaces(p) or _world_block(p) for p in mappings(peers))


def _ray_ports_open(subject: Subject, _config) -> Iterable[str]:
    spec = _spec(subject)
    if "Ingress" not in _policy_types(spec) or not _selects_ray_pods(spec):
        return
    for index, rule in enumerate(mappings(spec.get("ingress"))):
        ports = _ray_ports(rule)
        if ports and _every_namespace(rule):
            shown = ", ".join(str(p) for p in ports)
            yield f"ingress rule {index} opens Ray's {shown} to every namespace (GCS, dashboard, client: no auth)"


def _gpu_queues(subjects: list[Subject]) -> set[str]:
    """ClusterQueues that hold or may borrow GPUs."""
    found = set()
    for queue in of_type(subjects, CLUSTER_QUEUE):
        for group in mappings(mapping(queue.get("spec")).get("resourceGroups")):
            for flavor in mappings(group.get("flavors")):
                for resource in mappings(flavor.get("resources")):
                    amounts = (whole(resource.get("nominalQuota")), whole(resource.get("borrowingLimit")))
                    if resource.get("name") == GPU_RESOURCE and any(a not in (None, 0, "0") for a in amounts):
                        found.add(object_name(queue))
    return found


def _quota_keys(quota: Subject) -> set[str]:
    return set(mapping(mapping(quota.get("spec")).get("hard")))


def _team_quota(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    quotas = of_type(subjects, RESOURCE_QUOTA)
    gpu_queues = _gpu_queues(subjects)
    for team in team_namespaces(subjects, config):
        keys = set().union(*(_quota_keys(q) for q in quotas if object_namespace(q) == team.name))
        if not keys & {"requests.cpu", "cpu"} or not keys & {"requests.memory", "memory"}:
            yield team.subject, f"team namespace {team.name} has no ResourceQuota on CPU and memory requests"
        queues = {
            str(mapping(q.get("spec")).get("clusterQueue"))
            for q in of_type(subjects, LOCAL_QUEUE)
            if object_namespace(q) == team.name
        }
        if queues & gpu_queues and f"requests.{GPU_RESOURCE}" not in keys:
            yield (
                team.subject,
                f"team namespace {team.name} has GPU quota in Kueue ({', '.join(sorted(queues & gpu_queues))}) "
                f"but its ResourceQuota does not cap requests.{GPU_RESOURCE}",
            )


POLICIES: list[Rule] = [
    stack_rule(
        name="network-default-deny",
        area="kubernetes",
        severity=Severity.HIGH,
        types=NAMESPACE,
        reads=NETWORK_POLICY,
        check=_default_deny,
        config=TEAM_CONFIG,
        description="Every team namespace has a NetworkPolicy that denies all ingress by default.",
        remediation="Add a NetworkPolicy with podSelector {} and policyTypes [Ingress] and no ingress rules "
        "(the platform's teams get one).",
        controls=("CIS EKS 4.3.2", "CIS GKE 4.3.2", "CIS Kubernetes 5.3.2"),
    ),
    resource_rule(
        name="network-no-allow-from-anywhere",
        area="kubernetes",
        severity=Severity.HIGH,
        types=NETWORK_POLICY,
        check=_allow_from_anywhere,
        description="No NetworkPolicy admits ingress from every source: no rule without 'from', no empty peer, "
        "no 0.0.0.0/0 block, no selector of every namespace.",
        remediation="Name the namespaces (kubernetes.io/metadata.name) and pods that need access in 'from'.",
        controls=("CIS EKS 4.3.2", "CIS GKE 4.3.2", "CIS Kubernetes 5.3.2"),
    ),
    resource_rule(
        name="network-ray-ports-not-open",
        area="kubernetes",
        severity=Severity.CRITICAL,
        types=NETWORK_POLICY,
        check=_ray_ports_open,
        description="No NetworkPolicy opens Ray's GCS, dashboard or client port to every namespace.",
        remediation="Allow Ray's ports only from the namespace itself and the KubeRay operator's namespace.",
        controls=(
            "Ray security guide: expose no Ray service to untrusted users",
            "CIS EKS 4.3.2",
            "CIS GKE 4.3.2",
        ),
    ),
    stack_rule(
        name="team-resource-quota",
        area="kubernetes",
        severity=Severity.MEDIUM,
        types=NAMESPACE,
        reads=(*RESOURCE_QUOTA, *LOCAL_QUEUE, *CLUSTER_QUEUE),
        check=_team_quota,
        config=TEAM_CONFIG,
        description="Every team namespace has a ResourceQuota on CPU and memory, and on GPUs when its Kueue "
        "queue holds GPU quota.",
        remediation="Create the team through the platform, whose ResourceQuota caps CPU, memory and "
        f"requests.{GPU_RESOURCE}.",
        controls=("CIS EKS 4.5.1", "CIS GKE 4.6.1", "CIS Kubernetes 5.6.1"),
    ),
]
