"""Bad settings as one line each: the variable, the value, and what is allowed.

Settings are validated by pydantic when a process starts. Its own report is a multi-line dump with
links; a person who set ``REFGEN_HEARTBEAT_SECONDS=abc`` wants one line that names the variable and
says what it takes. :func:`load_settings` builds :class:`~refgen.settings.Settings` and turns any
failure into :class:`InvalidSettings`, whose ``problems`` are those lines.

The lines are made from the fields themselves (type, bounds, description), so a setting added to
``Settings`` is reported the same way without a word here.
"""

from __future__ import annotations

import re
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import SettingsError

from refgen.settings import Settings

# errors whose own message says more than "expected <type>": a validator's reason, a JSON error
DETAILED_ERRORS = ("value_error", "assertion_error", "json_invalid")
SHOWN_VALUE_LENGTH = 60


class InvalidSettings(ValueError):
    """One or more settings have values they cannot take; ``problems`` has one line for each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def load_settings(**values: Any) -> Settings:
    """``Settings`` from the environment and ``values``; :class:`InvalidSettings` when any is bad."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise InvalidSettings(problems(exc)) from None
    except SettingsError as exc:  # a value the environment source could not even decode
        raise InvalidSettings([_undecodable(str(exc))]) from None


def variable(name: str) -> str:
    """The environment variable of the field ``name``."""
    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


def problems(error: ValidationError) -> list[str]:
    """One line per field that failed (a field with several errors is reported once)."""
    lines: dict[str, str] = {}
    for detail in error.errors(include_url=False):
        name = str(detail["loc"][0]) if detail["loc"] else ""
        if name not in lines:
            lines[name] = _line(name, detail)
    return list(lines.values())


def allowed(field: FieldInfo) -> str:
    """What a field takes, in words: its type, then its bounds (``a number greater than 0``)."""
    words = _type_words(field.annotation)
    bounds = [b for b in (_bound_words(m) for m in field.metadata) if b]
    return f"{words}, {' and '.join(bounds)}" if bounds else words


def _line(name: str, detail: ErrorDetails) -> str:
    field = Settings.model_fields.get(name)
    if field is None:
        return f"{variable(name) or 'settings'}: {_message(detail)}"
    value = _shown(detail.get("input"))
    reason = f"{_message(detail)}; " if detail["type"] in DETAILED_ERRORS else ""
    meaning = f" ({_sentence_inside(field.description)})" if field.description else ""
    return f"{variable(name)}={value}: {reason}expected {allowed(field)}{meaning}"


def _message(detail: ErrorDetails) -> str:
    return " ".join(detail["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ").split())


def _sentence_inside(description: str) -> str:
    """A description as a parenthesis: no full stop, lower case first unless an acronym."""
    text = description.strip().rstrip(".")
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _shown(value: object) -> str:
    """An environment value quoted (it is text), a value given as a flag as it is; long ones cut."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > SHOWN_VALUE_LENGTH:
        text = text[: SHOWN_VALUE_LENGTH - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def _undecodable(message: str) -> str:
    match = re.search(r'field "(\w+)"', message)
    if match is None:
        return f"settings: {' '.join(message.split())}"
    name = match.group(1)
    field = Settings.model_fields.get(name)
    expected = f"; expected {allowed(field)}" if field is not None else ""
    return f"{variable(name)}: not a value it can take{expected}"


def _type_words(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is not None and str(origin) == "typing.Annotated":
        return _type_words(args[0])
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(_type_words(a) for a in options)) or "nothing"
    if origin in (list, tuple, set, frozenset):
        inner = _type_words(args[0]) if args else "values"
        return f"{_plural(inner)} separated by commas"
    if origin is dict or annotation is dict:
        return "inline JSON or the path of a JSON or TOML file"
    return SIMPLE_TYPES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _plural(words: str) -> str:
    return PLURALS.get(words, words)


def _bound_words(metadata: object) -> str:
    for kind, words in BOUNDS:
        if isinstance(metadata, kind):
            return f"{words} {_number(getattr(metadata, kind.__name__.lower()))}"
    return ""


def _number(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


SIMPLE_TYPES: dict[Any, str] = {
    bool: "true or false",
    int: "a whole number",
    float: "a number",
    str: "text",
    Path: "a folder path",
}
PLURALS = {
    "a whole number": "whole numbers",
    "a number": "numbers",
    "text": "texts",
    "IPv4Network or IPv6Network": "networks in CIDR notation (such as 10.0.0.0/8)",
}
BOUNDS: tuple[tuple[type, str], ...] = (
    (annotated_types.Gt, "greater than"),
    (annotated_types.Ge, "at least"),
    (annotated_types.Lt, "less than"),
    (annotated_types.Le, "at most"),
)
