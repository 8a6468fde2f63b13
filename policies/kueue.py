"""Kueue settings that leak or waste GPUs: unbounded borrowing, nominal quotas beyond a pool's capacity, and
queues that reach other teams' namespaces.

A pool's capacity is read from the plan: the node groups (EKS) or node pools (GKE) whose node labels carry
a ResourceFlavor's ``nodeLabels``, times their maximum size and GPUs per node. A stack that shows no pool
(an existing cluster) gives nothing to compare with, and the capacity rule then has nothing to say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pulumi_policy import Severity

from catalog.gcp_machines import GPU_MACHINES
from catalog.labels import GPU_RESOURCE
from policies.eks import gpu_shape
from policies.objects import (
    TEAM_CONFIG,
    mapping,
    mappings,
    metadata,
    namespace_labels,
    object_name,
    object_namespace,
    selects,
    strings,
    team_namespaces,
)
from policies.rules import Rule, Subject, of_type, resource_rule, stack_rule, whole

CLUSTER_QUEUE = ("kubernetes:kueue.x-k8s.io/v1beta2:ClusterQueue",)
LOCAL_QUEUE = ("kubernetes:kueue.x-k8s.io/v1beta2:LocalQueue",)
FLAVOR = ("kubernetes:kueue.x-k8s.io/v1beta2:ResourceFlavor",)
NAMESPACE = ("kubernetes:core/v1:Namespace",)
NODE_GROUP = ("aws:eks/nodeGroup:NodeGroup",)
NODE_POOL = ("gcp:container/nodePool:NodePool",)
_GPU_CONFIG = {
    "gpuResources": {
        "type": "array",
        "items": {"type": "string"},
        "default": [GPU_RESOURCE],
        "description": "The resource names that are GPUs.",
    }
}


def _gpu_quotas(queue: Subject, gpu_resources: list[str]) -> Iterable[tuple[str, dict[str, Any]]]:
    """(flavor, resource quota) of every GPU resource a ClusterQueue lists."""
    for group in mappings(mapping(queue.get("spec")).get("resourceGroups")):
        for flavor in mappings(group.get("flavors")):
            for resource in mappings(flavor.get("resources")):
                if resource.get("name") in gpu_resources:
                    yield str(flavor.get("name", "?")), resource


def _cohort(queue: Subject) -> str | None:
    spec = mapping(queue.get("spec"))
    cohort = spec.get("cohortName") or spec.get("cohort")
    return str(cohort) if cohort else None


def _borrowing_bounded(queue: Subject, config) -> Iterable[str]:
    cohort = _cohort(queue)
    if cohort is None:
        return
    for flavor, resource in _gpu_quotas(queue, config["gpuResources"]):
        if resource.get("borrowingLimit") is None:
            yield f"{flavor}/{resource['name']} has no borrowingLimit: it may take every idle GPU of cohort {cohort}"


def _node_labels(pool: Subject) -> dict[str, Any]:
    if pool.type in NODE_GROUP:
        return mapping(pool.get("labels"))
    return mapping(mapping(pool.get("nodeConfig")).get("labels"))


def _pool_gpus(pool: Subject) -> int:
    """The most GPUs a node group or node pool can hold."""
    if pool.type in NODE_GROUP:
        shape = gpu_shape(pool)
        size = whole(mapping(pool.get("scalingConfig")).get("maxSize"))
        return shape[1] * size if shape and isinstance(size, int) else 0
    node = mapping(pool.get("nodeConfig"))
    per_node = sum(whole(a.get("count")) or 0 for a in mappings(node.get("guestAccelerators")))
    machine = GPU_MACHINES.get(str(node.get("machineType", "")))
    per_node = per_node or (machine.gpus if machine else 0)
    scaling = mapping(pool.get("autoscaling"))
    zones = len(strings(pool.get("nodeLocations")))
    size = whole(scaling.get("totalMaxNodeCount"))
    if not isinstance(size, int):
        per_zone = whole(scaling.get("maxNodeCount", pool.get("nodeCount", default=0)))
        size = per_zone * max(zones, 1) if isinstance(per_zone, int) else 0
    return per_node * size if isinstance(per_node, int) else 0


def _capacity(subjects: list[Subject], flavor: str) -> int | None:
    """The GPUs of the pools a flavor selects; None when the stack shows no pool at all."""
    pools = of_type(subjects, (*NODE_GROUP, *NODE_POOL))
    if not pools:
        return None
    flavors = [f for f in of_type(subjects, FLAVOR) if object_name(f) == flavor]
    wanted = mapping(mapping(flavors[0].get("spec")).get("nodeLabels")) if flavors else None
    if wanted is None:
        return 0
    return sum(_pool_gpus(p) for p in pools if all(_node_labels(p).get(k) == v for k, v in wanted.items()))


def _count(quantity: Any) -> int | None:
    """A whole quantity (4, 4.0 or "4"), or None."""
    quantity = whole(quantity)
    if isinstance(quantity, str) and quantity.isdigit():
        return int(quantity)
    return quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else None


def _within_capacity(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    nominal: dict[str, list[tuple[Subject, int]]] = {}
    for queue in of_type(subjects, CLUSTER_QUEUE):
        for flavor, resource in _gpu_quotas(queue, config["gpuResources"]):
            given = resource.get("nominalQuota")
            amount = _count(given)
            if amount is None:
                yield queue, f"{flavor}/{resource['name']}: nominalQuota {given!r} is not a count of GPUs"
            elif amount:
                nominal.setdefault(flavor, []).append((queue, amount))
    for flavor, quotas in nominal.items():
        capacity, total = _capacity(subjects, flavor), sum(a for _, a in quotas)
        if capacity is not None and total > capacity:
            for queue, amount in quotas:
                yield (
                    queue,
                    f"{flavor}: nominal GPU quotas add up to {total} ({object_name(queue)}: {amount}), "
                    f"over the {capacity} GPUs its pools can hold",
                )


def _foreign(namespace_team: Any, queue_team: Any) -> bool:
    """A team's queue may reach only its team's namespaces; a queue of no team, no team's namespace."""
    return bool(namespace_team) if queue_team is None else namespace_team != queue_team


def _queue_reach(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    label = config["teamLabel"]
    namespaces = of_type(subjects, NAMESPACE)
    teams: dict[str, Any] = {object_name(n): None for n in namespaces}
    teams.update({t.name: t.team for t in team_namespaces(subjects, config)})
    queue_teams: dict[str, Any] = {}
    for queue in of_type(subjects, CLUSTER_QUEUE):
        team = mapping(metadata(queue).get("labels")).get(label)
        queue_teams[object_name(queue)] = team
        selector = mapping(queue.get("spec")).get("namespaceSelector")
        if selector is None:
            continue
        if mapping(selector) == {}:
            yield queue, "namespaceSelector {} admits workloads from every namespace"
            continue
        reached = sorted(object_name(n) for n in namespaces if selects(selector, namespace_labels(n)))
        others = [n for n in reached if _foreign(teams[n], team)]
        if others:
            whose = f"team {team}'s queue" if team else "a queue of no team"
            yield queue, f"{whose} admits workloads from {', '.join(others)}"
    for local in of_type(subjects, LOCAL_QUEUE):
        team = teams.get(object_namespace(local))
        target = str(mapping(local.get("spec")).get("clusterQueue", ""))
        owner = queue_teams.get(target)
        if team and owner and owner != team:
            yield local, f"points team {team}'s namespace at {target}, team {owner}'s ClusterQueue"


POLICIES: list[Rule] = [
    resource_rule(
        name="kueue-borrowing-bounded",
        area="kubernetes",
        severity=Severity.MEDIUM,
        types=CLUSTER_QUEUE,
        check=_borrowing_bounded,
        config=_GPU_CONFIG,
        description="Every GPU quota of a ClusterQueue in a cohort states a borrowingLimit.",
        remediation="Set borrowingLimit on each GPU flavor (teams[].gpuQuota.<pool>.borrowingLimit).",
        controls=("Kueue ClusterQueue: borrowingLimit",),
    ),
    stack_rule(
        name="kueue-quota-within-capacity",
        area="kubernetes",
        severity=Severity.MEDIUM,
        types=CLUSTER_QUEUE,
        reads=(*FLAVOR, *NODE_GROUP, *NODE_POOL),
        check=_within_capacity,
        config=_GPU_CONFIG,
        description="The nominal GPU quotas on a flavor add up to no more than its pools can hold.",
        remediation="Lower the teams' nominal quotas, or raise the pool's maximum size.",
        controls=("Kueue ClusterQueue: nominalQuota within the cluster's resources",),
    ),
    stack_rule(
        name="kueue-queue-own-namespace",
        area="kubernetes",
        severity=Severity.HIGH,
        types=(*CLUSTER_QUEUE, *LOCAL_QUEUE),
        reads=NAMESPACE,
        check=_queue_reach,
        config=TEAM_CONFIG,
        description="A team's ClusterQueue admits workloads only from its own namespace, and a team's "
        "LocalQueue points only at its own ClusterQueue.",
        remediation="Select the team's namespace by kubernetes.io/metadata.name in namespaceSelector.",
        controls=("Kueue ClusterQueue: namespaceSelector", "CIS EKS 4.5.1", "CIS GKE 4.6.1"),
    ),
]
