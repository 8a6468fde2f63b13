"""Reading a stack's ``ray-platform:*`` keys and validating them into a PlatformConfig."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
from pydantic import ValidationError

from stackconfig.base import raw_list, raw_mapping
from stackconfig.errors import ConfigError, error_lines
from stackconfig.platform import PlatformConfig
from stackconfig.rules import cross_key_problems
from stackconfig.teams import gcs_store_name_problems

PROJECT = "ray-platform"


def parse_config(raw: Mapping[str, Any], source: str = "stack config", stack: str | None = None) -> PlatformConfig:
    """Validate the ``ray-platform:*`` keys of a stack (namespace already stripped); with the stack's name,
    also the rules on names derived from it."""
    problems: list[str] = []
    context: dict[str, Any] = {
        "cloud": raw.get("cloud"),
        "zones": [z for z in raw_list(raw_mapping(raw.get("gcp")).get("zones")) if isinstance(z, str)],
    }
    try:
        config = PlatformConfig.model_validate(dict(raw), context=context)
    except ValidationError as exc:
        problems = error_lines(exc)
    problems += [f"{path}: {message}" for path, message in cross_key_problems(raw)]
    if stack is not None:
        problems += [f"{path}: {message}" for path, message in gcs_store_name_problems(raw, stack)]
    if problems:
        raise ConfigError(problems, source)
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


def load_config() -> PlatformConfig:
    """Read the running stack's config (from the Pulumi engine, or the offline plan) and validate it."""
    from pulumi.runtime.config import CONFIG  # the whole config map: unknown keys must be reported too

    stack = pulumi.get_stack()
    return parse_config(project_keys(CONFIG.get()), source=f"config of stack '{stack}'", stack=stack)
