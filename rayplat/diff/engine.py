"""Compare two plans of one stack the way a reviewer needs: what is created, updated, replaced and deleted,
field by field, and the changes that must not be missed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from catalog.aws_instances import gpus_per_node
from catalog.capacity import max_gpus
from catalog.iam import as_list
from catalog.labels import POOL_LABEL
from rayplat.plan import Plan, PlannedResource
from rayplat.plan.engine import SECRET

_SENSITIVE = ("password", "secret", "token", "kubeconfig", "privatekey", "private_key")

# Input paths (prefixes) whose change makes the provider replace the resource rather than update it.
REPLACE_ON = {
    "aws:eks/cluster:Cluster": (
        "name",
        "roleArn",
        "encryptionConfig",
        "kubernetesNetworkConfig",
        "accessConfig.bootstrapClusterCreatorAdminPermissions",
        "bootstrapSelfManagedAddons",
    ),
    "aws:eks/nodeGroup:NodeGroup": (
        "clusterName",
        "nodeGroupName",
        "nodeGroupNamePrefix",
        "nodeRoleArn",
        "subnetIds",
        "amiType",
        "instanceTypes",
        "capacityType",
        "diskSize",
        "remoteAccess",
    ),
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix", "objectLockEnabled"),
    "aws:kms/key:Key": ("customerMasterKeySpec", "keyUsage", "multiRegion"),
    "aws:ec2/vpc:Vpc": ("cidrBlock", "instanceTenancy"),
    "aws:ec2/subnet:Subnet": ("vpcId", "cidrBlock", "availabilityZone"),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/policy:Policy": ("name", "namePrefix", "path", "description"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": ("url",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "namePrefix"),
    "aws:eks/addon:Addon": ("clusterName", "addonName"),
    "aws:kms/alias:Alias": ("name", "namePrefix"),
    "aws:ec2/natGateway:NatGateway": ("allocationId", "subnetId", "connectivityType"),
    "kubernetes:helm.sh/v3:Release": ("name", "namespace"),
    "kubernetes:core/v1:Namespace": ("metadata.name",),
    # The GKE cluster's immutable fields (datapathProvider: Dataplane V2 is chosen at creation only).
    "gcp:container/cluster:Cluster": (
        "name",
        "location",
        "project",
        "network",
        "subnetwork",
        "networkingMode",
        "datapathProvider",
        "ipAllocationPolicy",
        "privateClusterConfig.enablePrivateNodes",
        "privateClusterConfig.masterIpv4CidrBlock",
        "initialNodeCount",
        "masterAuth.clientCertificateConfig",
        "enableAutopilot",
        "confidentialNodes",
    ),
    "gcp:storage/bucket:Bucket": ("name", "location", "project"),
    "gcp:kms/keyRing:KeyRing": ("name", "location", "project"),
    "gcp:kms/cryptoKey:CryptoKey": ("name", "keyRing", "purpose", "importOnly", "skipInitialVersionCreation"),
}
# Resources whose loss loses data or running work.
STATEFUL = (
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key",
    "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup",
    "aws:cloudwatch/logGroup:LogGroup",
    "gcp:storage/bucket:Bucket",
    "gcp:kms/cryptoKey:CryptoKey",
    "gcp:container/cluster:Cluster",
)
IAM_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass
class ResourceChange:
    action: str  # create | update | replace | delete
    urn: str
    type: str
    name: str
    component: str
    fields: list[FieldChange] = field(default_factory=list)
    replace_reasons: list[str] = field(default_factory=list)
    # The state's options decide what `pulumi up` does to the old resource: retainOnDelete leaves it in the
    # cloud, unmanaged, when it is deleted or replaced; protect makes the update refuse to delete or replace it.
    retained: bool = False
    protected: bool = False

    @property
    def blocked(self) -> bool:
        """`pulumi up` refuses this change: it would delete or replace a protected resource."""
        return self.protected and self.action in ("delete", "replace")


@dataclass(frozen=True)
class Grant:
    effect: str
    principal: str
    action: str
    resource: str
    condition: str

    def __str__(self) -> str:
        who = f" to {self.principal}" if self.principal else ""
        when = f" when {self.condition}" if self.condition else ""
        return f"{self.effect} {self.action} on {self.resource}{who}{when}"


@dataclass
class IamChange:
    resource: str
    name: str
    added: list[Grant]
    removed: list[Grant]


@dataclass
class PolicyChange:
    policy: str
    resource: str
    level: str
    message: str


@dataclass
class PlanDiff:
    stack: str
    changes: list[ResourceChange]
    gpus_before: dict[str, int]
    gpus_after: dict[str, int]
    iam: list[IamChange]
    new_violations: list[PolicyChange] = field(default_factory=list)
    fixed_violations: list[PolicyChange] = field(default_factory=list)
    outputs: list[FieldChange] = field(default_factory=list)

    def of_action(self, action: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.action == action]

    @property
    def stateful_losses(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.type in STATEFUL and c.action in ("delete", "replace")]

    @property
    def blocked(self) -> list[ResourceChange]:
        return [c for c in self.changes if c.blocked]

    @property
    def widened_iam(self) -> list[IamChange]:
        return [c for c in self.iam if any(g.effect == "Allow" for g in c.added)]

    @property
    def gpu_total(self) -> tuple[int, int]:
        return sum(self.gpus_before.values()), sum(self.gpus_after.values())

    @property
    def empty(self) -> bool:
        return not self.changes and not self.outputs


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` as ``{"a.b[0]": 1}``; empty containers stay as leaves."""
    if isinstance(value, Mapping) and value:
        out = {}
        for key, inner in value.items():
            out.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list) and value:
        out = {}
        for index, inner in enumerate(value):
            out.update(flatten(inner, f"{prefix}[{index}]"))
        return out
    return {prefix: value}


def mask(path: str, value: Any) -> Any:
    leaf = path.rsplit(".", 1)[-1].lower().replace("-", "")
    return SECRET if value is not None and any(word in leaf for word in _SENSITIVE) else value


def _expand_json(inputs: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    """Policy documents are JSON text: compare them field by field, not as one long string."""
    key = IAM_DOCUMENTS.get(resource_type)
    if key and isinstance(inputs.get(key), str):
        try:
            return {**inputs, key: json.loads(inputs[key])}
        except json.JSONDecodeError:
            return dict(inputs)
    return dict(inputs)


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any], resource_type: str) -> list[FieldChange]:
    before, after = flatten(_expand_json(old, resource_type)), flatten(_expand_json(new, resource_type))
    return [
        FieldChange(path, mask(path, before.get(path)), mask(path, after.get(path)))
        for path in sorted(set(before) | set(after))
        if before.get(path) != after.get(path)
    ]


def option_changes(before: PlannedResource, after: PlannedResource) -> list[FieldChange]:
    """Resource options a reviewer cares about, shown as ``options.<name>`` fields."""
    return [
        FieldChange(f"options.{name}", getattr(before, name), getattr(after, name))
        for name in ("protect", "retainOnDelete")
        if getattr(before, name) != getattr(after, name)
    ]


def replace_reasons(resource_type: str, changes: Iterable[FieldChange]) -> list[str]:
    fields = REPLACE_ON.get(resource_type, ())
    return sorted(
        {
            prefix
            for change in changes
            for prefix in fields
            if change.path == prefix or change.path.startswith((f"{prefix}.", f"{prefix}["))
        }
    )


def _component(resource: PlannedResource, by_urn: Mapping[str, PlannedResource]) -> str:
    parent = by_urn.get(resource.parent)
    while parent is not None and not parent.type.startswith("rayplat:"):
        parent = by_urn.get(parent.parent)
    return f"{parent.type.rsplit(':', 1)[-1]} {parent.name}" if parent else "stack"


def resource_changes(base: Plan, head: Plan) -> list[ResourceChange]:
    old, new = base.by_urn(), head.by_urn()
    changes = []
    for urn in sorted(set(old) | set(new)):
        change = _resource_change(old.get(urn), new.get(urn), old, new)
        if change is not None:
            changes.append(change)
    return changes


def _resource_change(before: PlannedResource | None, after: PlannedResource | None, old, new) -> ResourceChange | None:
    if after is None:
        assert before is not None
        if not before.custom:
            return None
        change = ResourceChange("delete", before.urn, before.type, before.name, _component(before, old))
        change.fields = field_changes(before.inputs, {}, before.type)
        change.retained, change.protected = before.retainOnDelete, before.protect
        return change
    if not after.custom:
        return None
    change = ResourceChange("create", after.urn, after.type, after.name, _component(after, new))
    if before is None:
        change.fields = field_changes({}, after.inputs, after.type)
        return change
    change.fields = field_changes(before.inputs, after.inputs, after.type) + option_changes(before, after)
    if not change.fields:
        return None
    change.replace_reasons = replace_reasons(after.type, change.fields)
    change.action = "replace" if change.replace_reasons else "update"
    change.retained, change.protected = before.retainOnDelete, before.protect
    return change


def gpu_capacity(plan: Plan) -> dict[str, int]:
    """Max GPUs per GPU node group (pool name from its label), from maxSize and the instance catalogue."""
    capacity = {}
    for group in plan.of_type("aws:eks/nodeGroup:NodeGroup"):
        gpus = gpus_per_node(group.inputs.get("instanceTypes", []))
        if gpus:
            pool = group.inputs.get("labels", {}).get(POOL_LABEL, group.name)
            capacity[pool] = max_gpus(int(group.inputs.get("scalingConfig", {}).get("maxSize", 0)), gpus)
    return capacity


def grants(document: Any) -> set[Grant]:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    found = set()
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal", "")
        for action in as_list(statement.get("Action")) or ["(none)"]:
            for resource in as_list(statement.get("Resource")) or ["-"]:
                found.add(
                    Grant(
                        statement.get("Effect", "Allow"),
                        _compact(principal),
                        action,
                        resource,
                        _compact(statement.get("Condition", "")),
                    )
                )
    return found


def _compact(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def iam_changes(base: Plan, head: Plan) -> list[IamChange]:
    old, new = base.by_urn(), head.by_urn()
    changes = []
    for urn in sorted(set(old) | set(new)):
        resource = new.get(urn) or old[urn]
        key = IAM_DOCUMENTS.get(resource.type)
        if key is None:
            continue
        before = grants(_document(old.get(urn), key))
        after = grants(_document(new.get(urn), key))
        if before != after:
            changes.append(
                IamChange(urn, resource.name, sorted(after - before, key=str), sorted(before - after, key=str))
            )
    return changes


def _document(resource: PlannedResource | None, key: str) -> Any:
    if resource is None:
        return {}
    value = resource.inputs.get(key)
    try:
        return json.loads(value) if isinstance(value, str) else (value or {})
    except json.JSONDecodeError:
        return {}


def output_changes(base: Plan, head: Plan) -> list[FieldChange]:
    before, after = flatten(base.outputs), flatten(head.outputs)
    return [
        FieldChange(p, mask(p, before.get(p)), mask(p, after.get(p)))
        for p in sorted(set(before) | set(after))
        if before.get(p) != after.get(p)
    ]


def diff_plans(base: Plan, head: Plan) -> PlanDiff:
    return PlanDiff(
        stack=head.stack or base.stack,
        changes=resource_changes(base, head),
        gpus_before=gpu_capacity(base),
        gpus_after=gpu_capacity(head),
        iam=iam_changes(base, head),
        outputs=output_changes(base, head),
    )


def policy_changes(diff: PlanDiff, base_report, head_report) -> None:
    """Record the violations the change introduces and those it fixes (same rules run on both plans)."""

    def failed(report) -> dict[tuple[str, str], Any]:
        return {(f.policy, f.resource_urn): f for f in report.of_status("failed")}

    before, after = failed(base_report), failed(head_report)
    diff.new_violations = [
        PolicyChange(f.policy, f.resource_name, f.level, f.message)
        for key, f in sorted(after.items())
        if key not in before
    ]
    diff.fixed_violations = [
        PolicyChange(f.policy, f.resource_name, f.level, f.message)
        for key, f in sorted(before.items())
        if key not in after
    ]
