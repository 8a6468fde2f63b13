"""Run a stack's real Pulumi program on the SDK's mock engine and record every registered resource.

Nothing here is seen by the program: it reads its config through ``pulumi.Config`` and registers
resources as it would under ``pulumi up``. The recording monitor sees each whole ``RegisterResource``
request (parent, provider, dependencies, protect, retainOnDelete), which ``Mocks`` alone cannot.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks, rpc
from pulumi.runtime.stack import Stack, massage, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from rayplat import PROJECT_ROOT
from rayplat.plan import mockvalues
from stackconfig.base import describe_value
from stackconfig.errors import ConfigError
from stackconfig.loading import PROJECT, project_keys

SECRET = "[secret]"
STACKS_DIR = PROJECT_ROOT / "stacks"
PROGRAM = PROJECT_ROOT / "infra" / "__main__.py"


@dataclass
class PlannedResource:
    """One resource, in the shape of a ``pulumi stack export`` resource."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    dependencies: list[str]
    inputs: dict[str, Any]
    protect: bool
    retainOnDelete: bool  # noqa: N815 (the name `pulumi stack export` uses)
    # Input property -> the URNs of the resources its value came from (absent in plans of older versions).
    propertyDependencies: dict[str, list[str]] = field(default_factory=dict)  # noqa: N815
    # Input paths the program tells the engine to ignore changes of (`ignore_changes`).
    ignoreChanges: list[str] = field(default_factory=list)  # noqa: N815


@dataclass
class Plan:
    stack: str
    project: str
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "project": self.project,
            "resources": [asdict(r) for r in self.resources],
            "outputs": self.outputs,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")

    @classmethod
    def read(cls, path: Path) -> Plan:
        """A plan written by :meth:`write` (``rayplat plan --json``)."""
        try:
            document = json.loads(path.read_text())
            resources = [PlannedResource(**r) for r in document["resources"]]
            return cls(document["stack"], document["project"], resources, document.get("outputs", {}))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path} is not a plan written by `rayplat plan --json` ({exc!r})") from None

    def of_type(self, type_: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, PlannedResource]:
        return {r.urn: r for r in self.resources}


def _plain(value: Any) -> Any:
    """Wire values as a reader expects them: secrets masked, integral floats back to ints."""
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, site: mockvalues.Site):
        self.site = site

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return mockvalues.resource_outputs(args.typ, args.name, args.inputs, self.site)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return mockvalues.call_outputs(args.token, args.args, self.site), []


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mock: _Mocks):
        super().__init__(mock)
        self.recorded: list[PlannedResource] = []
        self._urns: set[str] = set()

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        if response.urn in self._urns:
            raise ValueError(f"duplicate resource URN {response.urn}: two resources share a type and name")
        self._urns.add(response.urn)
        self.recorded.append(
            PlannedResource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=request.custom,
                parent=request.parent,
                provider=request.provider,
                dependencies=sorted(request.dependencies),
                inputs=_plain(rpc.deserialize_properties(request.object)),
                protect=bool(request.protect),
                retainOnDelete=bool(request.retainOnDelete),
                propertyDependencies=_property_dependencies(request),
                ignoreChanges=list(request.ignoreChanges),
            )
        )
        return response


def _property_dependencies(request: Any) -> dict[str, list[str]]:
    """The inputs whose values came from other resources, as ``pulumi stack export`` records them."""
    found = {key: sorted(set(deps.urns)) for key, deps in request.propertyDependencies.items()}
    return {key: urns for key, urns in sorted(found.items()) if urns}


def read_stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, str]:
    """A stack file's config as the Pulumi engine hands it to a program: flat keys, objects as JSON."""
    path = stacks_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in stacks_dir.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(f"no stack '{stack}': {path} does not exist (stacks: {', '.join(known) or 'none'})")
    source = f"stack file {path}"
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc)], source) from None
    return stack_document_config(document, source)


def stack_document_config(document: Any, source: str = "stack file") -> dict[str, str]:
    """The ``config:`` of a parsed stack file, flattened as the Pulumi engine hands it to a program."""
    if document is None:
        return {}
    if not isinstance(document, dict):
        found = describe_value(document)
        raise ConfigError([f"(top level): must be a mapping with a `config:` key, not {found}"], source)
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        found = describe_value(config)
        raise ConfigError([f"config: must be a mapping of `{PROJECT}:<key>: <value>`, not {found}"], source)
    bad_keys = [key for key in config if not isinstance(key, str)]
    if bad_keys:
        raise ConfigError([f"config.{key}: must be a string such as `{PROJECT}:cloud`" for key in bad_keys], source)
    return {key: _config_value(value) for key, value in config.items()}


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"
    return f"{where}: {problem}" + (f" ({context})" if context else "")


def _config_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)  # a YAML date inside becomes its text
    return str(value)


def _site(config: dict[str, str]) -> mockvalues.Site:
    """Region (and GCP project) from the stack's own cloud section, for computed names and ARNs."""
    keys = project_keys(config)
    for cloud in ("aws", "gcp"):
        section = keys.get(cloud)
        if isinstance(section, dict) and isinstance(section.get("region"), str):
            project = section.get("project")
            return mockvalues.Site(section["region"], project if isinstance(project, str) else "rayplat-plan")
    return mockvalues.Site(region="us-east-1")


def run_program(stack: str, config: dict[str, str], program: Path) -> Plan:
    """Evaluate ``program`` as stack ``stack`` with ``config`` on the mock engine; return what it registered."""

    def evaluate() -> None:
        runpy.run_path(str(program), run_name="__main__")

    return run_function(stack, config, evaluate)


def run_function(stack: str, config: dict[str, str], build: Callable[[], None]) -> Plan:
    """Run ``build`` (a program, or one component built alone) on the mock engine; return what it registered."""
    mock = _Mocks(_site(config))
    monitor = _RecordingMonitor(mock)
    # A fresh root stack: set_mocks keeps an existing one, and with it the last plan's outputs.
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mock, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(config)
    root = pulumi.runtime.settings.get_root_resource()
    assert isinstance(root, Stack), "set_mocks creates the root stack"

    _sync_await(run_pulumi_func(build))
    # Registration order depends on when outputs resolve; URN order makes plans reproducible.
    resources = sorted(monitor.recorded, key=lambda r: r.urn)
    return Plan(stack=stack, project=PROJECT, resources=resources, outputs=_resolve_outputs(root.outputs))


def _resolve_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    resolved = {}
    for name, value in outputs.items():
        output = pulumi.Output.from_input(massage(value, []))
        secret = _sync_await(output.is_secret())
        resolved[name] = SECRET if secret else _plain(_sync_await(output.future()))
    return resolved


def plan_stack(stack: str, stacks_dir: Path = STACKS_DIR) -> Plan:
    """The offline plan of ``<stacks_dir>/Pulumi.<stack>.yaml``."""
    return run_program(stack, read_stack_config(stack, stacks_dir), PROGRAM)
