"""The cluster and its nodes: a closed API, encrypted secrets, full audit logs, hardened and bounded GPU pools."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from pulumi_policy import Severity

from catalog.aws_instances import GPU_INSTANCE_TYPES, gpus_per_node
from catalog.capacity import max_gpus
from catalog.karpenter import INSTANCE_TYPE_LABEL, NODEPOOL_TYPE, nodepool_gpu_limit, requirement_values
from catalog.versions import KUBERNETES_VERSION, SUPPORTED_KUBERNETES_VERSIONS
from policies.rules import Rule, Subject, as_list, of_type, resource_rule, stack_rule, whole

CLUSTER = ("aws:eks/cluster:Cluster",)
NODE_GROUP = ("aws:eks/nodeGroup:NodeGroup",)
# GPU capacity on AWS: managed node groups (cluster-autoscaler) or Karpenter NodePools.
GPU_POOLS = (*NODE_GROUP, NODEPOOL_TYPE)
LAUNCH_TEMPLATE = ("aws:ec2/launchTemplate:LaunchTemplate",)
SUBNET = ("aws:ec2/subnet:Subnet",)
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
GPU_TAINT = {"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}


def _endpoint(subject: Subject, _config) -> Iterable[str]:
    vpc = subject.get("vpcConfig", default={})
    if vpc.get("endpointPublicAccess") is False:
        return
    cidrs = as_list(vpc.get("publicAccessCidrs"))
    if not cidrs:
        yield "the public endpoint has no publicAccessCidrs, so EKS opens it to 0.0.0.0/0"
    for cidr in cidrs:
        if _is_world(cidr):
            yield f"the public endpoint is open to {cidr}"


def _is_world(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _secrets_encryption(subject: Subject, _config) -> Iterable[str]:
    encryption = as_list(subject.get("encryptionConfig"))
    if not any(
        "secrets" in as_list(e.get("resources")) and (e.get("provider") or {}).get("keyArn") for e in encryption
    ):
        yield "Kubernetes secrets are not envelope-encrypted with a KMS key (encryptionConfig)"


def _logs(subject: Subject, _config) -> Iterable[str]:
    missing = sorted(set(LOG_TYPES) - set(as_list(subject.get("enabledClusterLogTypes"))))
    if missing:
        yield f"control-plane logs off: {', '.join(missing)}"


def _version(subject: Subject, config) -> Iterable[str]:
    version = subject.get("version")
    if version not in config["allowedVersions"]:
        yield f"Kubernetes {version or '(provider default)'} is not one of {', '.join(config['allowedVersions'])}"


def _imdsv2(subject: Subject, config) -> Iterable[str]:
    metadata = subject.get("metadataOptions", default={})
    if metadata.get("httpTokens") != "required":
        yield "IMDSv1 is allowed: set metadataOptions.httpTokens to required"
    hops = whole(metadata.get("httpPutResponseHopLimit"))
    if hops is None or hops > config["maxHopLimit"]:
        limit = config["maxHopLimit"]
        yield f"the metadata hop limit ({hops or 'default'}) lets pods reach the node role; at most {limit}"


def _encrypted_volumes(subject: Subject, _config) -> Iterable[str]:
    for mapping in as_list(subject.get("blockDeviceMappings")):
        ebs = mapping.get("ebs") or {}
        if str(ebs.get("encrypted")).lower() != "true":
            yield f"volume {mapping.get('deviceName', '?')} is not encrypted"


def _no_public_ip(subject: Subject, _config) -> Iterable[str]:
    if subject.type in SUBNET and subject.get("mapPublicIpOnLaunch") is True:
        yield "instances launched in this subnet get a public IP (mapPublicIpOnLaunch)"
    for interface in as_list(subject.get("networkInterfaces")):
        if str(interface.get("associatePublicIpAddress")).lower() == "true":
            yield "the launch template gives nodes a public IP"


def _no_ssh(subject: Subject, _config) -> Iterable[str]:
    remote = subject.get("remoteAccess")
    if remote and remote.get("ec2SshKey") and not as_list(remote.get("sourceSecurityGroupIds")):
        yield "SSH is open to nodes from anywhere (remoteAccess without sourceSecurityGroupIds)"


def gpu_shape(subject: Subject) -> tuple[str, int] | None:
    """(GPU model, GPUs per node) of a node group, or None for a CPU group."""
    types = as_list(subject.get("instanceTypes"))
    known = [GPU_INSTANCE_TYPES[t] for t in types if t in GPU_INSTANCE_TYPES]
    gpus = gpus_per_node(types)
    if known and gpus:
        return known[0].gpu_model, gpus
    if "NVIDIA" in str(subject.get("amiType", default="")) or "GPU" in str(subject.get("amiType", default="")):
        return "unknown", 1
    return None


def _gpu_tainted(subject: Subject, _config) -> Iterable[str]:
    if gpu_shape(subject) is None:
        return
    taints = as_list(subject.get("taints"))
    if not any(t.get("key") == GPU_TAINT["key"] and t.get("effect") == GPU_TAINT["effect"] for t in taints):
        yield "a GPU node group without the nvidia.com/gpu NoSchedule taint lets any pod take its GPU nodes"


@dataclass(frozen=True)
class GpuPool:
    """What bounds a GPU pool: its instance types, and the nodes and GPUs it may reach (None: no limit)."""

    instance_types: list[str]
    max_nodes: int | None
    max_gpus: int | None


def gpu_pool(subject: Subject) -> GpuPool | None:
    """A GPU node group's or Karpenter NodePool's bounds; None for a CPU pool."""
    if subject.type == NODEPOOL_TYPE:
        types = list(requirement_values(subject.props, INSTANCE_TYPE_LABEL))
        per_node, limit = gpus_per_node(types), nodepool_gpu_limit(subject.props)
        if not per_node:
            return None
        return GpuPool(types, None if limit is None else limit // per_node, limit)
    shape = gpu_shape(subject)
    if shape is None:
        return None
    max_size = whole(subject.get("scalingConfig", "maxSize", default=0))
    return GpuPool(as_list(subject.get("instanceTypes")), max_size, max_gpus(max_size, shape[1]))


def _gpu_types_allowed(subject: Subject, config) -> Iterable[str]:
    pool = gpu_pool(subject)
    for instance_type in pool.instance_types if pool else []:
        if instance_type not in config["allowedInstanceTypes"]:
            yield f"{instance_type} is not an allowed GPU instance type"


def _pool_bounds(subject: Subject, config) -> Iterable[str]:
    pool = gpu_pool(subject)
    if pool is None:
        return
    if pool.max_gpus is None:
        yield "the GPU pool sets no GPU limit: it can grow without bound"
        return
    if pool.max_nodes is not None and pool.max_nodes > config["maxNodesPerPool"]:
        yield f"up to {pool.max_nodes} nodes exceeds the {config['maxNodesPerPool']} nodes allowed per GPU pool"
    if pool.max_gpus > config["maxGpusPerPool"]:
        yield f"up to {pool.max_gpus} GPUs exceeds the {config['maxGpusPerPool']} allowed per GPU pool"


def _stack_gpus(subjects: list[Subject], config) -> Iterable[tuple[Subject, str]]:
    pools = [(s, pool.max_gpus or 0) for s in of_type(subjects, GPU_POOLS) if (pool := gpu_pool(s))]
    total = sum(gpus for _, gpus in pools)
    if total > config["maxGpusPerStack"]:
        largest = max(pools, key=lambda p: p[1])[0]
        yield (
            largest,
            (
                f"the stack's GPU pools reach {total} GPUs, over the {config['maxGpusPerStack']} allowed "
                f"(largest pool: {largest.name})"
            ),
        )


_GPU_TYPES_CONFIG = {
    "allowedInstanceTypes": {
        "type": "array",
        "items": {"type": "string"},
        "default": sorted(GPU_INSTANCE_TYPES),
        "description": "GPU instance types a node group or NodePool may use.",
    }
}
_POOL_BOUNDS_CONFIG = {
    "maxNodesPerPool": {"type": "integer", "minimum": 0, "default": 16},
    "maxGpusPerPool": {"type": "integer", "minimum": 0, "default": 64},
}

POLICIES: list[Rule] = [
    resource_rule(
        name="eks-endpoint-not-public",
        area="eks",
        severity=Severity.CRITICAL,
        types=CLUSTER,
        check=_endpoint,
        description="The Kubernetes API is private, or public only to listed networks, never to 0.0.0.0/0.",
        controls=("CIS EKS 5.4.1", "AWS FSBP EKS.1"),
        remediation="Set cluster.endpoint.access to private, or list your office and VPN CIDRs in publicCidrs.",
    ),
    resource_rule(
        name="eks-secrets-encryption",
        area="eks",
        severity=Severity.HIGH,
        types=CLUSTER,
        check=_secrets_encryption,
        description="Kubernetes secrets are envelope-encrypted with a customer-managed KMS key.",
        controls=(
            "CIS EKS 5.3.1",
            "AWS Security Hub EKS.3",
            "EKS BP Data: Use AWS KMS for envelope encryption of Kubernetes secrets",
        ),
        remediation="Add encryptionConfig with resources ['secrets'] and a KMS key with rotation on.",
    ),
    resource_rule(
        name="eks-control-plane-logs",
        area="eks",
        severity=Severity.MEDIUM,
        types=CLUSTER,
        check=_logs,
        description="Every control-plane log type (api, audit, authenticator, controllerManager, scheduler) is on.",
        controls=("CIS EKS 2.1.1", "AWS FSBP EKS.8"),
        remediation="List all five types in enabledClusterLogTypes.",
    ),
    resource_rule(
        name="eks-supported-version",
        area="eks",
        severity=Severity.MEDIUM,
        types=CLUSTER,
        check=_version,
        config={
            "allowedVersions": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(SUPPORTED_KUBERNETES_VERSIONS),
            }
        },
        description="The cluster runs a Kubernetes version in standard support.",
        controls=("AWS FSBP EKS.2",),
        remediation=f"Upgrade one minor version at a time (the platform pins {KUBERNETES_VERSION}).",
    ),
    resource_rule(
        name="nodes-imdsv2-required",
        area="nodes",
        severity=Severity.HIGH,
        types=LAUNCH_TEMPLATE,
        check=_imdsv2,
        config={"maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1}},
        description="Nodes accept only IMDSv2, with a hop limit that keeps pods from the node's credentials.",
        controls=(
            "AWS FSBP EC2.8",
            "AWS FSBP EC2.170",
            "CIS AWS Foundations 5.7",
            "EKS BP IAM: Restrict access to the instance profile assigned to the worker node",
        ),
        remediation="Set metadataOptions httpTokens=required and httpPutResponseHopLimit=1; give pods IRSA roles.",
    ),
    resource_rule(
        name="nodes-encrypted-volumes",
        area="nodes",
        severity=Severity.HIGH,
        types=LAUNCH_TEMPLATE,
        check=_encrypted_volumes,
        description="Every node volume is encrypted.",
        controls=("AWS FSBP EC2.3", "AWS FSBP EC2.181"),
        remediation="Set ebs.encrypted to true on every block device mapping of the launch template.",
    ),
    resource_rule(
        name="nodes-no-public-ip",
        area="nodes",
        severity=Severity.HIGH,
        types=(*LAUNCH_TEMPLATE, *SUBNET),
        check=_no_public_ip,
        description="Nodes get no public IP address.",
        controls=("CIS EKS 5.4.3", "AWS FSBP EC2.9", "AWS FSBP EC2.15", "AWS FSBP EC2.25"),
        remediation="Run nodes in private subnets; set mapPublicIpOnLaunch and associatePublicIpAddress to false.",
    ),
    resource_rule(
        name="nodes-no-ssh-from-anywhere",
        area="nodes",
        severity=Severity.HIGH,
        types=NODE_GROUP,
        check=_no_ssh,
        description="Node groups do not open SSH to the world.",
        controls=("AWS FSBP EC2.13", "CIS AWS Foundations 5.3", "EKS BP Hosts: Minimize access to worker nodes"),
        remediation="Drop remoteAccess (use SSM Session Manager), or restrict it with sourceSecurityGroupIds.",
    ),
    resource_rule(
        name="gpu-pools-tainted",
        area="nodes",
        severity=Severity.HIGH,
        types=NODE_GROUP,
        check=_gpu_tainted,
        description="GPU node groups carry the nvidia.com/gpu NoSchedule taint, so only GPU work lands there.",
        controls=(
            "EKS BP AI/ML Compute: Use taints and tolerations to prevent non-accelerated workloads from being "
            "scheduled on accelerated instances",
        ),
        remediation="Add the taint nvidia.com/gpu=present:NoSchedule (the platform's GPU pools do).",
    ),
    resource_rule(
        name="gpu-instance-types-allowed",
        area="nodes",
        severity=Severity.MEDIUM,
        types=GPU_POOLS,
        check=_gpu_types_allowed,
        config=_GPU_TYPES_CONFIG,
        description="GPU node groups and Karpenter NodePools use only instance types from the allow-list.",
        controls=("EKS BP AI/ML Compute: GPU Resource Optimization and Cost Management",),
        remediation="Pick an allowed type, or have the allow-list in the stack's policy config reviewed.",
    ),
    resource_rule(
        name="gpu-pool-bounds",
        area="nodes",
        severity=Severity.MEDIUM,
        types=GPU_POOLS,
        check=_pool_bounds,
        config=_POOL_BOUNDS_CONFIG,
        description="No GPU node group or NodePool can grow past the allowed number of nodes and GPUs.",
        controls=("EKS BP AI/ML Compute: GPU Resource Optimization and Cost Management",),
        remediation="Lower maxSize (a NodePool: its GPU limit), or raise maxNodesPerPool/maxGpusPerPool in the "
        "stack's policy config.",
    ),
    stack_rule(
        name="gpu-stack-budget",
        area="nodes",
        severity=Severity.MEDIUM,
        types=GPU_POOLS,
        check=_stack_gpus,
        config={"maxGpusPerStack": {"type": "integer", "minimum": 0, "default": 128}},
        description="The GPU pools of a stack together stay within the stack's GPU budget.",
        controls=("EKS BP AI/ML Compute: GPU Resource Optimization and Cost Management",),
        remediation="Lower the pools' maxSize, or raise maxGpusPerStack in the stack's policy config.",
    ),
]
