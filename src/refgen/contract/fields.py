"""Reading one field of a create body: lenient as the originals' own examples need.

Ints and bools may arrive as JSON strings, ``null`` (and for most fields ``""``) means "not given".
Every refusal names its field, as the client wrote it (``subjects[1].images[0]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from refgen.contract.bodies import ASCII_WHITESPACE, BOOL_STRING_RE, INT_STRING_RE
from refgen.errors import FieldInvalid

Fields = Mapping[str, Any]

_DATA_URL = re.compile(r"^data:", re.IGNORECASE)


def given(value: object) -> bool:
    return value is not None and value != ""


def image_ref(value: object, field: str) -> str:
    """A URL (http/https) or a data URL, returned as sent."""
    if not isinstance(value, str) or not value.strip():
        raise FieldInvalid(f"invalid field: {field} (must be a URL or a data URL)", field=field)
    if _DATA_URL.match(value):
        return value
    http_url(value.strip(), field)
    return value


def is_data_url(value: str) -> bool:
    return bool(_DATA_URL.match(value))


def http_url(value: str, field: str) -> None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        raise FieldInvalid(f"invalid field: {field} (not a valid URL)", field=field) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or " " in value:
        raise FieldInvalid(f"invalid field: {field} (must be an http or https URL)", field=field)


MAX_INT_DIGITS = 18
"""More digits than any integer field can take: such a number reads as :data:`BEYOND_ANY_RANGE`."""
BEYOND_ANY_RANGE: int = 10**MAX_INT_DIGITS
"""Past every field's range, so the field's own range check refuses it with its own message."""


def integer(fields: Fields, name: str, default: int) -> int:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise FieldInvalid(f"invalid field: {name} (must be an integer)", field=name)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and INT_STRING_RE.fullmatch(value):
        text: str = value.strip(ASCII_WHITESPACE)
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-").lstrip("0") or "0"
        if len(digits) > MAX_INT_DIGITS:  # int() refuses 4,300 digits and more
            return sign * BEYOND_ANY_RANGE
        return sign * int(digits)
    raise FieldInvalid(f"invalid field: {name} (must be an integer)", field=name)


def boolean(fields: Fields, name: str, default: bool = False) -> bool:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and BOOL_STRING_RE.fullmatch(value):
        return value.strip().lower() == "true"
    raise FieldInvalid(f"invalid field: {name} (must be true or false)", field=name)


def string(fields: Fields, name: str, *, max_length: int | None = None, field: str | None = None) -> str:
    """A string field ("" when absent or null); ``field`` names it in errors (default ``name``)."""
    where = field or name
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldInvalid(f"invalid field: {where} (must be a string)", field=where)
    if max_length is not None and len(value) > max_length:
        raise FieldInvalid(f"invalid field: {where} (at most {max_length} characters)", field=where)
    return value


def choice_int(fields: Fields, name: str, default: int, allowed: tuple[int, ...]) -> int:
    value = integer(fields, name, default)
    if value not in allowed:
        raise FieldInvalid(f"invalid field: {name} (accepted: {describe(allowed)})", field=name)
    return value


def choice_str(fields: Fields, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = fields.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str) or value not in allowed:
        raise FieldInvalid(f"invalid field: {name} (accepted: {', '.join(allowed)})", field=name)
    return value


def describe(allowed: tuple[int, ...]) -> str:
    ordered = sorted(allowed)
    if len(ordered) > 3 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]} to {ordered[-1]}"
    return ", ".join(str(v) for v in ordered)
