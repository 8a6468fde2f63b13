"""Reading a stack's ``ray-platform:*`` keys and validating them into a PlatformConfig."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from stackconfig.base import Problem, as_problem, raw_list, raw_mapping
from stackconfig.errors import ConfigError, error_problems, problem_lines
from stackconfig.platform import PlatformConfig
from stackconfig.rules import cross_key_problems
from stackconfig.teams import gcs_store_name_problems

PROJECT = "ray-platform"

# The namespaces a stack file's `config:` may use besides the project's: the providers the program uses, and
# Pulumi's own. A key elsewhere (`ray-platfrom:teams`) would be read by nothing.
PROVIDER_NAMESPACES = ("aws", "gcp", "kubernetes", "random", "pulumi")


def parse_config(raw: Mapping[str, Any], source: str = "stack config", stack: str | None = None) -> PlatformConfig:
    """Validate the ``ray-platform:*`` keys of a stack (namespace already stripped); with the stack's name,
    also the rules on names derived from it."""
    problems: list[Problem] = []
    context: dict[str, Any] = {
        "cloud": raw.get("cloud"),
        "zones": [z for z in raw_list(raw_mapping(raw.get("gcp")).get("zones")) if isinstance(z, str)],
    }
    try:
        config = PlatformConfig.model_validate(dict(raw), context=context)
    except ValidationError as exc:
        problems = error_problems(exc)
    problems += [as_problem(p) for p in cross_key_problems(raw)]
    if stack is not None:
        problems += [as_problem(p) for p in gcs_store_name_problems(raw, stack)]
    if problems:
        raise ConfigError(problem_lines(problems), source)
    return config


def _decode(value: Any) -> Any:
    """Pulumi hands a program structured values as JSON text; a plain string that only looks like JSON stays
    a string, for the models to reject with its key path."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def project_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """The ``ray-platform:<key>`` entries of a flat Pulumi config map, namespace stripped, JSON decoded."""
    prefix = f"{PROJECT}:"
    return {key.removeprefix(prefix): _decode(value) for key, value in config.items() if key.startswith(prefix)}


def namespace_problems(config: Mapping[str, Any]) -> list[str]:
    """A problem for each key of a flat Pulumi config map outside the project's and the providers' namespaces."""
    known = (PROJECT, *PROVIDER_NAMESPACES)
    problems = []
    for key in sorted(config):
        namespace, colon, _ = key.partition(":")
        if namespace in known:
            continue
        if not colon:
            problems.append(f"{key}: has no namespace; write `{PROJECT}:{key}`")
            continue
        close = difflib.get_close_matches(namespace, known, n=1)
        hint = f"; did you mean `{close[0]}:`?" if close else ""
        problems.append(f"{key}: unknown config namespace '{namespace}' ({', '.join(known)}){hint}")
    return problems


def parse_stack_config(
    config: Mapping[str, Any], source: str = "stack config", stack: str | None = None
) -> PlatformConfig:
    """Validate a flat Pulumi config map: its namespaces, then its ``ray-platform:*`` keys (with the stack's
    name, also the rules on names derived from it)."""
    problems = namespace_problems(config)
    try:
        parsed = parse_config(project_keys(config), source, stack)
    except ConfigError as exc:
        problems += exc.problems
    if problems:
        raise ConfigError(problems, source)
    return parsed


def load_config() -> PlatformConfig:
    """Read the running stack's config (from the Pulumi engine, or the offline plan) and validate it."""
    from pulumi.runtime.config import CONFIG  # the whole config map: unknown keys must be reported too

    stack = pulumi.get_stack()
    return parse_stack_config(CONFIG.get(), source=f"config of stack '{stack}'", stack=stack)
