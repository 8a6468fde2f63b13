"""Imports run one way through the house: a module may import its own layer and the layers below it only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from rayplat import PROJECT_ROOT

# Each layer, and the project layers it may import besides itself.
ALLOWED = {
    "catalog": set(),
    "stackconfig": {"catalog"},
    "components": {"catalog"},
    "infra": {"catalog", "stackconfig", "components"},
    # The pack runs alone under `pulumi preview`: nothing of the program or the CLI.
    "policies": {"catalog"},
    "rayplat": {"catalog", "stackconfig", "components", "infra", "policies"},
    "benchmarks": {"catalog", "stackconfig", "components", "infra", "policies", "rayplat"},
}
PROJECT_PACKAGES = {*ALLOWED, "tests"}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of a project package in a module, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        found += [(node.lineno, m.split(".")[0]) for m in modules if m.split(".")[0] in PROJECT_PACKAGES]
    return found


def backward_imports(layer: str) -> list[str]:
    files = sorted((PROJECT_ROOT / layer).rglob("*.py"))
    assert len(files) >= 3, f"{layer}/ holds {len(files)} modules"
    return [
        f"{path.relative_to(PROJECT_ROOT)}:{line} imports {package}"
        for path in files
        for line, package in project_imports(path)
        if package != layer and package not in ALLOWED[layer]
    ]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_run_downward_only(layer):
    assert backward_imports(layer) == []


def test_every_python_package_of_the_project_is_a_layer():
    packages = {p.parent.name for p in PROJECT_ROOT.glob("*/__init__.py")}
    assert packages - {"tests"} == set(ALLOWED)


def test_the_check_sees_a_backward_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import json\nfrom infra.platform import build_platform\n\ndef f():\n    import rayplat.cli\n")
    assert project_imports(module) == [(2, "infra"), (5, "rayplat")]
