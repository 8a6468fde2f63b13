"""Karpenter's names that the program, the policies, the diff and the audit share."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog.labels import GPU_RESOURCE

NODEPOOL_TYPE = "kubernetes:karpenter.sh/v1:NodePool"
NODECLASS_TYPE = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
# Subnets and the node security group carry this tag (value: the cluster name); EC2NodeClasses select by it.
DISCOVERY_TAG = "karpenter.sh/discovery"
# Karpenter tags every instance it launches with its NodePool and NodeClaim (and the EC2NodeClass).
NODEPOOL_TAG = "karpenter.sh/nodepool"
NODECLAIM_TAG = "karpenter.sh/nodeclaim"
NODECLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"
CAPACITY_TYPE_LABEL = "karpenter.sh/capacity-type"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


def nodepool_gpu_limit(inputs: Mapping[str, Any]) -> int | None:
    """The GPUs a NodePool may hold (``spec.limits`` of ``nvidia.com/gpu``), None when it sets no such limit.
    Inputs as planned (a quantity may arrive as a string or a number)."""
    spec = inputs.get("spec")
    limits = spec.get("limits") if isinstance(spec, Mapping) else None
    value = limits.get(GPU_RESOURCE) if isinstance(limits, Mapping) else None
    try:
        return int(float(value)) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def requirement_values(inputs: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The values a NodePool's ``In`` requirement on ``key`` allows (instance types, capacity types); empty
    where it has none or its inputs have another shape."""
    spec = inputs.get("spec")
    template = spec.get("template") if isinstance(spec, Mapping) else None
    node = template.get("spec") if isinstance(template, Mapping) else None
    requirements = node.get("requirements") if isinstance(node, Mapping) else None
    return tuple(
        str(value)
        for r in _items(requirements)
        if isinstance(r, Mapping) and r.get("key") == key and r.get("operator") == "In"
        for value in _items(r.get("values"))
    )


def _items(value: Any) -> Sequence[Any]:
    return value if isinstance(value, Sequence) and not isinstance(value, str) else ()
