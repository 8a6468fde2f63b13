"""Run the policy pack on an offline plan through the same analyzer the Pulumi engine talks to.

``pulumi preview --policy-pack policies`` starts the pack's gRPC analyzer and sends it ``Configure``,
``Remediate``, ``Analyze`` (per resource) and ``AnalyzeStack``. Here the very same analyzer object is
called in-process with the same requests, built from the plan, so props are wrapped, unknown values
and ``not_applicable`` handled, and enforcement levels applied exactly as in a real preview. What the
CLI does before that (merging the policy config file over the pack's defaults, validating it against
each policy's schema) is done by :func:`resolve_config`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from google.protobuf import json_format, struct_pb2
from jsonschema.protocols import Validator
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.policy import _PolicyAnalyzerServicer

from policies import ALL_POLICIES, PACK_NAME
from policies.rules import ResourceRule, StackRule, defaults, exemption_reason, type_matches
from rayplat import PROJECT_ROOT
from rayplat.plan import Plan, PlannedResource

PACK_VERSION = "0.1.0"
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
_LEVELS = {level.value: level for level in EnforcementLevel}
_PROTO_LEVELS = {
    proto.ADVISORY: EnforcementLevel.ADVISORY,
    proto.MANDATORY: EnforcementLevel.MANDATORY,
    proto.REMEDIATE: EnforcementLevel.REMEDIATE,
    proto.DISABLED: EnforcementLevel.DISABLED,
}


class PolicyConfigError(ValueError):
    """The policy config file names an unknown policy, a bad level, or values its schema refuses."""


@dataclass(frozen=True)
class Setting:
    level: EnforcementLevel
    properties: dict[str, Any]


@dataclass(frozen=True)
class Finding:
    policy: str
    resource_urn: str
    resource_name: str
    resource_type: str
    status: str
    level: str
    message: str = ""


@dataclass
class CheckReport:
    stack: str
    policies: Sequence[Policy]
    settings: dict[str, Setting]
    findings: list[Finding] = field(default_factory=list)
    remediations: list[Finding] = field(default_factory=list)

    def of_status(self, status: str) -> list[Finding]:
        return [f for f in self.findings if f.status == status]

    @property
    def mandatory_failures(self) -> list[Finding]:
        return [f for f in self.of_status(FAILED) if f.level == EnforcementLevel.MANDATORY.value]

    def summary(self) -> dict[str, int]:
        counts = {status: len(self.of_status(status)) for status in (PASSED, FAILED, SKIPPED)}
        return {
            **counts,
            "mandatoryFailures": len(self.mandatory_failures),
            "remediations": len(self.remediations),
            "policies": len(self.policies),
        }


def policy_config_path(stack: str, project_dir: Path = PROJECT_ROOT) -> Path:
    return project_dir / "policies" / "config" / f"{stack}.json"


def load_policy_config(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {}
    return json.loads(path.read_text())


def resolve_config(policies: Sequence[Policy], given: Mapping[str, Any]) -> dict[str, Setting]:
    """Each policy's enforcement level and properties, resolved the way the Pulumi CLI resolves a
    ``--policy-pack-config`` file: a policy's own entry, else ``all``, else the policy's level, else advisory;
    properties are the schema's defaults overlaid by the file, validated against the schema."""
    names = {p.name for p in policies}
    unknown = sorted(set(given) - names - {"all"})
    if unknown:
        raise PolicyConfigError(f"unknown policies in the policy config: {', '.join(unknown)}")
    default_level = _level(given.get("all"), "all") if "all" in given else None
    settings = {}
    for policy in policies:
        entry = given.get(policy.name, {})
        entry = {"enforcementLevel": entry} if isinstance(entry, str) else dict(entry)
        level = _level(entry.pop("enforcementLevel", None), policy.name) or default_level
        level = level or policy.enforcement_level or EnforcementLevel.ADVISORY
        properties = {**defaults(policy.config_schema), **entry}
        _validate(policy, properties)
        settings[policy.name] = Setting(level, properties)
    return settings


def _level(value: str | None, where: str) -> EnforcementLevel | None:
    if value is None:
        return None
    if value not in _LEVELS:
        raise PolicyConfigError(f"{where}: enforcement level '{value}' is not one of {', '.join(_LEVELS)}")
    return _LEVELS[value]


def _validate(policy: Policy, properties: dict[str, Any]) -> None:
    schema = policy.config_schema
    document = {"type": "object", "properties": schema.properties if schema else {}, "additionalProperties": False}
    error = jsonschema.exceptions.best_match(
        _checked_validator(json.dumps(document, sort_keys=True)).iter_errors(properties)
    )
    if error is not None:
        path = ".".join(str(p) for p in error.absolute_path) or "(config)"
        raise PolicyConfigError(f"{policy.name}.{path}: {error.message}")


@functools.cache
def _checked_validator(document: str) -> Validator:
    """``jsonschema.validate`` checks the schema itself on every call: each policy's schema is checked once."""
    schema = json.loads(document)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    json_format.ParseDict(json.loads(json.dumps(values)), struct)
    return struct


class _Analyzer:
    """The pack's analyzer, configured, with the plan's resources turned into its requests.

    The engine's analyzer runs every policy on every resource, and each policy deserializes the resource
    again. Policies that do not apply to a type only return, so here each resource type gets an analyzer
    holding just the policies that apply to it, and the stack analyzer sees just the types the stack
    rules read: the same callbacks on the same inputs, without the wasted work (see tests).
    """

    def __init__(self, plan: Plan, settings: dict[str, Setting]):
        self.settings = settings
        self.by_urn = plan.by_urn()
        self._servicers: dict[str, _PolicyAnalyzerServicer | None] = {}
        self._providers: dict[str, proto.AnalyzerProviderResource | None] = {}
        stack_policies = [p for p in ALL_POLICIES if isinstance(p, StackRule)]
        self.stack_servicer = self._servicer(stack_policies)
        self.stack_reads = {t for p in stack_policies for t in p.reads}

    def _servicer(self, policies: Sequence[Policy]) -> _PolicyAnalyzerServicer:
        servicer = _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, list(policies), EnforcementLevel.ADVISORY)
        levels = {p.name: servicer._map_enforcement_level(self.settings[p.name].level) for p in policies}
        servicer.Configure(
            proto.ConfigureAnalyzerRequest(
                policyConfig={
                    p.name: proto.PolicyConfig(
                        enforcementLevel=levels[p.name], properties=_struct(self.settings[p.name].properties)
                    )
                    for p in policies
                }
            ),
            None,
        )
        return servicer

    def servicer_for(self, resource_type: str) -> _PolicyAnalyzerServicer | None:
        """The analyzer of the resource policies that apply to this type (None when none does)."""
        if resource_type not in self._servicers:
            policies = [p for p in ALL_POLICIES if isinstance(p, ResourceRule) and p.applies_to(resource_type)]
            self._servicers[resource_type] = self._servicer(policies) if policies else None
        return self._servicers[resource_type]

    def provider(self, resource: PlannedResource) -> proto.AnalyzerProviderResource | None:
        urn = resource.provider.rsplit("::", 1)[0] if resource.provider else ""
        if urn not in self._providers:
            provider = self.by_urn.get(urn)
            self._providers[urn] = (
                None
                if provider is None
                else proto.AnalyzerProviderResource(
                    type=provider.type, properties=_struct(provider.inputs), urn=provider.urn, name=provider.name
                )
            )
        return self._providers[urn]

    def request(self, resource: PlannedResource, inputs: Mapping[str, Any]) -> proto.AnalyzeRequest:
        return proto.AnalyzeRequest(
            type=resource.type,
            properties=_struct(inputs),
            urn=resource.urn,
            name=resource.name,
            options=proto.AnalyzerResourceOptions(protect=resource.protect, parent=resource.parent),
            provider=self.provider(resource),
        )

    def stack_request(self, resources: Iterable[tuple[PlannedResource, Mapping[str, Any]]]):
        return proto.AnalyzeStackRequest(
            resources=[
                proto.AnalyzerResource(
                    type=r.type,
                    properties=_struct(inputs),
                    urn=r.urn,
                    name=r.name,
                    options=proto.AnalyzerResourceOptions(protect=r.protect, parent=r.parent),
                    provider=self.provider(r),
                    parent=r.parent,
                    dependencies=r.dependencies,
                    propertyDependencies={
                        key: proto.AnalyzerPropertyDependencies(urns=urns)
                        for key, urns in r.propertyDependencies.items()
                    },
                )
                for r, inputs in resources
                if type_matches(r.type, self.stack_reads)
            ]
        )


def check_plan(plan: Plan, policy_config: Mapping[str, Any]) -> CheckReport:
    """Every policy against every resource it applies to: passed, failed or skipped, with the reason."""
    settings = resolve_config(ALL_POLICIES, policy_config)
    report = CheckReport(stack=plan.stack, policies=ALL_POLICIES, settings=settings)
    analyzer = _Analyzer(plan, settings)
    analyzed = []
    for resource in plan.resources:
        servicer = analyzer.servicer_for(resource.type)
        inputs = _remediate(servicer, analyzer, resource, report) if servicer else resource.inputs
        analyzed.append((resource, inputs))
        if servicer is not None:
            response = servicer.Analyze(analyzer.request(resource, inputs), None)
            report.findings += _resource_findings(resource, response, settings)
    response = analyzer.stack_servicer.AnalyzeStack(analyzer.stack_request(analyzed), None)
    report.findings += _stack_findings(plan.resources, response, settings)
    return report


def _remediate(servicer, analyzer: _Analyzer, resource: PlannedResource, report: CheckReport) -> Mapping[str, Any]:
    """Apply remediations first, as the engine does; analysis then sees the remediated inputs."""
    if not any(s.level == EnforcementLevel.REMEDIATE for s in report.settings.values()):
        return resource.inputs
    inputs = resource.inputs
    for remediation in servicer.Remediate(analyzer.request(resource, inputs), None).remediations:
        if remediation.HasField("properties"):
            inputs = json_format.MessageToDict(remediation.properties)
            report.remediations.append(
                Finding(
                    remediation.policyName,
                    resource.urn,
                    resource.name,
                    resource.type,
                    "remediated",
                    EnforcementLevel.REMEDIATE.value,
                    "fixed at deploy time by the policy's remediation",
                )
            )
    return inputs


def _resource_findings(resource: PlannedResource, response, settings: dict[str, Setting]) -> list[Finding]:
    failures = _by_key(response.diagnostics, lambda d: d.policyName)
    not_applicable = {n.policy_name: n.reason for n in response.not_applicable}
    findings = []
    for policy in ALL_POLICIES:
        if isinstance(policy, StackRule) or not policy.applies_to(resource.type):
            continue
        findings.append(_finding(policy, resource, settings, failures.get(policy.name), not_applicable))
    return findings


def _stack_findings(resources: list[PlannedResource], response, settings: dict[str, Setting]) -> list[Finding]:
    failures = _by_key(response.diagnostics, lambda d: (d.policyName, d.urn))
    findings = []
    for policy in ALL_POLICIES:
        if not isinstance(policy, StackRule):
            continue
        for resource in resources:
            if policy.applies_to(resource.type):
                reason = exemption_reason(settings[policy.name].properties, resource.name)
                skipped = {policy.name: f"exempt: {reason}"} if reason else {}
                findings.append(
                    _finding(policy, resource, settings, failures.get((policy.name, resource.urn)), skipped)
                )
    return findings


def _by_key(diagnostics, key) -> dict[Any, list]:
    grouped: dict[Any, list] = {}
    for diagnostic in diagnostics:
        grouped.setdefault(key(diagnostic), []).append(diagnostic)
    return grouped


def _finding(policy: Policy, resource: PlannedResource, settings, diagnostics, not_applicable) -> Finding:
    level = settings[policy.name].level
    where = (policy.name, resource.urn, resource.name, resource.type)
    if level == EnforcementLevel.DISABLED:
        return Finding(*where, SKIPPED, level.value, "disabled in the policy config")
    if policy.name in not_applicable:
        return Finding(*where, SKIPPED, level.value, not_applicable[policy.name] or "not applicable")
    if not diagnostics:
        return Finding(*where, PASSED, level.value)
    if diagnostics[0].message.startswith("can't run policy"):
        # A value the policy reads is unknown until apply (as in a real preview): not judged.
        return Finding(*where, SKIPPED, level.value, diagnostics[0].message)
    reported = _PROTO_LEVELS[diagnostics[0].enforcementLevel].value
    # The engine prefixes each violation with the policy's description; keep the specific part.
    message = "; ".join(d.message.split("\n", 1)[-1] for d in diagnostics)
    return Finding(*where, FAILED, reported, message)
