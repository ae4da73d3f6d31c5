"""The address guard as an httpx transport: every request, every redirect hop, goes through it.

:class:`GuardedTransport` is an :class:`httpx.AsyncBaseTransport` (shaped like httpx's own
``AsyncHTTPTransport``) over an :class:`httpcore.AsyncConnectionPool` whose network backend is
the guard (:class:`~refgen.outbound.guard.GuardedBackend`): a connection is opened only to an
address the policy allows, the one that was checked. On top of that, the transport

- refuses a request whose URL is not one :func:`~refgen.outbound.urls.parse_url` accepts
  (``http``/``https`` only, no credentials), which matters for redirect targets;
- caps every response body it streams at ``max_bytes``, redirect bodies included: a declared
  ``Content-Length`` over the cap is refused before reading, an undeclared body when it passes
  the cap. The cap applies when the body is read; a caller that only wants the status (a
  callback) never reads it.

The client on top (:class:`httpx.AsyncClient`) follows redirects, applies timeouts and pools
connections. httpcore's errors become httpx's, as in httpx's transport; the guard's own refusals
(``_HostRefused``, ``_HostUnresolved``, ``_UrlRefused``, ``_BodyTooLarge``) pass through for
:class:`~refgen.outbound.client.GuardedClient` to translate.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager

import httpcore
import httpx

from refgen.errors import FieldInvalid
from refgen.outbound.addresses import AddressPolicy
from refgen.outbound.guard import GuardedBackend, Resolver
from refgen.outbound.urls import parse_url

# Most specific first: the first match wins.
_HTTPCORE_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


class _UrlRefused(Exception):
    """A request URL (a redirect target) the guard does not send to (internal: mapped by the client)."""


class _BodyTooLarge(Exception):
    """A response body over the transport's cap (internal: mapped by the client)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


@contextmanager
def _httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _HTTPCORE_ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _CappedStream(httpx.AsyncByteStream):
    """httpcore's response stream, with httpx's errors and the size cap."""

    def __init__(self, stream: AsyncIterable[bytes], declared: str | None, limit: int | None) -> None:
        self._stream = stream
        self._declared = declared
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        limit = self._limit
        declared = (self._declared or "").strip()
        if limit is not None and declared.isdigit() and int(declared) > limit:
            raise _BodyTooLarge(limit)
        received = 0
        with _httpx_errors():
            async for chunk in self._stream:
                received += len(chunk)
                if limit is not None and received > limit:
                    raise _BodyTooLarge(limit)
                yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


class GuardedTransport(httpx.AsyncBaseTransport):
    """Sends requests only to addresses ``policy`` allows, and caps the bodies it returns.

    ``resolver`` and ``network_backend`` (what the guard connects through, default
    :class:`httpcore.AnyIOBackend`) are injectable for tests; ``ssl_context`` defaults to
    httpcore's (certifi). No proxies, no environment variables, HTTP/1.1 only.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_bytes: int | None = None,
        resolver: Resolver | None = None,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_connections: int = 16,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self.guard = GuardedBackend(policy, resolver, network_backend)
        self.max_bytes = max_bytes
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=self.guard,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            parse_url(str(request.url))
        except FieldInvalid as exc:
            raise _UrlRefused(exc.message) from None
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        declared = next(
            (
                value.decode("latin-1")
                for name, value in response.headers
                if name.lower() == b"content-length"
            ),
            None,
        )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CappedStream(response.stream, declared, self.max_bytes),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
