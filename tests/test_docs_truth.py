"""The docs say what the code does: every key of docs/configuration.md is a key of the config models and every
key of the models is documented there; the complete stack examples are the stack files; every `rayplat`
command the README shows exists with the options it uses; the README's diff example is what `rayplat diff`
prints for it. Generic: a key added to a model only needs its line in docs/configuration.md."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pytest
import typer
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from rayplat import PROJECT_ROOT
from rayplat.cli import app
from rayplat.diff.report import to_markdown
from stackconfig.platform import PlatformConfig
from tests.conftest import planned

CONFIGURATION = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
README = (PROJECT_ROOT / "README.md").read_text()
# A table of keys: its header, and its rows' first cell, a key in backticks.
KEY_TABLE_HEADER = "| Key | Type |"
ROW_KEY = re.compile(r"^\| `([^`]+)` \|")
# Before a table whose keys are relative: `<!-- keys under: existing.systemPool, existing.gpuPools[] -->`.
KEYS_UNDER = re.compile(r"^<!-- keys under: (.+) -->$")
PLACEHOLDER = re.compile(r"<[^>]+>")


def _model(annotation: Any) -> tuple[type[BaseModel] | None, str]:
    """The model inside an annotation (``X | None``, ``list[X]``, ``dict[str, X]``) and the path step to it."""
    if get_origin(annotation) in (UnionType, Union):
        inner = [a for a in get_args(annotation) if a is not type(None)]
        return _model(inner[0]) if len(inner) == 1 else (None, "")
    if get_origin(annotation) is list:
        model, step = _model(get_args(annotation)[0])
        return model, "[]" + step
    if get_origin(annotation) is dict:
        model, step = _model(get_args(annotation)[1])
        return model, ".<*>" + step
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    return None, ""


def model_keys(model: type[BaseModel] = PlatformConfig, prefix: str = "") -> Iterator[tuple[str, bool]]:
    """Every key path of the config (``gpuPools[].taints[].effect``), and whether a model validates it."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        inner, step = _model(field.annotation)
        yield path, inner is not None
        if inner is not None:
            if step:
                yield f"{path}{step}", True
            yield from model_keys(inner, f"{path}{step}.")


def _normal(path: str) -> str:
    return PLACEHOLDER.sub("<*>", path)


def documented_rows() -> dict[str, str]:
    """Each documented key (whole path) and its table row."""
    return {path: row for paths, row in documented_keys() for path in paths}


def documented_keys() -> list[tuple[list[str], str]]:
    """Each row of the key tables: the whole paths its key may stand for (one per prefix), and the row."""
    rows: list[tuple[list[str], str]] = []
    lines = CONFIGURATION.splitlines()
    prefixes: list[str] = [""]
    in_table = False
    for i, line in enumerate(lines):
        if line.startswith(KEY_TABLE_HEADER):
            in_table = True
            marker = next((KEYS_UNDER.match(lines[j]) for j in (i - 1, i - 2) if KEYS_UNDER.match(lines[j])), None)
            prefixes = [f"{p.strip().strip('`')}." for p in marker[1].split(",")] if marker else [""]
        elif not line.startswith("|"):
            in_table = False
        elif in_table and (key := ROW_KEY.match(line)):
            rows.append(([_normal(prefix + key[1]) for prefix in prefixes], line))
    return rows


def _mentioned(row: str, name: str) -> bool:
    return any(re.search(rf"\b{re.escape(name)}\b", quoted) for quoted in re.findall(r"`([^`]+)`", row))


def _undocumented(path: str, rows: dict[str, str]) -> bool:
    """A key is documented by its own row, or by the row of an object above it that names it."""
    if path in rows:
        return False
    parts = re.split(r"(?<!^)\.(?![^<]*>)", path)
    for cut in range(len(parts) - 1, 0, -1):
        ancestor = ".".join(parts[:cut])
        row = rows.get(ancestor) or rows.get(ancestor.removesuffix("[]"))
        if row is not None:
            return not _mentioned(row, parts[cut].removesuffix("[]"))
    return True


def test_every_documented_key_is_a_key_of_the_config():
    rows, known = documented_keys(), {path for path, _ in model_keys()}
    assert len(rows) > 90, "the key tables were not found"
    assert [paths for paths, _ in rows if not set(paths) & known] == []


def test_every_key_of_the_config_is_documented():
    rows = documented_rows()
    leaves = [path for path, is_model in model_keys() if not is_model]
    assert len(leaves) > 100
    assert [path for path in leaves if _undocumented(path, rows)] == []


def test_the_complete_examples_are_the_stack_files():
    examples = re.findall(
        r"The \S+ stack \(`stacks/(Pulumi\.[\w-]+\.yaml)`[^)]*\), complete:\n\n```yaml\n(.*?)```", CONFIGURATION, re.S
    )
    assert len(examples) == 3
    for name, text in examples:
        assert yaml.safe_load(text) == yaml.safe_load((PROJECT_ROOT / "stacks" / name).read_text()), name


def _readme_commands() -> list[list[str]]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith(".venv/bin/rayplat "):
                commands.append(shlex.split(re.sub(r"\[[^\]]*\]", "", line))[1:])
    return commands


def _command(words: list[str]) -> tuple[Any, list[str]]:
    """The (sub)command the words name, and the words after it."""
    command: Any = typer.main.get_command(app)
    rest = list(words)
    while rest and rest[0] in getattr(command, "commands", {}):
        command = command.commands[rest.pop(0)]
    return command, rest


@pytest.mark.parametrize("words", _readme_commands(), ids=" ".join)
def test_every_rayplat_command_in_the_readme_exists_with_its_options(words):
    command, rest = _command(words)
    assert not hasattr(command, "commands"), f"no command: {' '.join(words)}"
    options = {opt for param in command.params for opt in param.opts}
    used = [word.split("=")[0] for word in rest if word.startswith("-")]
    assert used and set(used) <= options, f"{' '.join(words)}: unknown {sorted(set(used) - options)}"
    result = CliRunner().invoke(app, [*words[: len(words) - len(rest)], "--help"])
    assert result.exit_code == 0, result.output


def test_the_readme_shows_rayplat_commands():
    assert len(_readme_commands()) >= 8


def test_the_readme_diff_example_is_what_rayplat_diff_prints_for_it():
    """README: adding the `l40s` pool of tests/test_diff.py to dev, the comment with its details folded."""
    from tests.test_diff import NEW_POOL, _diff, _head, _with_pools

    assert NEW_POOL["name"] == "l40s" and "`l40s`: `g6e.12xlarge`, spot, 0 to 2 nodes" in README
    diff = _diff(planned("dev"), _head(lambda c: _with_pools(c, lambda pools: pools.append(NEW_POOL))))
    lines = to_markdown(diff).splitlines()
    summaries = [m[1] for line in lines if (m := re.match(r"<details><summary>(.*?)</summary>", line))]
    folded = [f"<details><summary>{summary}</summary> … </details>" for summary in summaries]
    headline = next(line for line in lines if line.startswith("### "))
    expected = [headline, "", *[line for line in lines if line.startswith("> ")], "", *folded]
    shown = re.search(r"```markdown\n(### `dev`:.*?)\n```", README, re.S)
    assert shown is not None and shown[1].splitlines() == expected
