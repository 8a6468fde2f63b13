"""Team tenancy as pure manifests: a namespace per team with its quota, limits, RBAC and network policy,
and Kueue's flavors and queues that share the GPU pools fairly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from catalog.labels import GPU_RESOURCE, GPU_TOLERATION, TEAM_GROUP_ANNOTATION, TEAM_LABEL, TEAM_NAMESPACE_PREFIX
from catalog.ray_ports import RAY_SERVICE_PORTS
from components.kubernetes import manifests
from components.nodes import PoolSpec

KUEUE_API = "kueue.x-k8s.io/v1beta2"
COHORT = "ray-platform"
LOCAL_QUEUE = "team-queue"
QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
CPU_FLAVOR = "cpu"
RAY_FRAMEWORKS = ("ray.io/rayjob", "ray.io/raycluster", "ray.io/rayservice")


@dataclass(frozen=True)
class GpuShare:
    nominal: int
    borrowing_limit: int | None = None
    lending_limit: int | None = None


@dataclass(frozen=True)
class TeamSpec:
    name: str
    owner: str
    department: str
    group: str
    cpu: str
    memory: str
    gpu_shares: dict[str, GpuShare] = field(default_factory=dict)

    @property
    def namespace(self) -> str:
        return f"{TEAM_NAMESPACE_PREFIX}{self.name}"

    @property
    def cluster_queue(self) -> str:
        return f"team-{self.name}"


def team_labels(team: TeamSpec, cost_labels: dict[str, str]) -> dict[str, str]:
    """The stack's cost labels, with this team as team, owner and department."""
    return {**cost_labels, "team": team.name, "owner": team.owner, "department": team.department}


def gpu_limit(team: TeamSpec, pools: list[PoolSpec]) -> int:
    """The most GPUs the team may hold at once: its nominal quota plus what it may borrow, per pool."""
    total = 0
    for pool in pools:
        share = team.gpu_shares.get(pool.name)
        if share is not None:
            borrow = pool.max_gpus if share.borrowing_limit is None else share.borrowing_limit
            total += min(share.nominal + borrow, pool.max_gpus)
    return total


def resource_quota(team: TeamSpec, pools: list[PoolSpec]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "team-quota", "namespace": team.namespace},
        "spec": {
            "hard": {
                "requests.cpu": team.cpu,
                "requests.memory": team.memory,
                "limits.memory": team.memory,
                f"requests.{GPU_RESOURCE}": str(gpu_limit(team, pools)),
            }
        },
    }


def limit_range(team: TeamSpec) -> dict[str, Any]:
    """Defaults for containers that name no resources, so the quota can account for them."""
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "team-defaults", "namespace": team.namespace},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "defaultRequest": {"cpu": "500m", "memory": "1Gi"},
                    "default": {"memory": "2Gi"},
                }
            ]
        },
    }


def role_binding(team: TeamSpec) -> dict[str, Any]:
    """The team's group may edit its own namespace, and nothing else."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "team-edit", "namespace": team.namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": team.group}],
    }


def secret_readers(team: TeamSpec, secret: str) -> list[dict[str, Any]]:
    """The team's group may read this one Secret (its Ray cluster's token) whatever its namespace role
    becomes; no other group is bound to anything in the namespace."""
    rbac = "rbac.authorization.k8s.io"
    name = f"read-{secret}"
    metadata = {"name": name, "namespace": team.namespace}
    return [
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "Role",
            "metadata": metadata,
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret], "verbs": ["get"]}],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": metadata,
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": name},
            "subjects": [{"apiGroup": rbac, "kind": "Group", "name": team.group}],
        },
    ]


def _namespace_peer(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def network_policies(team: TeamSpec, monitoring_namespace: str, operator_namespace: str) -> list[dict[str, Any]]:
    """Deny ingress by default; allow the namespace itself, Prometheus, and the KubeRay operator (which
    submits RayJobs to the head's dashboard port). Ray's ports are reachable from nowhere else."""

    def policy(name: str, ingress: list[dict[str, Any]], pod_selector: dict | None = None) -> dict[str, Any]:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": team.namespace},
            "spec": {"podSelector": pod_selector or {}, "policyTypes": ["Ingress"], "ingress": ingress},
        }

    return [
        policy("default-deny-ingress", []),
        policy("allow-same-namespace", [{"from": [{"podSelector": {}}]}]),
        policy("allow-monitoring", [{"from": [_namespace_peer(monitoring_namespace)]}]),
        policy(
            "allow-kuberay-operator",
            [
                {
                    "from": [_namespace_peer(operator_namespace)],
                    "ports": [{"protocol": "TCP", "port": RAY_SERVICE_PORTS["dashboard"]}],
                }
            ],
            {"matchLabels": {"ray.io/node-type": "head"}},
        ),
    ]


STORE_ISOLATION_POLICY = "deny-other-teams-gcs-stores"
# The GKE metadata server (Workload Identity tokens), named apart from 0.0.0.0/0: it answers on the node.
GKE_METADATA = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))


def store_isolation(team: TeamSpec, foreign_hosts: list[str]) -> dict[str, Any]:
    """Egress from the team's pods to anywhere but the other teams' GCS stores (their Redis IPs): every pod in
    the cluster (DNS included), any IPv4 address outside those, any IPv6 address, the GKE metadata server."""
    rules: list[dict[str, Any]] = [
        {"to": [{"namespaceSelector": {}}]},
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": sorted({f"{h}/32" for h in foreign_hosts})}}]},
        {"to": [{"ipBlock": {"cidr": "::/0"}}]},
        *({"to": [{"ipBlock": {"cidr": c}}], "ports": [{"protocol": "TCP", "port": p}]} for c, p in GKE_METADATA),
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": STORE_ISOLATION_POLICY, "namespace": team.namespace},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": rules},
    }


def resource_flavors(pools: list[PoolSpec]) -> list[dict[str, Any]]:
    """One flavor per GPU pool (its nodes, and the GPU taint tolerated), and one for CPU and memory."""
    flavors = [{"apiVersion": KUEUE_API, "kind": "ResourceFlavor", "metadata": {"name": CPU_FLAVOR}, "spec": {}}]
    for pool in pools:
        flavors.append(
            {
                "apiVersion": KUEUE_API,
                "kind": "ResourceFlavor",
                "metadata": {"name": pool.name},
                "spec": {"nodeLabels": dict(pool.selector), "tolerations": [GPU_TOLERATION]},
            }
        )
    return flavors


def _gpu_quota(share: GpuShare | None, pool: PoolSpec) -> dict[str, Any]:
    # Kueue needs a nominalQuota (even 0) for every resource a queue may borrow. The borrowing bound is always
    # written: a team's own, or else the most the pool could lend it (Kueue reads a missing one as unbounded).
    nominal = share.nominal if share else 0
    borrow = share.borrowing_limit if share and share.borrowing_limit is not None else max(pool.max_gpus - nominal, 0)
    quota: dict[str, Any] = {"name": GPU_RESOURCE, "nominalQuota": nominal, "borrowingLimit": borrow}
    if share and share.lending_limit is not None:
        quota["lendingLimit"] = share.lending_limit
    return quota


def cluster_queue(team: TeamSpec, pools: list[PoolSpec]) -> dict[str, Any]:
    groups: list[dict[str, Any]] = [
        {
            "coveredResources": ["cpu", "memory"],
            "flavors": [
                {
                    "name": CPU_FLAVOR,
                    "resources": [
                        {"name": "cpu", "nominalQuota": team.cpu},
                        {"name": "memory", "nominalQuota": team.memory},
                    ],
                }
            ],
        }
    ]
    if pools:
        groups.append(
            {
                "coveredResources": [GPU_RESOURCE],
                "flavors": [{"name": p.name, "resources": [_gpu_quota(team.gpu_shares.get(p.name), p)]} for p in pools],
            }
        )
    return {
        "apiVersion": KUEUE_API,
        "kind": "ClusterQueue",
        "metadata": {"name": team.cluster_queue, "labels": {TEAM_LABEL: team.name}},
        "spec": {
            "cohortName": COHORT,
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.namespace}},
            "queueingStrategy": "BestEffortFIFO",
            "resourceGroups": groups,
            # A team gets back what it lent, by preempting borrowers; within its own queue, priority decides.
            "preemption": {
                "reclaimWithinCohort": "Any",
                "borrowWithinCohort": {"policy": "LowerPriority"},
                "withinClusterQueue": "LowerPriority",
            },
        },
    }


def local_queue(team: TeamSpec) -> dict[str, Any]:
    return {
        "apiVersion": KUEUE_API,
        "kind": "LocalQueue",
        "metadata": {"name": LOCAL_QUEUE, "namespace": team.namespace},
        "spec": {"clusterQueue": team.cluster_queue},
    }


def kueue_values(system_pool: PoolSpec, prometheus: bool, replicas: int = 1) -> dict[str, Any]:
    config = {
        "apiVersion": "config.kueue.x-k8s.io/v1beta2",
        "kind": "Configuration",
        "health": {"healthProbeBindAddress": ":8081"},
        "metrics": {"bindAddress": ":8443"},
        "webhook": {"port": 9443},
        "leaderElection": {"leaderElect": True, "resourceName": "c1f6bfd2.kueue.x-k8s.io"},
        # Only workloads that name a queue are managed: the platform's own pods are left alone.
        "manageJobsWithoutQueueName": False,
        "integrations": {"frameworks": ["batch/job", *RAY_FRAMEWORKS]},
    }
    return {
        "enablePrometheus": prometheus,
        "controllerManager": {
            "nodeSelector": system_pool.selector,
            "replicas": replicas,
            "podDisruptionBudget": {"enabled": replicas > 1, "minAvailable": 1},
        },
        "managerConfig": {"controllerManagerConfigYaml": yaml.safe_dump(config, sort_keys=False)},
    }


def team_namespace(team: TeamSpec, cost_labels: dict[str, str]) -> dict[str, Any]:
    """The team's namespace: labelled as the team's, naming its group, and enforcing the restricted profile."""
    labels = {**team_labels(team, cost_labels), TEAM_LABEL: team.name}
    manifest = manifests.namespace(team.namespace, labels, "restricted")
    manifest["metadata"]["annotations"] = {TEAM_GROUP_ANNOTATION: team.group}
    return manifest
