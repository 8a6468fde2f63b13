"""The base of every config model, and the helpers that report problems with their key paths."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, NamedTuple, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

_INT: TypeAdapter[int] = TypeAdapter(int)


_BOOL: TypeAdapter[bool] = TypeAdapter(bool)


class Problem(NamedTuple):
    """A problem at a key path. ``after`` names the key paths it was worked out from: where one of those has
    a problem of its own, this one follows from it (a quota naming a pool whose name is misspelt)."""

    path: str
    message: str
    after: tuple[str, ...] = ()


def as_problem(found: tuple[str, str] | Problem) -> Problem:
    """A rule's (path, message) pair as a Problem."""
    return found if isinstance(found, Problem) else Problem(found[0], found[1])


def raise_problems(problems: Iterable[tuple[str, str] | Problem]) -> None:
    """Raise every problem a validator found (key paths relative to the value validated) as one pydantic error."""
    found = [as_problem(p) for p in problems]
    if found:
        raise PydanticCustomError("rayplat_problems", "{count} problems", {"count": len(found), "problems": found})


def reject(message: str) -> None:
    """Reject one field's value with ``message``."""
    raise PydanticCustomError("rayplat", "{message}", {"message": message})


def _quantity_text(value: Any) -> Any:
    """YAML reads `cpu: 48` as a number: a Kubernetes quantity is the number's text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return str(int(value)) if isinstance(value, int) or value.is_integer() else repr(value)


def _version_text(value: Any) -> Any:
    """YAML reads `kubernetesVersion: 1.34` as a number, and `1.30` as 1.3: a version's minor number has two
    digits or more, so a float with fewer after the point has lost its trailing zeros and is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    text = str(value)
    if isinstance(value, float) and len(text.partition(".")[2]) < 2:
        reject(f'is the number {text} (YAML drops the trailing zeros of an unquoted version): quote it ("{text}0")')
    return text


# A Kubernetes quantity (`48`, `500m`, `192Gi`) or a version (`1.34`), written as text or as a YAML number.
Quantity = Annotated[str, BeforeValidator(_quantity_text)]
VersionText = Annotated[str, BeforeValidator(_version_text)]


def cidr_problem(cidr: str) -> str | None:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        return f"'{cidr}' is not a valid CIDR ({exc})"
    return None


class ConfigModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic would read ``maxSize: true`` as 1: a boolean where a number belongs is a mistake."""
        if isinstance(value, bool) and info.field_name and _numeric(cls.model_fields[info.field_name].annotation):
            reject(f"input should be a number, not {describe_value(value)}")
        return value


def _numeric(annotation: Any) -> bool:
    types = get_args(annotation) or (annotation,)
    return bool not in types and any(t in (int, float) for t in types)


def describe_value(value: Any) -> str:
    """A YAML value as an error message names it: its kind, and a short text as itself."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str) and not value:
        return "an empty string"
    if isinstance(value, str):
        return f"'{value}'" if len(value) <= 40 else f"'{value[:37]}...'"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, Mapping) else type(value).__name__


def raw_mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def raw_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def raw_int(value: Any) -> int | None:
    """A raw value read as the models read an integer, or None where they would reject it."""
    if isinstance(value, bool):
        return None
    try:
        return _INT.validate_python(value)
    except ValidationError:
        return None


def raw_bool(value: Any) -> bool | None:
    """A raw value read as the models read a boolean (``true``, ``"yes"``, 1, ...), or None."""
    try:
        return _BOOL.validate_python(value)
    except ValidationError:
        return None
