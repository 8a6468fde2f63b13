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
from catalog.karpenter import NODEPOOL_TYPE, nodepool_gpu_limit
from catalog.labels import POOL_LABEL
from rayplat.diff.cost import CostChange, cost_change
from rayplat.diff.policyconfig import RuleConfigChange
from rayplat.diff.replacements import forcing_fields, forcing_inputs, matches
from rayplat.plan import Plan, PlannedResource
from rayplat.plan.engine import SECRET

KNOWN_AFTER_APPLY = "(known after apply)"
_SENSITIVE = ("password", "secret", "token", "kubeconfig", "privatekey", "private_key")
# Settings named like a secret that are not one (IMDSv2's httpTokens is "required" or "optional").
_NOT_SECRET = ("httptokens",)

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
    "gcp:kms/keyRing:KeyRing",
    "gcp:container/cluster:Cluster",
)
IAM_DOCUMENTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}

# GCP IAM grants: the input naming what they grant on (a member or a binding's members, a role, a condition).
GCP_IAM_TARGETS = {
    "gcp:projects/iAMMember:IAMMember": "project",
    "gcp:projects/iAMBinding:IAMBinding": "project",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "bucket",
    "gcp:storage/bucketIAMBinding:BucketIAMBinding": "bucket",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "cryptoKeyId",
    "gcp:kms/cryptoKeyIAMBinding:CryptoKeyIAMBinding": "cryptoKeyId",
    "gcp:kms/keyRingIAMMember:KeyRingIAMMember": "keyRingId",
    "gcp:serviceaccount/iAMMember:IAMMember": "serviceAccountId",
    "gcp:serviceaccount/iAMBinding:IAMBinding": "serviceAccountId",
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
        # A trust policy names no resource: it says who may assume the role.
        on = f" on {self.resource}" if self.resource != "-" else ""
        who = f" to {self.principal}" if self.principal else ""
        when = f" when {self.condition}" if self.condition else ""
        return f"{self.effect} {self.action}{on}{who}{when}"


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
    rule_changes: list[RuleConfigChange] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cost: CostChange | None = None
    # GPU pools moved between node groups and Karpenter NodePools: (pool, before, after).
    provisioners: list[tuple[str, str, str]] = field(default_factory=list)

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
        return not self.changes and not self.outputs and not self.rule_changes

    @property
    def rules_to_review(self) -> list[RuleConfigChange]:
        return [c for c in self.rule_changes if c.must_review]


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
    sensitive = leaf not in _NOT_SECRET and any(word in leaf for word in _SENSITIVE)
    return SECRET if value is not None and sensitive else value


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
    # An absent side (a create's before, a delete's after) has no fields, not one empty field.
    before = flatten(_expand_json(old, resource_type)) if old else {}
    after = flatten(_expand_json(new, resource_type)) if new else {}
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
    fields = forcing_fields(resource_type)
    return sorted({prefix for change in changes for prefix in fields if matches(change.path, prefix)})


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
    return cascade(changes, old, new)


def cascade(
    changes: list[ResourceChange], old: Mapping[str, PlannedResource], new: Mapping[str, PlannedResource]
) -> list[ResourceChange]:
    """A replaced resource gets new outputs (id, ARN, name): a resource whose replace-forcing input came from
    it (the plan's ``propertyDependencies``) is replaced too, and so on down the graph."""
    by_urn = {c.urn: c for c in changes}
    replaced = {c.urn for c in changes if c.action == "replace"}
    grown = True
    while grown:
        grown = False
        for urn, resource in new.items():
            current = by_urn.get(urn)
            if urn not in old or not resource.custom or (current and current.action != "update"):
                continue
            reasons = _cascade_reasons(resource, replaced, new)
            if not reasons:
                continue
            if current is None:
                current = by_urn[urn] = ResourceChange(
                    "replace", urn, resource.type, resource.name, _component(resource, new)
                )
                current.retained, current.protected = old[urn].retainOnDelete, old[urn].protect
            current.action, current.replace_reasons = "replace", sorted({*current.replace_reasons, *reasons})
            replaced.add(urn)
            grown = True
    fresh = replaced | {c.urn for c in changes if c.action == "create"}
    return [_unknown_outputs(by_urn[urn], new, fresh) for urn in sorted(by_urn)]


def _unknown_outputs(change: ResourceChange, new: Mapping[str, PlannedResource], fresh: set[str]) -> ResourceChange:
    """An input that takes another resource's output (an ID, an ARN, a generated name) is not known before
    `pulumi up` when that resource is new or replaced, and in a create the offline plan's value for it is
    the mock engine's invention: both show as "(known after apply)", never as a real-looking identifier.
    Documents built from such outputs (policies) keep their fields, so a reviewer still reads the grants."""
    resource = new.get(change.urn)
    if resource is None or not resource.propertyDependencies:
        return change
    dependencies = resource.propertyDependencies
    unknown = set(dependencies) if change.action == "create" else {p for p, u in dependencies.items() if set(u) & fresh}
    change.fields = [
        FieldChange(f.path, f.old, KNOWN_AFTER_APPLY) if _fed_by_output(f.path, unknown, change.type) else f
        for f in change.fields
    ]
    return change


def _fed_by_output(path: str, inputs: set[str], resource_type: str) -> bool:
    document = IAM_DOCUMENTS.get(resource_type)
    return any(matches(path, name) for name in inputs if name != document)


def _cascade_reasons(resource: PlannedResource, replaced: set[str], new: Mapping[str, PlannedResource]) -> list[str]:
    return [
        f"{prop} (from replaced {new[urn].name if urn in new else urn})"
        for prop, urns in sorted(resource.propertyDependencies.items())
        if forcing_inputs(resource.type, prop)
        for urn in sorted(set(urns) & replaced)
    ]


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
    # `pulumi up` leaves a field the program ignores as it is in the cloud: no update.
    fields = field_changes(before.inputs, after.inputs, after.type)
    fields = [f for f in fields if not any(matches(f.path, ignored) for ignored in after.ignoreChanges)]
    change.fields = fields + option_changes(before, after)
    if not change.fields:
        return None
    change.replace_reasons = replace_reasons(after.type, change.fields)
    change.action = "replace" if change.replace_reasons else "update"
    change.retained, change.protected = before.retainOnDelete, before.protect
    return change


def gpu_capacity(plan: Plan) -> dict[str, int]:
    """Max GPUs per GPU pool: node groups' maxSize by the instance catalogue, Karpenter NodePools' GPU limit."""
    return pool_gpu_capacity((r.type, r.name, r.inputs) for r in plan.resources)


def pool_gpu_capacity(resources: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[str, int]:
    """Max GPUs per GPU pool (pool name from its label) of (type, name, inputs) resources: a managed node
    group holds maxSize nodes of its largest GPU type; a Karpenter NodePool holds its ``nvidia.com/gpu`` limit."""
    capacity = {}
    for type_, name, inputs in resources:
        if type_ == "aws:eks/nodeGroup:NodeGroup":
            gpus = gpus_per_node(inputs.get("instanceTypes", []))
            if gpus:
                pool = inputs.get("labels", {}).get(POOL_LABEL, name)
                capacity[pool] = max_gpus(int(inputs.get("scalingConfig", {}).get("maxSize", 0)), gpus)
        elif type_ == NODEPOOL_TYPE and (limit := nodepool_gpu_limit(inputs)) is not None:
            labels = inputs.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
            capacity[labels.get(POOL_LABEL, name)] = limit
    return capacity


def pool_provisioners(plan: Plan) -> dict[str, str]:
    """What buys each GPU pool's nodes: a managed node group or a Karpenter NodePool, by pool name."""
    kinds = {"aws:eks/nodeGroup:NodeGroup": "managed node group", NODEPOOL_TYPE: "Karpenter NodePool"}
    return {
        pool: kinds[r.type]
        for r in plan.resources
        if r.type in kinds
        for pool in pool_gpu_capacity([(r.type, r.name, r.inputs)])
    }


def provisioner_changes(base: Plan, head: Plan) -> list[tuple[str, str, str]]:
    """(pool, before, after) for each GPU pool whose provisioner changes: a deliberate replacement."""
    before, after = pool_provisioners(base), pool_provisioners(head)
    return [
        (pool, before[pool], after[pool]) for pool in sorted(set(before) & set(after)) if before[pool] != after[pool]
    ]


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


def gcp_grants(resource: PlannedResource | None) -> set[Grant]:
    """A GCP IAM member's or binding's grants: each member gets the role on the target."""
    if resource is None:
        return set()
    inputs = resource.inputs
    target = str(inputs.get(GCP_IAM_TARGETS[resource.type], "-"))
    members = as_list(inputs.get("members")) + as_list(inputs.get("member"))
    condition = _compact(inputs["condition"]) if inputs.get("condition") else ""
    return {Grant("Allow", str(m), str(inputs.get("role", "(none)")), target, condition) for m in members}


def _grants_of(resource: PlannedResource | None, resource_type: str) -> set[Grant] | None:
    if resource_type in GCP_IAM_TARGETS:
        return gcp_grants(resource)
    key = IAM_DOCUMENTS.get(resource_type)
    return None if key is None else grants(_document(resource, key))


def iam_changes(base: Plan, head: Plan) -> list[IamChange]:
    """Grants added and removed: AWS policy documents statement by statement, GCP IAM members and bindings
    (a new member, a broader role or member shows as a grant added)."""
    old, new = base.by_urn(), head.by_urn()
    changes = []
    for urn in sorted(set(old) | set(new)):
        resource = new.get(urn) or old[urn]
        before, after = _grants_of(old.get(urn), resource.type), _grants_of(new.get(urn), resource.type)
        if before is None or after is None:
            continue
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
    warnings = []
    if base.stack and head.stack and base.stack != head.stack:
        warnings.append(
            f"the base plan is of stack `{base.stack}` and the head plan of stack `{head.stack}`: "
            "this compares two different stacks, not one stack before and after a change"
        )
    return PlanDiff(
        warnings=warnings,
        stack=head.stack or base.stack,
        changes=resource_changes(base, head),
        gpus_before=gpu_capacity(base),
        gpus_after=gpu_capacity(head),
        iam=iam_changes(base, head),
        outputs=output_changes(base, head),
        cost=cost_change(base, head),
        provisioners=provisioner_changes(base, head),
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
