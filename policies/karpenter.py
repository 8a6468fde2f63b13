"""Karpenter's NodePools and EC2NodeClasses: GPU pools tainted and bounded, nodes hardened like node groups'."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pulumi_policy import Severity

from catalog.aws_instances import GPU_INSTANCE_TYPES
from catalog.karpenter import INSTANCE_TYPE_LABEL, NODECLASS_TYPE, NODEPOOL_TYPE
from catalog.labels import GPU_RESOURCE, GPU_TAINT
from catalog.tagging import REQUIRED_COST_TAGS
from policies.rules import Rule, Subject, as_list, resource_rule, whole

NODEPOOL = (NODEPOOL_TYPE,)
NODECLASS = (NODECLASS_TYPE,)
_GPU_FAMILY_LABEL = "karpenter.k8s.aws/instance-gpu-count"


def _template(subject: Subject) -> Mapping:
    template = subject.get("spec", "template", "spec", default={})
    return template if isinstance(template, Mapping) else {}


def is_gpu_pool(subject: Subject) -> bool:
    """A NodePool that can launch GPU nodes: GPU instance types in its requirements, or a GPU limit."""
    for requirement in as_list(_template(subject).get("requirements")):
        if not isinstance(requirement, Mapping):
            continue
        values = as_list(requirement.get("values"))
        if requirement.get("key") == INSTANCE_TYPE_LABEL and any(v in GPU_INSTANCE_TYPES for v in values):
            return True
        if requirement.get("key") == _GPU_FAMILY_LABEL:
            return True
    limits = subject.get("spec", "limits", default={})
    return isinstance(limits, Mapping) and GPU_RESOURCE in limits


def _gpu_tainted(subject: Subject, _config) -> Iterable[str]:
    if not is_gpu_pool(subject):
        return
    taints = [t for t in as_list(_template(subject).get("taints")) if isinstance(t, Mapping)]
    if not any(t.get("key") == GPU_TAINT["key"] and t.get("effect") == GPU_TAINT["effect"] for t in taints):
        yield "a GPU NodePool without the nvidia.com/gpu NoSchedule taint lets any pod take its GPU nodes"


def _limits(subject: Subject, _config) -> Iterable[str]:
    limits = subject.get("spec", "limits", default={})
    if not isinstance(limits, Mapping) or not limits:
        yield "the NodePool sets no limits: Karpenter may launch nodes without bound"
        return
    if "cpu" not in limits:
        yield "the NodePool's limits do not bound cpu"
    if is_gpu_pool(subject) and GPU_RESOURCE not in limits:
        yield f"the GPU NodePool's limits do not bound {GPU_RESOURCE}"


def _imdsv2(subject: Subject, config) -> Iterable[str]:
    metadata = subject.get("spec", "metadataOptions", default={})
    metadata = metadata if isinstance(metadata, Mapping) else {}
    if metadata.get("httpTokens") != "required":
        yield "IMDSv1 is allowed: set spec.metadataOptions.httpTokens to required"
    hops = whole(metadata.get("httpPutResponseHopLimit"))
    limit = config["maxHopLimit"]
    if not isinstance(hops, int) or hops > limit:
        yield f"the metadata hop limit ({hops or 'default'}) lets pods reach the node role; at most {limit}"


def _encrypted_volumes(subject: Subject, _config) -> Iterable[str]:
    mappings = [m for m in as_list(subject.get("spec", "blockDeviceMappings")) if isinstance(m, Mapping)]
    if not mappings:
        yield "no blockDeviceMappings: the root volume's encryption is left to the AMI's defaults"
    for mapping in mappings:
        ebs = mapping.get("ebs")
        if not isinstance(ebs, Mapping) or ebs.get("encrypted") is not True:
            yield f"volume {mapping.get('deviceName', '?')} is not encrypted"


def _no_public_ip(subject: Subject, _config) -> Iterable[str]:
    if subject.get("spec", "associatePublicIPAddress") is not False:
        yield "associatePublicIPAddress is not false: nodes in a subnet that maps public IPs would get one"


def _cost_tags(subject: Subject, config) -> Iterable[str]:
    tags = subject.get("spec", "tags", default={})
    tags = tags if isinstance(tags, Mapping) else {}
    missing = [key for key in config["requiredTags"] if not tags.get(key)]
    if missing:
        yield f"instances, volumes and network interfaces Karpenter launches lack cost tags {', '.join(missing)}"


POLICIES: list[Rule] = [
    resource_rule(
        name="karpenter-gpu-pool-tainted",
        area="nodes",
        severity=Severity.HIGH,
        types=NODEPOOL,
        check=_gpu_tainted,
        description="GPU NodePools carry the nvidia.com/gpu NoSchedule taint, so only GPU work lands there.",
        controls=(
            "EKS BP AI/ML Compute: Use taints and tolerations to prevent non-accelerated workloads from being "
            "scheduled on accelerated instances",
        ),
        remediation="Add the taint nvidia.com/gpu=present:NoSchedule to spec.template.spec.taints (the "
        "platform's NodePools do).",
    ),
    resource_rule(
        name="karpenter-nodepool-limits",
        area="nodes",
        severity=Severity.MEDIUM,
        types=NODEPOOL,
        check=_limits,
        description="Every NodePool bounds the CPUs (and a GPU NodePool the GPUs) Karpenter may launch.",
        controls=(
            "EKS BP Karpenter: Configure billing alarms to monitor your compute spend",
            "EKS BP AI/ML Compute: GPU Resource Optimization and Cost Management",
        ),
        remediation="Set spec.limits cpu and nvidia.com/gpu (the platform sets maxSize x the largest instance's).",
    ),
    resource_rule(
        name="karpenter-imdsv2-required",
        area="nodes",
        severity=Severity.HIGH,
        types=NODECLASS,
        check=_imdsv2,
        config={"maxHopLimit": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1}},
        description="Karpenter's nodes accept only IMDSv2, with a hop limit that keeps pods from the node's role.",
        controls=(
            "AWS FSBP EC2.8",
            "AWS FSBP EC2.170",
            "CIS AWS Foundations 5.7",
            "EKS BP IAM: Restrict access to the instance profile assigned to the worker node",
        ),
        remediation="Set spec.metadataOptions httpTokens=required and httpPutResponseHopLimit=1.",
    ),
    resource_rule(
        name="karpenter-encrypted-volumes",
        area="nodes",
        severity=Severity.HIGH,
        types=NODECLASS,
        check=_encrypted_volumes,
        description="Every volume of Karpenter's nodes is declared and encrypted.",
        controls=("AWS FSBP EC2.3", "AWS FSBP EC2.181"),
        remediation="Declare spec.blockDeviceMappings with ebs.encrypted: true for the root volume.",
    ),
    resource_rule(
        name="karpenter-no-public-ip",
        area="nodes",
        severity=Severity.HIGH,
        types=NODECLASS,
        check=_no_public_ip,
        description="Karpenter's nodes get no public IP address, whatever the subnet's setting.",
        controls=("CIS EKS 5.4.3", "AWS FSBP EC2.9"),
        remediation="Set spec.associatePublicIPAddress: false and select private subnets.",
    ),
    resource_rule(
        name="karpenter-cost-tags",
        area="tagging",
        severity=Severity.MEDIUM,
        types=NODECLASS,
        check=_cost_tags,
        config={
            "requiredTags": {
                "type": "array",
                "items": {"type": "string"},
                "default": list(REQUIRED_COST_TAGS),
                "description": "Tags every instance, volume and network interface must carry.",
            }
        },
        description="EC2NodeClasses tag what Karpenter launches (instances, volumes, network interfaces) with the "
        "cost tags.",
        controls=("AWS Resource Tagging Standard", "EKS BP Cost awareness: Tagging of Resources"),
        remediation="Put the stack's tags in spec.tags (components/aws/karpenter.py does).",
    ),
]
