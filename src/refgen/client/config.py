"""Where the SDK connects and with which key: arguments first, then the environment.

Base URL: the ``base_url`` argument, else ``REFGEN_BASE_URL``, else ``VIDU_API_HOST``, else
``http://127.0.0.1:8000``. A value without a scheme gets ``https://`` (``api.vidu.com`` →
``https://api.vidu.com``), except loopback hosts (``localhost:8000`` → ``http://localhost:8000``).
A trailing ``/ent/v2`` is dropped: the SDK adds the contract's paths itself.

API key: the ``api_key`` argument, else ``REFGEN_API_KEY``, else ``VIDU_API_KEY``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final

import httpx

DEFAULT_BASE_URL: Final = "http://127.0.0.1:8000"
BASE_URL_VARIABLES: Final = ("REFGEN_BASE_URL", "VIDU_API_HOST")
API_KEY_VARIABLES: Final = ("REFGEN_API_KEY", "VIDU_API_KEY")
API_PREFIX: Final = "/ent/v2"

DEFAULT_TIMEOUT: Final = httpx.Timeout(60.0, connect=10.0)
"""Per request: 60 s to send and read (a create request uploads images), 10 s to connect."""

DEFAULT_MAX_RETRIES: Final = 2
DEFAULT_RETRY_BACKOFF: Final = 0.5

_LOOPBACK = ("localhost", "127.", "[::1]", "0.0.0.0")


def _first(value: str | None, names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    if value is not None and value.strip():
        return value.strip()
    for name in names:
        found = environ.get(name, "").strip()
        if found:
            return found
    return None


def normalize_base_url(value: str) -> str:
    url = value.strip().rstrip("/")
    if "://" not in url:
        scheme = "http" if url.lower().startswith(_LOOPBACK) else "https"
        url = f"{scheme}://{url}"
    if url.endswith(API_PREFIX):
        url = url[: -len(API_PREFIX)]
    return url.rstrip("/")


def resolve_base_url(value: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    found = _first(value, BASE_URL_VARIABLES, os.environ if environ is None else environ)
    return normalize_base_url(found or DEFAULT_BASE_URL)


def resolve_api_key(value: str | None = None, environ: Mapping[str, str] | None = None) -> str | None:
    return _first(value, API_KEY_VARIABLES, os.environ if environ is None else environ)
