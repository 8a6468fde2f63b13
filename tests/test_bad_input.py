"""Bad input is refused plainly: a wrong value anywhere in a stack file is a ConfigError whose problems name
key paths, never another exception; the CLI shows every problem whole, exits 2, and prints no traceback."""

from __future__ import annotations

import copy
import datetime
import json
import re
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.settings import get_monitor
from rich.console import Console
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.check.engine import CheckReport, Finding
from rayplat.check.reports import print_text
from rayplat.cli import app
from rayplat.plan import run_program
from rayplat.plan.engine import PROGRAM, stack_document_config
from stackconfig.errors import ConfigError, model_at
from stackconfig.loading import parse_config, project_keys
from stackconfig.platform import PlatformConfig
from tests.conftest import STACKS

PREFIX = "ray-platform:"
WRONG_VALUES: dict[str, Any] = {
    "a list": ["x"],
    "a mapping": {"k": "v"},
    "a string": "text",
    "an integer": 7,
    "a float": 2.5,
    "a boolean": True,
    "null": None,
    "an empty string": "",
    "an empty list": [],
    "an empty mapping": {},
    "a date": datetime.date(2026, 1, 1),
}
DELETE = object()
Path = tuple[str | int, ...]
# A key path as problems print it: `gpuPools[0].labels.kubernetes.io/os`, or the stack file's own lines.
KEY_PATH = re.compile(r"^(\(top level\)|[A-Za-z][\w./:-]*(\[\d+\][\w./:-]*)*): \S")

runner = CliRunner()


def _document(stack: str) -> dict[str, Any]:
    return yaml.safe_load((PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())


def _present_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    """Every key path below ``value``: mapping keys and list indexes, containers and leaves."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield (*path, key)
        yield from _present_paths(inner, (*path, key))


def _absent_paths(config: dict[str, Any]) -> Iterator[Path]:
    """The keys the models know but the stack leaves out, under every mapping the stack has."""
    yield from ((f"{PREFIX}{k}",) for k in _aliases(PlatformConfig) if f"{PREFIX}{k}" not in config)
    for path in _present_paths(config):
        value = _get(config, path)
        model = model_at((str(path[0]).removeprefix(PREFIX), *path[1:]))
        if model is not None and isinstance(value, dict):
            yield from ((*path, key) for key in _aliases(model) if key not in value)


def _aliases(model: Any) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _get(document: Any, path: Path) -> Any:
    for key in path:
        document = document[key]
    return document


def _mutated(config: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    config = copy.deepcopy(config)
    parent = _get(config, path[:-1])
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = copy.deepcopy(value)
    return config


def _load(config: Any) -> PlatformConfig:
    """A stack file's parsed document through the loader, as `rayplat plan` and `pulumi up` read it."""
    return parse_config(project_keys(stack_document_config({"config": config})))


_documents: dict[str, dict[str, Any]] = {}


def _document_config(stack: str) -> dict[str, Any]:
    if stack not in _documents:
        _documents[stack] = _document(stack)["config"]
    return _documents[stack]


def _cases() -> Iterator[tuple[str, Path, str, Any]]:
    for stack in STACKS:
        config = _document_config(stack)
        for path in _present_paths(config):
            yield stack, path, "deleted", DELETE
            for name, value in WRONG_VALUES.items():
                yield stack, path, name, value
        for path in _absent_paths(config):
            for name, value in WRONG_VALUES.items():
                yield stack, path, f"added as {name}", value


def _refused_plainly(config: dict[str, Any]) -> PlatformConfig | None:
    """The config the loader accepts, or None when it refuses it with problems that name key paths."""
    try:
        return _load(config)
    except ConfigError as exc:
        assert exc.problems, "a ConfigError without problems"
        unnamed = [p for p in exc.problems if not KEY_PATH.match(p)]
        assert not unnamed, f"problems without a key path: {unnamed}"
        return None


def test_every_wrong_value_at_every_key_is_refused_with_its_key_path():
    """Deleted keys, wrong types, nulls and empty values at every key of every shipped stack (and every key
    the models know that a stack leaves out): the loader accepts, or raises ConfigError naming key paths."""
    seen = {"present": 0, "absent": 0, "refused": 0}
    absent = {(stack, path) for stack in STACKS for path in _absent_paths(_document_config(stack))}
    for stack, path, change, value in _cases():
        config = _mutated(_document_config(stack), path, value)
        try:
            accepted = _refused_plainly(config)
        except Exception as exc:  # noqa: BLE001 (the point: nothing but ConfigError may escape)
            shown = ".".join(map(str, path))
            pytest.fail(f"{stack}: {shown} {change}: {type(exc).__name__}: {exc}")
        seen["absent" if (stack, path) in absent else "present"] += 1
        seen["refused"] += accepted is None
    # Guards against walking nothing: keys of every kind were changed, and most changes were refused.
    assert seen["present"] > 2000 and seen["absent"] > 1000, seen
    assert seen["refused"] > 0.8 * (seen["present"] + seen["absent"]), seen


def test_keys_a_stack_leaves_out_are_fuzzed_too():
    """The walk of absent keys reaches nested models, not only the top level."""
    dev = {".".join(map(str, p)) for p in _absent_paths(_document_config("dev"))}
    local = {".".join(map(str, p)) for p in _absent_paths(_document_config("local"))}
    assert {f"{PREFIX}observability", f"{PREFIX}gpuPools.0.desiredSize", f"{PREFIX}gpuPools.0.taints"} <= dev
    assert "ray-platform:teams.0.gpuQuota.a10g.lendingLimit" not in dev  # present in the stack
    assert "ray-platform:teams.1.gpuQuota.a10g.lendingLimit" in dev
    assert "ray-platform:existing.objectStore.s3" in local


@pytest.mark.parametrize(
    "document",
    [["config"], "text", 7, {"config": ["x"]}, {"config": "text"}, {"config": {7: "x"}}],
    ids=["top-level list", "top-level string", "top-level number", "config list", "config string", "int key"],
)
def test_a_stack_file_of_the_wrong_shape_is_refused(document):
    with pytest.raises(ConfigError) as raised:
        stack_document_config(document)
    assert raised.value.problems and all(KEY_PATH.match(p) for p in raised.value.problems), raised.value.problems


def test_an_empty_stack_file_reports_the_required_keys():
    with pytest.raises(ConfigError) as raised:
        _load(None)
    assert "cloud: field required" in raised.value.problems
    assert "environment: field required" in raised.value.problems


@pytest.mark.parametrize(
    ("key", "typo", "hint"),
    [
        ("systemPool", {"diskSizeGi": 100}, "systemPool.diskSizeGi: unknown key; did you mean `diskSizeGib`?"),
        ("gpuPools", [{"acelerator": {}}], "gpuPools[0].acelerator: unknown key; did you mean `accelerator`?"),
        (
            "cluster",
            {"endpoint": {"publicCidr": []}},
            "cluster.endpoint.publicCidr: unknown key; did you mean `publicCidrs`?",
        ),
        ("storage", {"bucketname": "x"}, "storage.bucketname: unknown key; did you mean `bucketName`?"),
        ("gpuPol", [], "gpuPol: unknown key; did you mean `gpuPools`?"),
    ],
)
def test_an_unknown_key_gets_a_did_you_mean_hint(key, typo, hint):
    config = copy.deepcopy(_document_config("dev"))
    current = config.get(PREFIX + key)
    config[PREFIX + key] = {**current, **typo} if isinstance(current, dict) else typo
    with pytest.raises(ConfigError) as raised:
        _load(config)
    assert hint in raised.value.problems


def test_an_unknown_key_without_a_close_match_gets_no_hint():
    config = {**_document_config("dev"), PREFIX + "systemPool": {"zzzz": 1}}
    with pytest.raises(ConfigError) as raised:
        _load(config)
    assert "systemPool.zzzz: unknown key" in raised.value.problems


def test_a_boolean_is_not_a_number():
    """pydantic would read `maxSize: true` as one node."""
    config = copy.deepcopy(_document_config("dev"))
    config[PREFIX + "gpuPools"][0]["maxSize"] = True
    with pytest.raises(ConfigError) as raised:
        _load(config)
    assert "gpuPools[0].maxSize: input should be a number, not a boolean (true)" in raised.value.problems


def test_cross_key_rules_read_booleans_as_the_models_do():
    """`forceDestroy: "yes"` is true to the model, so the prod rule refuses it too."""
    config = {**_document_config("prod"), PREFIX + "storage": {"forceDestroy": "yes"}}
    with pytest.raises(ConfigError) as raised:
        _load(config)
    assert "storage.forceDestroy: is not allowed in prod: the artifact bucket holds data" in raised.value.problems


# `rayplat plan` end to end on a stack file written to a temporary directory.


def _write_stack(tmp_path, text: str) -> list[str]:
    (tmp_path / "Pulumi.t.yaml").write_text(text)
    return ["--stacks-dir", str(tmp_path), "--stack", "t"]


def _dev_text(old: str, new: str) -> str:
    text = (PROJECT_ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    assert old in text
    return text.replace(old, new)


CLI_CASES = {
    "cloud is a list": (
        _dev_text("ray-platform:cloud: aws", "ray-platform:cloud: [a]"),
        "cloud: input should be 'aws', 'gcp' or 'existing', not a list",
    ),
    "aws is a scalar": (
        _dev_text("ray-platform:aws:\n    region: us-west-2", "ray-platform:aws: scalar"),
        "aws: input should be a mapping, not 'scalar'",
    ),
    "a section left empty": (
        _dev_text("ray-platform:storage:\n    noncurrentVersionExpirationDays: 14\n", "ray-platform:storage:\n"),
        "storage: input should be a mapping, not an empty string",
    ),
    "yaml that does not parse": ("config:\n  ray-platform:cloud: [aws\n", "line 3, column 1: expected ',' or ']'"),
    "top level is a list": ("- config\n", "(top level): must be a mapping with a `config:` key, not a list"),
    "config is a string": ("config: aws\n", "config: must be a mapping of `ray-platform:<key>: <value>`, not 'aws'"),
}


@pytest.mark.parametrize("command", ["plan", "check"])
@pytest.mark.parametrize("case", CLI_CASES, ids=list(CLI_CASES))
def test_cli_refuses_a_bad_stack_file_without_a_traceback(tmp_path, command, case):
    text, problem = CLI_CASES[case]
    result = runner.invoke(app, [command, *_write_stack(tmp_path, text)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert problem in result.output


def test_under_the_pulumi_engine_the_error_is_a_run_error(dev_config):
    """`pulumi up` prints a RunError's message alone, without a traceback."""
    config = {**dev_config, f"{PREFIX}cloud": '["a"]', f"{PREFIX}aws": "scalar"}
    with pytest.raises(pulumi.RunError) as raised:
        run_program("dev", config, PROGRAM)
    assert isinstance(raised.value, ConfigError)
    assert raised.value.problems == [
        "cloud: input should be 'aws', 'gcp' or 'existing', not a list",
        "aws: input should be a mapping, not 'scalar'",
    ]
    assert get_monitor().recorded == []


def test_cli_registers_nothing_for_an_invalid_config(tmp_path):
    text, problem = CLI_CASES["aws is a scalar"]
    result = runner.invoke(app, ["plan", *_write_stack(tmp_path, text)])
    assert result.exit_code == 2 and problem in result.output
    assert get_monitor().recorded == [], "a resource was registered despite an invalid config"


def test_cli_prints_patterns_with_their_brackets(tmp_path):
    text = (PROJECT_ROOT / "stacks" / "Pulumi.gcp-dev.yaml").read_text().replace("acme-ml-dev", "Acme_ML")
    result = runner.invoke(app, ["plan", *_write_stack(tmp_path, text)])
    assert result.exit_code == 2
    assert "gcp.project: string should match pattern '^[a-z][a-z0-9-]{4,28}[a-z0-9]$'" in result.output


def test_report_tables_print_messages_with_their_brackets():
    message = "name must match [a-z][a-z0-9-]* ([bold]not markup[/])"
    finding = Finding("rule", "urn:x", "res[0]", "t", "failed", "mandatory", message)
    console = Console(record=True, width=400)
    print_text(CheckReport("dev", policies=[], settings={}, findings=[finding]), console)
    text = console.export_text()
    assert message in text and "res[0]" in text


@pytest.mark.parametrize("text", ["{}", "[]", '{"stack": "dev", "project": "p", "resources": [{"urn": "x"}]}', "{"])
def test_diff_refuses_a_plan_file_that_is_not_a_plan(tmp_path, text):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"stack": "dev", "project": "ray-platform", "resources": []}))
    bad.write_text(text)
    result = runner.invoke(app, ["diff", "--base-plan", str(good), "--head-plan", str(bad)])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert f"{bad} is not a plan written by `rayplat plan --json`" in result.output
