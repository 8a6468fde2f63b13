"""Validators for the upstream CRD schemas, built once per session.

A CRD file such as KubeRay's RayCluster is several megabytes of YAML: parsing it and checking its schema
against the metaschema took seconds on every ``jsonschema.validate`` call. Each file is parsed once (with
libyaml) and each schema checked once; objects are then validated as ``jsonschema.validate`` does.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from jsonschema.protocols import Validator

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _crd(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_LOADER)  # noqa: S506 (a safe loader)


def strict(schema: dict) -> dict:
    """A CRD schema that rejects unknown fields, as the API server prunes and `kubectl --validate=strict`
    refuses them: every object with declared properties allows no others."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@functools.cache
def crd_validator(path: Path, version: str, *, unknown_fields: bool = True) -> Validator:
    """The validator of the ``version`` served by the CRD at ``path`` (``unknown_fields=False``: strict)."""
    (served,) = [v for v in _crd(path)["spec"]["versions"] if v["name"] == version]
    schema = served["schema"]["openAPIV3Schema"]
    if not unknown_fields:
        schema = strict(schema)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(instance: Any, validator: Validator) -> None:
    """Raise the most relevant error of ``instance``, as ``jsonschema.validate`` does."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is not None:
        raise error
