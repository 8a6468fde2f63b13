"""Tags and labels: the cost tags on every taggable resource, within AWS's limits and GCP's label rules."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pulumi_policy import Severity

from catalog.provider_types import is_taggable, takes
from catalog.tagging import GCP_LABEL_KEY, GCP_LABEL_VALUE, REQUIRED_COST_TAGS, aws_tag_problems
from policies.rules import Rule, Subject, as_list, plain, resource_rule

GCP_MAX_LABELS = 64
GCP_LABEL_PROPERTIES = ("labels", "resourceLabels", "userLabels")
GKE_NODE_POOL = "gcp:container/nodePool:NodePool"
# The properties that must carry the cost labels, and their argument names in the SDK.
_COST_LABELLED = {"labels": "labels", "resourceLabels": "resource_labels"}

_REQUIRED = {"type": "array", "items": {"type": "string"}, "default": list(REQUIRED_COST_TAGS)}
LAUNCH_TEMPLATE = ("aws:ec2/launchTemplate:LaunchTemplate",)
# What an EKS node's launch template creates: the bill of a GPU node is mostly these three.
LAUNCHED_RESOURCE_TYPES = ["instance", "volume", "network-interface"]


def _provider_map(subject: Subject, key: str, inner: str | None = None) -> dict[str, str]:
    """A provider's default tags or labels; provider inputs reach the engine as JSON text."""
    value = subject.provider_props.get(key)
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    value = plain(value) or {}
    return dict(value.get(inner) or {}) if inner else dict(value)


def effective_tags(subject: Subject) -> dict[str, str]:
    """What AWS will store: the provider's default tags, overridden by the resource's own."""
    return {**_provider_map(subject, "defaultTags", "tags"), **(plain(subject.get("tags")) or {})}


def _required_tags(subject: Subject, config) -> Iterable[str]:
    tags = effective_tags(subject)
    missing = [k for k in config["requiredTags"] if not tags.get(k)]
    if missing:
        yield f"missing cost tags {', '.join(missing)} (resource tags merged with the provider's default tags)"


def _add_missing_tags(subject: Subject, config) -> Mapping[str, Any] | None:
    """Safe to fix: add each missing required tag whose value the policy config names."""
    tags = effective_tags(subject)
    additions = {
        k: config["defaultValues"][k]
        for k in config["requiredTags"]
        if not tags.get(k) and k in config["defaultValues"]
    }
    if not additions:
        return None
    return {**plain(subject.props), "tags": {**(plain(subject.get("tags")) or {}), **additions}}


def _tag_limits(subject: Subject, _config) -> Iterable[str]:
    for key, message in aws_tag_problems(effective_tags(subject)):
        yield f"tag {key}: {message}" if key else message


def _launch_template_tags(subject: Subject, config) -> Iterable[str]:
    """Neither the template's own tags nor the provider's default tags reach what it launches: only its tag
    specifications do (and managed node group tags stop at the group)."""
    for kind in config["resourceTypes"]:
        tags: dict[str, str] = {}
        for spec in as_list(subject.get("tagSpecifications")):
            if spec.get("resourceType") == kind:
                tags.update(plain(spec.get("tags")) or {})
        missing = [k for k in config["requiredTags"] if not tags.get(k)]
        if missing:
            yield f"{kind}s launched from the template lack cost tags {', '.join(missing)} (tagSpecifications)"


def _gcp_labels(subject: Subject, config) -> Iterable[str]:
    defaults = _provider_map(subject, "defaultLabels")
    for prop in GCP_LABEL_PROPERTIES:
        labels = _labels(subject.get(prop))
        # The provider's default labels join a resource's labels (GKE's resourceLabels too).
        if prop in _COST_LABELLED and takes(subject.type, _COST_LABELLED[prop]):
            yield from _missing(prop, {**defaults, **(labels or {})}, config)
        yield from _label_rules(prop, labels or {})
    if subject.type == GKE_NODE_POOL:
        # Node VMs and disks get nodeConfig.resourceLabels, which the provider's defaults never reach.
        labels = _labels(subject.get("nodeConfig", "resourceLabels")) or {}
        yield from _missing("nodeConfig.resourceLabels", labels, config)
        yield from _label_rules("nodeConfig.resourceLabels", labels)


def _labels(value: Any) -> dict[str, str] | None:
    value = plain(value)
    return value if isinstance(value, dict) else None


def _missing(prop: str, labels: dict[str, str], config) -> Iterable[str]:
    missing = [k for k in config["requiredLabels"] if not labels.get(k)]
    if missing:
        yield f"missing labels {', '.join(missing)}" + ("" if prop == "labels" else f" in {prop}")


def _label_rules(prop: str, labels: dict[str, str]) -> Iterable[str]:
    if len(labels) > GCP_MAX_LABELS:
        yield f"{prop}: {len(labels)} labels, over GCP's {GCP_MAX_LABELS}"
    for key, value in labels.items():
        if not GCP_LABEL_KEY.match(key):
            yield f"{prop}: key '{key}' must match {GCP_LABEL_KEY.pattern}"
        if not GCP_LABEL_VALUE.match(str(value)):
            yield f"{prop}: value '{value}' of '{key}' must match {GCP_LABEL_VALUE.pattern}"


POLICIES: list[Rule] = [
    resource_rule(
        name="aws-required-tags",
        area="tagging",
        severity=Severity.MEDIUM,
        types=("aws:*",),
        when=is_taggable,
        check=_required_tags,
        remediate=_add_missing_tags,
        config={
            "requiredTags": _REQUIRED,
            "defaultValues": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": {},
                "description": "Values to add for missing tags when the rule remediates.",
            },
        },
        description="Every taggable AWS resource carries the cost tags, directly or from the provider's defaults.",
        controls=("AWS Resource Tagging Standard", "EKS BP Cost awareness: Tagging of Resources"),
        remediation="Set the stack's tags (the platform applies them everywhere); at the remediate level, tags "
        "named in defaultValues are added at deploy time.",
    ),
    resource_rule(
        name="aws-tag-limits",
        area="tagging",
        severity=Severity.MEDIUM,
        types=("aws:*",),
        when=is_taggable,
        check=_tag_limits,
        description="Tags stay within AWS's limits: 50 per resource, key and value lengths, no 'aws:' prefix.",
        controls=("EKS BP Cost awareness: Tagging of Resources",),
        remediation="Shorten or drop tags; keys and values may hold letters, digits, spaces and _ . : / = + - @.",
    ),
    resource_rule(
        name="aws-launch-template-tags",
        area="tagging",
        severity=Severity.MEDIUM,
        types=LAUNCH_TEMPLATE,
        check=_launch_template_tags,
        config={
            "requiredTags": _REQUIRED,
            "resourceTypes": {
                "type": "array",
                "items": {"type": "string"},
                "default": LAUNCHED_RESOURCE_TYPES,
                "description": "Resource types the template must tag at launch.",
            },
        },
        description="Launch templates tag the instances, volumes and network interfaces they launch with the cost "
        "tags.",
        remediation="Give the template one tagSpecification per resource type with the stack's tags "
        "(components/aws/nodepools.py does).",
        controls=("AWS Resource Tagging Standard", "EKS BP Cost awareness: Tagging of Resources"),
    ),
    resource_rule(
        name="gcp-labels",
        area="gcp",
        severity=Severity.MEDIUM,
        types=("gcp:*",),
        check=_gcp_labels,
        when=lambda t: t == GKE_NODE_POOL or any(takes(t, p) for p in ("labels", "resource_labels", "user_labels")),
        config={"requiredLabels": _REQUIRED},
        description="GCP resources carry the cost labels (GKE node pools on their nodes), lowercase and within "
        "GCP's label rules.",
        remediation="Use lowercase keys [a-z][a-z0-9_-] and values [a-z0-9_-], at most 63 characters, 64 labels.",
    ),
]
