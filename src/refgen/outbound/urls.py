"""Outbound URL validation: what an image, watermark or callback URL must look like.

:func:`parse_url` accepts only well-formed ``http``/``https`` URLs without credentials and
raises :class:`~refgen.errors.FieldInvalid` otherwise; it does not check addresses (the guard
does, when connecting: :mod:`refgen.outbound.guard`). ``_error`` builds the field-naming errors
the whole outbound package raises.
"""

from __future__ import annotations

import re
from typing import TypeVar

import httpx

from refgen.errors import FieldInvalid, RefgenError
from refgen.outbound.addresses import parse_host_literal

MAX_URL_LENGTH = 8192

_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://)?([^/?#]*)")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")
_DEFAULT_PORTS = {"http": 80, "https": 443}

E = TypeVar("E", bound=RefgenError)


def _error(cls: type[E], field: str | None, detail: str) -> E:
    """``cls`` with its default message, the field and a detail: ``Invalid field: images[2] (…)``."""
    where = f": {field}" if field else ""
    return cls(f"{cls().message}{where} ({detail})", field=field)


def parse_url(url: str, *, field: str | None = None) -> httpx.URL:
    """Validate an outbound URL; raise :class:`~refgen.errors.FieldInvalid` if it is malformed.

    Accepts ``http`` and ``https`` only, with a host, without a user name or password, without
    spaces, control characters or backslashes, and with a port in 1–65535. A numeric IPv4 host in
    any spelling (``2130706433``, ``0x7f.1``) is rewritten to dotted decimal. The fragment is
    dropped. Addresses are not checked here: that happens when connecting.
    """

    def invalid(detail: str) -> FieldInvalid:
        return _error(FieldInvalid, field, detail)

    if not isinstance(url, str) or not url:
        raise invalid("URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise invalid(f"URL is longer than {MAX_URL_LENGTH} characters")
    if _UNSAFE_CHARACTERS.search(url):
        raise invalid("URL contains spaces, control characters or backslashes")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise invalid(f"malformed URL: {exc}") from None
    if parsed.scheme not in _DEFAULT_PORTS:
        raise invalid("URL scheme must be http or https")
    authority = _AUTHORITY.match(url)
    if parsed.userinfo or (authority is not None and "@" in authority.group(1)):
        raise invalid("URL must not contain a user name or password")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise invalid("URL has no host")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise invalid("URL port is out of range")
    try:
        literal = parse_host_literal(host)
    except ValueError:
        raise invalid("URL host is a malformed IP address") from None
    if literal is None and not _HOST_NAME.fullmatch(host):
        raise invalid("URL host is not a valid host name")
    if literal is not None and literal.version == 4:
        parsed = parsed.copy_with(host=str(literal))
    return parsed.copy_with(fragment=None)
