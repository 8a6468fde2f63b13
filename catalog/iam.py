"""Rules of IAM policy documents that the diff, the audit and the policies all read."""

from typing import Any


def as_list(value: Any) -> list[Any]:
    """An element of a policy statement (``Action``, ``Resource``, ...), which IAM accepts as one value or a
    list of them, as a list; absent, as an empty one."""
    return value if isinstance(value, list) else ([] if value is None else [value])
