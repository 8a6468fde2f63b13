"""mypy follows only the provider SDK services the project uses (pyproject's [tool.mypy] overrides).

The SDKs' ``__init__`` imports every service for type checkers: following all of them costs minutes and
gigabytes on a cold run. A service the code starts to use must be added to the followed list, or mypy
would type it as ``Any`` and stop checking the resources built from it: this test names what is missing.
"""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

from rayplat import PROJECT_ROOT

SKIPPED_SDKS = ("pulumi_aws", "pulumi_gcp")


def _mypy_settings() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["mypy"]


def _followed() -> set[str]:
    followed = set()
    for override in _mypy_settings().get("overrides", []):
        if override.get("follow_imports") == "normal":
            modules = override["module"]
            followed.update([modules] if isinstance(modules, str) else modules)
    return followed


def _sdk_attributes(path: Path) -> set[tuple[str, str]]:
    """(sdk, attribute) for every ``alias.attribute`` where ``import pulumi_x as alias`` in the module, and
    every ``from pulumi_x import attribute`` or ``from pulumi_x.attribute import ...``."""
    tree = ast.parse(path.read_text())
    aliases = {
        alias.asname or alias.name: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name in SKIPPED_SDKS
    }
    attributes = {
        (aliases[node.value.id], node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SKIPPED_SDKS:
            sdk, _, service = node.module.partition(".")
            names = [service.split(".")[0]] if service else [alias.name for alias in node.names]
            attributes.update((sdk, name) for name in names)
    return attributes


def _module_of(sdk: str, attribute: str) -> str:
    """The SDK module mypy must follow for ``sdk.attribute``: a service package, or a top-level module."""
    if (Path(importlib.import_module(sdk).__file__).parent / attribute).is_dir():
        return f"{sdk}.{attribute}.*"
    return getattr(importlib.import_module(sdk), attribute).__module__


def _project_modules() -> list[Path]:
    packages = _mypy_settings()["files"]
    return [path for package in packages for path in sorted((PROJECT_ROOT / package).rglob("*.py"))]


def test_every_provider_service_the_code_uses_is_followed_by_mypy():
    used = {_module_of(sdk, attr) for path in _project_modules() for sdk, attr in _sdk_attributes(path)}
    assert {m.split(".")[0] for m in used} == set(SKIPPED_SDKS), used
    missing = sorted(used - _followed())
    assert not missing, f"add to the followed modules in pyproject.toml's [tool.mypy] overrides: {missing}"


def test_the_sdks_are_skipped_but_for_the_followed_services():
    skipped = [o for o in _mypy_settings().get("overrides", []) if o.get("follow_imports") == "skip"]
    assert [sorted(o["module"]) for o in skipped] == [sorted(f"{sdk}.*" for sdk in SKIPPED_SDKS)]


def test_mypy_still_checks_the_arguments_of_a_followed_service(tmp_path):
    from mypy import api

    program = tmp_path / "wrong_argument.py"
    program.write_text(
        "import pulumi_aws as aws\n\n"
        'aws.eks.Cluster("c", role_arn="arn", vpc_config={}, not_an_argument=1)\n'
        'aws.s3.BucketV2("b", bucket="name")\n'
    )
    cache = PROJECT_ROOT / ".mypy_cache"
    stdout, _, status = api.run(
        ["--config-file", str(PROJECT_ROOT / "pyproject.toml"), "--cache-dir", str(cache), str(program)]
    )
    assert status == 1, stdout
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert errors and all("wrong_argument.py:3:" in line for line in errors), stdout
    assert any('"not_an_argument"' in line for line in errors), stdout
