"""Facts about provider resource types, read from the provider SDKs themselves rather than kept in a list."""

from __future__ import annotations

import importlib
import inspect
from functools import cache

_SDKS = {"aws": "pulumi_aws", "gcp": "pulumi_gcp"}


@cache
def resource_class(token: str) -> type | None:
    """The SDK class of a type token such as ``aws:s3/bucket:Bucket`` (None for another provider)."""
    package, module, name = token.split(":")
    if package not in _SDKS:
        return None
    module_name = module.split("/")[0].replace("-", "_")
    python_module = _SDKS[package] if module_name == "index" else f"{_SDKS[package]}.{module_name}"
    try:
        return getattr(importlib.import_module(python_module), name, None)
    except ModuleNotFoundError:
        return None


@cache
def takes(token: str, argument: str) -> bool:
    """Whether resources of this type take ``argument`` (for example ``tags``, or GCP's ``labels``)."""
    cls = resource_class(token)
    init = vars(cls).get("_internal_init") if cls is not None else None
    return init is not None and argument in inspect.signature(init).parameters


def is_taggable(token: str) -> bool:
    return takes(token, "tags")
