"""How a rule of the pack is declared: metadata, the resources it looks at, exemptions, and its check.

A rule's check is a plain function: it receives the resource (or every resource, for a stack rule) and
the rule's config, and yields one message per violation. The helpers here turn it into the
``pulumi_policy`` object the engine calls, the same object whether ``pulumi preview --policy-pack``
or ``rayplat check`` runs it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

AREAS = ("s3", "eks", "nodes", "iam", "network", "kubernetes", "ray", "tagging", "gcp", "databases")

_EXEMPTIONS_SCHEMA = {
    "type": "array",
    "description": "Reviewed exemptions: resources (name glob) this rule does not apply to, each with its reason.",
    "items": {
        "type": "object",
        "properties": {"resource": {"type": "string", "minLength": 1}, "reason": {"type": "string", "minLength": 10}},
        "required": ["resource", "reason"],
        "additionalProperties": False,
    },
    "default": [],
}


@dataclass(frozen=True)
class Subject:
    """The resource a check looks at: its type, name, URN, inputs and options, and its provider's inputs."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    protect: bool
    provider_props: Mapping[str, Any]
    dependencies: tuple[str, ...] = ()

    def get(self, *path: str | int, default: Any = None) -> Any:
        return dig(self.props, *path, default=default)


Check = Callable[[Subject, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[[list[Subject], Mapping[str, Any]], Iterable[tuple[Subject, str]]]
Remediation = Callable[[Subject, Mapping[str, Any]], Mapping[str, Any] | None]


def dig(value: Any, *path: str | int, default: Any = None) -> Any:
    """``value[path[0]][path[1]]...``, or ``default`` where any step is missing."""
    for key in path:
        if isinstance(key, int):
            if not _is_sequence(value) or not -len(value) <= key < len(value):
                return default
            value = value[key]
        else:
            if not isinstance(value, Mapping) or key not in value:
                return default
            value = value[key]
    return default if value is None else value


def plain(value: Any) -> Any:
    """Engine proxies (read-only mappings and sequences) as dicts and lists, whole numbers as ints."""
    if isinstance(value, _LEAVES):  # most values: decided without the slower abstract-class checks below
        return whole(value)
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if _is_sequence(value):
        return [plain(v) for v in value]
    return whole(value)


_LEAVES = (str, bytes, int, float, type(None))


def whole(value: Any) -> Any:
    """Numbers reach policies as floats (protobuf), whatever the program wrote: 4.0 back to 4."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def as_list(value: Any) -> list[Any]:
    """A list of the value's items; a lone value (a string, a mapping) as a list of one."""
    if value is None:
        return []
    return [plain(v) for v in value] if _is_sequence(value) else [plain(value)]


def json_document(value: Any) -> dict[str, Any]:
    """An IAM or bucket policy input: JSON text, or already a mapping."""
    if isinstance(value, str):
        return json.loads(value) if value.strip() else {}
    return plain(value) if isinstance(value, Mapping) else {}


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def exemption_reason(config: Mapping[str, Any], name: str) -> str | None:
    for exemption in as_list(config.get("exemptions")):
        if fnmatch.fnmatchcase(name, exemption["resource"]):
            return exemption["reason"]
    return None


def _schema(properties: Mapping[str, Any] | None) -> PolicyConfigSchema:
    return PolicyConfigSchema(properties={**(properties or {}), "exemptions": _EXEMPTIONS_SCHEMA})


def defaults(schema: PolicyConfigSchema | None) -> dict[str, Any]:
    return {k: v["default"] for k, v in ((schema.properties or {}) if schema else {}).items() if "default" in v}


def _config(schema: PolicyConfigSchema, given: Mapping[str, Any]) -> dict[str, Any]:
    return {**defaults(schema), **plain(given)}


def _provider_props(args: ResourceValidationArgs) -> Mapping[str, Any]:
    return args.provider.props if args.provider is not None else {}


def _subject(args: ResourceValidationArgs) -> Subject:
    return Subject(args.resource_type, args.name, args.urn, args.props, bool(args.opts.protect), _provider_props(args))


def _stack_subject(resource) -> Subject:
    provider = resource.provider.props if resource.provider is not None else {}
    dependencies = tuple(d.urn for d in resource.dependencies)
    return Subject(
        resource.resource_type,
        resource.name,
        resource.urn,
        resource.props,
        bool(resource.opts.protect),
        provider,
        dependencies,
    )


class ResourceRule(ResourceValidationPolicy):
    """A rule judging one resource at a time. ``applies_to`` tells `rayplat check` which resources it judged;
    ``controls`` names the benchmark items (CIS, AWS FSBP, Pod Security Standards, ...) it implements."""

    def __init__(
        self, *, types: Sequence[str], when: Callable[[str], bool] | None, controls: Sequence[str], **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.types = tuple(types)
        self.when = when
        self.controls = tuple(controls)

    def applies_to(self, resource_type: str) -> bool:
        return type_matches(resource_type, self.types) and (self.when is None or self.when(resource_type))


class StackRule(StackValidationPolicy):
    """A rule judging resources of ``types`` against others of the stack; ``reads`` is every type it looks at."""

    def __init__(self, *, types: Sequence[str], reads: Sequence[str], controls: Sequence[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.types = tuple(types)
        self.reads = (*types, *reads)
        self.controls = tuple(controls)

    def applies_to(self, resource_type: str) -> bool:
        return type_matches(resource_type, self.types)


Rule = ResourceRule | StackRule


def resource_rule(
    *,
    name: str,
    area: str,
    description: str,
    severity: Severity,
    remediation: str,
    types: Sequence[str],
    check: Check,
    config: Mapping[str, Any] | None = None,
    remediate: Remediation | None = None,
    enforcement: EnforcementLevel | None = None,
    when: Callable[[str], bool] | None = None,
    controls: Sequence[str] = (),
) -> ResourceRule:
    """A rule for resources of ``types`` (a ``*`` suffix matches a prefix) for which ``when(type)`` holds."""
    schema = _schema(config)
    policy: ResourceRule

    def applies(args: ResourceValidationArgs) -> dict[str, Any] | None:
        if not policy.applies_to(args.resource_type):
            return None
        settings = _config(schema, args.get_config())
        reason = exemption_reason(settings, args.name)
        if reason is not None:
            args.not_applicable(f"exempt: {reason}")
        return settings

    def validate(args: ResourceValidationArgs, report_violation) -> None:
        settings = applies(args)
        if settings is not None:
            for message in evaluated(lambda: list(check(_subject(args), settings))):
                report_violation(message, None)

    def fix(args: ResourceValidationArgs) -> Any:
        settings = applies(args)
        if settings is None or remediate is None:
            return None
        try:
            return remediate(_subject(args), settings)
        except Exception:  # noqa: BLE001 - a resource the fix cannot read is left as it is; validate reports it
            return None

    policy = ResourceRule(
        types=types,
        when=when,
        controls=controls,
        name=name,
        description=description,
        validate=validate,
        remediate=fix if remediate else None,
        enforcement_level=enforcement,
        config_schema=schema,
        severity=severity,
        tags=[area],
        remediation_steps=remediation,
    )
    return policy


def stack_rule(
    *,
    name: str,
    area: str,
    description: str,
    severity: Severity,
    remediation: str,
    types: Sequence[str],
    check: StackCheck,
    reads: Sequence[str] = (),
    config: Mapping[str, Any] | None = None,
    enforcement: EnforcementLevel | None = None,
    controls: Sequence[str] = (),
) -> StackRule:
    """A rule judging resources of ``types`` against the rest of the stack (a bucket against its policy).
    ``reads`` names the other types its check looks at."""
    schema = _schema(config)

    def validate(args: StackValidationArgs, report_violation) -> None:
        settings = _config(schema, args.get_config())
        subjects = [_stack_subject(r) for r in args.resources]
        try:
            findings = list(check(subjects, settings))
        except UnknownValueError:
            raise
        except Exception as error:  # noqa: BLE001 - see evaluated(): each resource the rule judges gets it
            findings = [(s, _unevaluated(error)) for s in subjects if type_matches(s.type, types)]
        for subject, message in findings:
            if exemption_reason(settings, subject.name) is None:
                report_violation(message, subject.urn)

    return StackRule(
        types=types,
        reads=reads,
        controls=controls,
        name=name,
        description=description,
        validate=validate,
        enforcement_level=enforcement,
        config_schema=schema,
        severity=severity,
        tags=[area],
        remediation_steps=remediation,
    )


def evaluated(run: Callable[[], list[str]]) -> list[str]:
    """A check's messages; a check that fails on an input of a shape it did not expect (a string where it
    reads a mapping, say) reports that as one violation instead of raising: the resource is not judged
    compliant, and the preview goes on to the other rules."""
    try:
        return run()
    except UnknownValueError:
        raise  # a value only `up` knows: the engine reports the rule as not run during preview
    except Exception as error:  # noqa: BLE001 - any other failure of a check is a finding, never a crash
        return [_unevaluated(error)]


def _unevaluated(error: Exception) -> str:
    return f"could not evaluate: {type(error).__name__}: {error}"


def type_matches(resource_type: str, types: Iterable[str]) -> bool:
    return any(resource_type.startswith(t[:-1]) if t.endswith("*") else resource_type == t for t in types)


def of_type(subjects: Iterable[Subject], types: Iterable[str]) -> list[Subject]:
    return [s for s in subjects if type_matches(s.type, types)]


def depending_on(subjects: Iterable[Subject], target: Subject, types: Sequence[str]) -> list[Subject]:
    """Resources of ``types`` that depend on ``target`` (a bucket's policy, its encryption, ...)."""
    return [s for s in of_type(subjects, types) if target.urn in s.dependencies]
