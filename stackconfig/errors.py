"""Errors of a stack's configuration: pydantic's errors as ``key.path: message`` lines."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from types import UnionType
from typing import Any, Union, get_args, get_origin

import pulumi
from pydantic import BaseModel, ValidationError

from stackconfig.base import Problem, describe_value
from stackconfig.platform import PlatformConfig


class ConfigError(pulumi.RunError):
    """A stack's configuration is invalid. ``problems`` holds one ``path: message`` line each.

    A ``RunError``, so that ``pulumi up`` prints the message alone, without a traceback.
    """

    def __init__(self, problems: list[str], source: str = "stack config"):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        noun = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"Invalid {source}: {len(problems)} {noun}:\n{lines}")


def _path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += f".{part}" if out else part
    return out


def _join(base: str, sub: str) -> str:
    if not base or not sub:
        return base or sub
    return base + sub if sub.startswith("[") else f"{base}.{sub}"


# pydantic's wording for a value of the wrong type, where the stack file's words are clearer.
_TYPE_MESSAGES = {"model_type": "input should be a mapping", "dict_type": "input should be a mapping"}


def _message(err: Any, loc: tuple[str | int, ...]) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key" + _did_you_mean(loc)
    message = _TYPE_MESSAGES.get(err["type"]) or err["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    if err["type"].endswith("_type") or err["type"] == "literal_error":
        message += f", not {describe_value(err['input'])}"
    return message


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    """A hint naming the closest key the model at ``loc``'s parent knows, if one is close."""
    model = model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return ""
    known = {(f.alias or name).lower(): f.alias or name for name, f in model.model_fields.items()}
    close = difflib.get_close_matches(loc[-1].lower(), known, n=1)
    return f"; did you mean `{known[close[0]]}`?" if close else ""


def model_at(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model that validates the value at key path ``loc`` (``("gpuPools", 0)`` is a GpuPool), or None."""
    annotation: Any = PlatformConfig
    for part in loc:
        model = _unwrap(annotation)
        if isinstance(model, type) and issubclass(model, BaseModel):
            fields = {f.alias or name: f for name, f in model.model_fields.items()}
            field = fields.get(str(part)) or model.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(model) in (list, dict):
            annotation = get_args(model)[-1]
        else:
            return None
    found = _unwrap(annotation)
    return found if isinstance(found, type) and issubclass(found, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """``X | None`` as ``X``."""
    if get_origin(annotation) in (UnionType, Union):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def error_problems(exc: ValidationError) -> list[Problem]:
    """pydantic's errors as problems with whole key paths."""
    problems = []
    for err in exc.errors(include_url=False):
        base = _path(err["loc"])
        if err["type"] == "rayplat_problems":
            problems += [
                Problem(_join(base, p.path), p.message, tuple(_join(base, a) for a in p.after))
                for p in err["ctx"]["problems"]
            ]
        else:
            problems.append(Problem(base or "(top level)", _message(err, err["loc"])))
    return problems


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))


def problem_lines(problems: list[Problem]) -> list[str]:
    """``path: message`` lines, causes first; a problem worked out from a key that has a problem of its own
    comes last, marked with the key it follows from, so that one mistake does not read as several."""
    causes, follow_ons = [], []
    for problem in problems:
        cause = next(
            (c.path for c in problems if c is not problem and any(_within(c.path, a) for a in problem.after)), None
        )
        line = f"{problem.path}: {problem.message}"
        if cause is None:
            causes.append(line)
        else:
            follow_ons.append(f"{line} (follows from {cause}: fix that first)")
    return causes + follow_ons
