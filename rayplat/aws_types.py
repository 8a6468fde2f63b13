"""Facts about AWS resource types, read from the pulumi-aws SDK itself rather than kept in a list."""

from __future__ import annotations

import importlib
import inspect
from functools import cache


@cache
def resource_class(token: str) -> type | None:
    """The pulumi-aws class of a type token such as ``aws:s3/bucket:Bucket`` (None if not an AWS type)."""
    package, module, name = token.split(":")
    if package != "aws":
        return None
    module_name = module.split("/")[0]
    python_module = "pulumi_aws" if module_name == "index" else f"pulumi_aws.{module_name.replace('-', '_')}"
    return getattr(importlib.import_module(python_module), name, None)


@cache
def is_taggable(token: str) -> bool:
    """Whether resources of this type take ``tags``."""
    cls = resource_class(token)
    return cls is not None and "tags" in inspect.signature(cls._internal_init).parameters
