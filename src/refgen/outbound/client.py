"""The guarded HTTP client every outbound request goes through.

:class:`GuardedClient` is an :class:`httpx.AsyncClient` on the guarded transport
(:class:`~refgen.outbound.transport.GuardedTransport`: the address guard, the size cap; no
proxies, no environment variables, no cookies). httpx follows GET redirects (each hop goes
through the transport, so each hop's address is checked), applies timeouts and pools
connections; this module validates URLs (:func:`~refgen.outbound.urls.parse_url`), bounds each
call's total time, and turns every failure into refgen's errors once.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Self

import anyio
import httpcore
import httpx

from refgen.errors import AddressForbidden, FieldInvalid, ImageDownloadFailure
from refgen.media.images import MAX_IMAGE_BYTES
from refgen.outbound.addresses import AddressPolicy
from refgen.outbound.guard import (
    GuardedBackend,
    Resolver,
    _HostRefused,
    _HostUnresolved,
    check_url,
    resolve_system,
)
from refgen.outbound.transport import GuardedTransport, _BodyTooLarge, _UrlRefused
from refgen.outbound.urls import _DEFAULT_PORTS, MAX_URL_LENGTH, _error, parse_url

# URL validation (.urls), the address guard (.guard) and the transport (.transport) live in their
# own modules; their public names are re-exported here so that ``from refgen.outbound.client
# import ...`` keeps working.
__all__ = [
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "MAX_URL_LENGTH",
    "GuardedBackend",
    "GuardedClient",
    "GuardedTransport",
    "Resolver",
    "check_url",
    "parse_url",
    "resolve_system",
]

DEFAULT_TIMEOUT = 10.0
MAX_REDIRECTS = 5

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CALLER_MAY_NOT_SET = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class GuardedClient:
    """The one HTTP client for outbound requests: guarded addresses, bounded time and size.

    Use as an async context manager (or call :meth:`aclose`)::

        async with GuardedClient(AddressPolicy(settings.allow_networks)) as client:
            data = await client.get_bytes(url, field="images[0]")

    ``timeout`` bounds a whole call (DNS, connect, every redirect, the body); ``max_bytes``
    bounds every response body read (redirect bodies too; default: the contract's image limit).
    ``resolver`` and ``network_backend`` (the backend the guard connects through) are injectable
    for tests; ``ssl_context`` defaults to httpcore's (certifi).
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = MAX_IMAGE_BYTES,
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
        self.transport = GuardedTransport(
            policy,
            max_bytes=max_bytes,
            resolver=resolver,
            network_backend=network_backend,
            ssl_context=ssl_context,
            max_connections=max_connections,
        )
        self._client = httpx.AsyncClient(
            transport=self.transport,
            headers={"User-Agent": user_agent, "Accept-Encoding": "identity"},
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),  # keep none, send none
            timeout=timeout,
            follow_redirects=False,
            max_redirects=max_redirects,
            trust_env=False,
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
        await self._client.aclose()

    async def check_url(self, url: str, *, field: str | None = None) -> None:
        """Like :func:`check_url`, without blocking the event loop."""
        parsed = parse_url(url, field=field)
        host = parsed.raw_host.decode("ascii")
        try:
            with anyio.fail_after(self.timeout):
                await self.transport.guard.addresses(host, parsed.port or _DEFAULT_PORTS[parsed.scheme])
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
            with anyio.fail_after(self.timeout), self._transport_errors(field, download=True):
                async with self._client.stream(
                    "GET", target, headers={"Accept": "image/*, */*;q=0.8"}, follow_redirects=True
                ) as response:
                    status = response.status_code
                    if status in _REDIRECT_STATUSES:
                        raise _error(
                            ImageDownloadFailure,
                            field,
                            f"the URL answered {status} without a Location header",
                        )
                    if not 200 <= status < 300:
                        raise _error(ImageDownloadFailure, field, f"the URL answered {status}")
                    return b"".join([chunk async for chunk in response.aiter_raw()])
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
        allowed = {
            name: value for name, value in (headers or {}).items() if name.lower() not in _CALLER_MAY_NOT_SET
        }
        try:
            with anyio.fail_after(limit), self._transport_errors(field, download=False):
                async with self._client.stream(
                    "POST", target, content=content, headers=allowed, timeout=limit
                ) as response:
                    return response.status_code
        except TimeoutError:
            raise TimeoutError(f"POST to {target.host} timed out after {limit:g} s") from None

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _transport_errors(self, field: str | None, *, download: bool) -> Iterator[None]:
        """Translate the guard's and httpx's errors, once, into refgen's."""

        def failure(detail: str) -> Exception:
            return _error(ImageDownloadFailure, field, detail) if download else ConnectionError(detail)

        try:
            yield
        except _HostRefused as exc:
            raise _error(AddressForbidden, field, str(exc)) from None
        except (_HostUnresolved, _BodyTooLarge) as exc:
            raise failure(str(exc)) from None
        except _UrlRefused:
            raise failure("redirect to an invalid or non-HTTP URL") from None
        except httpx.TooManyRedirects:
            raise failure(f"more than {self.max_redirects} redirects") from None
        except httpx.TimeoutException as exc:
            if download:
                raise failure("timed out") from exc
            raise TimeoutError("timed out") from exc
        except (httpx.NetworkError, httpx.ProtocolError) as exc:
            kind = "could not connect" if isinstance(exc, httpx.ConnectError) else "connection failed"
            raise failure(f"{kind}: {exc}" if str(exc) else kind) from exc
        except httpx.UnsupportedProtocol as exc:
            raise failure(str(exc)) from exc
