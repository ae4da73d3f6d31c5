"""The guarded HTTP client every outbound request goes through.

:class:`GuardedClient` drives an :class:`httpcore.AsyncConnectionPool` on the guarded network
backend (:class:`~refgen.outbound.guard.GuardedBackend`; no proxies, no environment variables),
validates URLs (:func:`~refgen.outbound.urls.parse_url`), follows GET redirects by hand, and caps
total time and body size while streaming.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import anyio
import httpcore
import httpx

from refgen.errors import AddressForbidden, FieldInvalid, ImageDownloadFailure
from refgen.outbound.addresses import AddressPolicy
from refgen.outbound.guard import (
    GuardedBackend,
    Resolver,
    _HostRefused,
    _HostUnresolved,
    check_url,
    resolve_system,
)
from refgen.outbound.urls import _DEFAULT_PORTS, MAX_URL_LENGTH, _error, parse_url

# URL validation (.urls) and the address guard (.guard) were split out of this module; their public
# names are re-exported here so that ``from refgen.outbound.client import ...`` keeps working.
__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "MAX_URL_LENGTH",
    "GuardedBackend",
    "GuardedClient",
    "Resolver",
    "check_url",
    "parse_url",
    "resolve_system",
]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # the contract's per-image limit
MAX_REDIRECTS = 5

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CALLER_MAY_NOT_SET = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class GuardedClient:
    """The one HTTP client for outbound requests: guarded addresses, bounded time and size.

    Use as an async context manager (or call :meth:`aclose`)::

        async with GuardedClient(AddressPolicy(settings.allow_networks)) as client:
            data = await client.get_bytes(url, field="images[0]")

    ``timeout`` bounds a whole call (DNS, connect, every redirect, the body); ``max_bytes``
    bounds a GET body. ``resolver`` and ``network_backend`` (the backend the guard connects
    through) are injectable for tests; ``ssl_context`` defaults to httpcore's (certifi).
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        resolver: Resolver | None = None,
        user_agent: str = "refgen",
        max_redirects: int = MAX_REDIRECTS,
        max_connections: int = 16,
        ssl_context: ssl.SSLContext | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        self._backend = GuardedBackend(policy, resolver, network_backend)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=self._backend,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._pool.aclose()

    async def check_url(self, url: str, *, field: str | None = None) -> None:
        """Like :func:`check_url`, without blocking the event loop."""
        parsed = parse_url(url, field=field)
        host = parsed.raw_host.decode("ascii")
        try:
            with anyio.fail_after(self.timeout):
                await self._backend.addresses(host, parsed.port or _DEFAULT_PORTS[parsed.scheme])
        except _HostRefused as exc:
            raise _error(AddressForbidden, field, str(exc)) from None
        except _HostUnresolved as exc:
            raise _error(FieldInvalid, field, str(exc)) from None
        except TimeoutError:
            raise _error(FieldInvalid, field, f"resolving {host} timed out") from None

    async def get_bytes(self, url: str, *, field: str | None = None) -> bytes:
        """GET ``url`` and return the body, following up to ``max_redirects`` redirects.

        Raises :class:`~refgen.errors.FieldInvalid` for a malformed URL,
        :class:`~refgen.errors.AddressForbidden` if the URL or any redirect hop resolves to a
        refused address, and :class:`~refgen.errors.ImageDownloadFailure` for everything else:
        DNS or connection failure, timeout, a non-2xx answer, a body over ``max_bytes``.
        Messages name ``field`` (e.g. ``images[2]``).
        """
        target = parse_url(url, field=field)
        try:
            with anyio.fail_after(self.timeout):
                return await self._get(target, field)
        except TimeoutError:
            raise _error(ImageDownloadFailure, field, f"timed out after {self.timeout:g} s") from None

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        field: str | None = None,
    ) -> int:
        """POST ``content`` to ``url`` and return the status code; redirects are not followed.

        Raises :class:`~refgen.errors.FieldInvalid` for a malformed URL,
        :class:`~refgen.errors.AddressForbidden` for a refused address, and :class:`OSError`
        (:class:`ConnectionError` or :class:`TimeoutError`) if the request was not delivered.
        """
        target = parse_url(url, field=field)
        limit = self.timeout if timeout is None else timeout
        try:
            with anyio.fail_after(limit), self._transport_errors(field, download=False):
                async with self._pool.stream(
                    "POST",
                    _core_url(target),
                    headers=self._headers(target, (headers or {}).items(), content_length=len(content)),
                    content=content,
                    extensions=_timeouts(limit),
                ) as response:
                    return response.status
        except TimeoutError:
            raise TimeoutError(f"POST to {target.host} timed out after {limit:g} s") from None

    # -- internals ---------------------------------------------------------------------------

    async def _get(self, url: httpx.URL, field: str | None) -> bytes:
        headers = [("Accept", "image/*, */*;q=0.8")]
        for _hop in range(self.max_redirects + 1):
            with self._transport_errors(field, download=True):
                async with self._pool.stream(
                    "GET",
                    _core_url(url),
                    headers=self._headers(url, headers),
                    extensions=_timeouts(self.timeout),
                ) as response:
                    if response.status in _REDIRECT_STATUSES:
                        url = _redirect_target(url, response, field)
                        continue
                    if not 200 <= response.status < 300:
                        raise _error(ImageDownloadFailure, field, f"HTTP {response.status}")
                    return await self._read_body(response, field)
        raise _error(ImageDownloadFailure, field, f"more than {self.max_redirects} redirects")

    async def _read_body(self, response: httpcore.Response, field: str | None) -> bytes:
        too_large = _error(ImageDownloadFailure, field, f"larger than {self.max_bytes} bytes")
        declared = _header(response, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise too_large
        chunks: list[bytes] = []
        received = 0
        async for chunk in response.aiter_stream():
            received += len(chunk)
            if received > self.max_bytes:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _headers(
        self, url: httpx.URL, extra: Iterable[tuple[str, str]], *, content_length: int | None = None
    ) -> list[tuple[bytes, bytes]]:
        headers: dict[str, tuple[str, str]] = {
            "host": ("Host", url.netloc.decode("ascii")),
            "user-agent": ("User-Agent", self.user_agent),
            "accept-encoding": ("Accept-Encoding", "identity"),
        }
        if content_length is not None:
            headers["content-length"] = ("Content-Length", str(content_length))
        for name, value in extra:
            if name.lower() not in _CALLER_MAY_NOT_SET:
                headers[name.lower()] = (name, value)
        return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.values()]

    @contextmanager
    def _transport_errors(self, field: str | None, *, download: bool) -> Iterator[None]:
        """Translate the guard's and httpcore's errors, once, into refgen's."""
        try:
            yield
        except _HostRefused as exc:
            raise _error(AddressForbidden, field, str(exc)) from None
        except _HostUnresolved as exc:
            if download:
                raise _error(ImageDownloadFailure, field, str(exc)) from None
            raise ConnectionError(str(exc)) from None
        except httpcore.TimeoutException as exc:
            if download:
                raise _error(ImageDownloadFailure, field, "timed out") from exc
            raise TimeoutError("timed out") from exc
        except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError) as exc:
            kind = "could not connect" if isinstance(exc, httpcore.ConnectError) else "connection failed"
            detail = f"{kind}: {exc}" if str(exc) else kind
            if download:
                raise _error(ImageDownloadFailure, field, detail) from exc
            raise ConnectionError(detail) from exc
        except httpcore.UnsupportedProtocol as exc:
            if download:
                raise _error(ImageDownloadFailure, field, str(exc)) from exc
            raise ConnectionError(str(exc)) from exc


def _core_url(url: httpx.URL) -> httpcore.URL:
    return httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path)


def _timeouts(seconds: float) -> dict[str, object]:
    return {"timeout": {"connect": seconds, "read": seconds, "write": seconds, "pool": seconds}}


def _header(response: httpcore.Response, name: bytes) -> str | None:
    for key, value in response.headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _redirect_target(url: httpx.URL, response: httpcore.Response, field: str | None) -> httpx.URL:
    location = _header(response, b"location")
    if not location:
        raise _error(ImageDownloadFailure, field, f"HTTP {response.status} without a Location header")
    try:
        return parse_url(str(url.join(location.strip())), field=field)
    except (httpx.InvalidURL, FieldInvalid):
        raise _error(ImageDownloadFailure, field, "redirect to an invalid or non-HTTP URL") from None
