"""The guarded HTTP client every outbound request goes through.

The guard sits where the socket is opened: :class:`GuardedBackend` is an httpcore network
backend whose ``connect_tcp(host, port)`` resolves ``host`` itself, checks every address against
the :class:`~refgen.outbound.addresses.AddressPolicy` and connects to the checked address. There
is no second DNS lookup between check and connect to rebind, and every redirect hop opens its
connection through the same door. httpcore still hands TLS the URL's host name
(``server_hostname``), so certificates are verified against the name, not the IP.

:class:`GuardedClient` drives an :class:`httpcore.AsyncConnectionPool` on that backend (no proxies,
no environment variables), validates URLs (:func:`parse_url`), follows GET redirects by hand,
and caps total time and body size while streaming.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from ipaddress import ip_address
from types import TracebackType
from typing import Self, TypeAlias, TypeVar

import anyio
import anyio.to_thread
import httpcore
import httpx

from refgen.errors import AddressForbidden, FieldInvalid, ImageDownloadFailure, RefgenError
from refgen.outbound.addresses import AddressPolicy, IPAddress, parse_host_literal

#: Looks a host name up: ``(host, port) -> addresses``; raises :class:`OSError` if it can't.
#: Called in a worker thread by the async client.
Resolver: TypeAlias = Callable[[str, int], Sequence[IPAddress]]

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # the contract's per-image limit
MAX_REDIRECTS = 5
MAX_URL_LENGTH = 8192

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(?://)?([^/?#]*)")
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CALLER_MAY_NOT_SET = frozenset({"host", "content-length", "transfer-encoding", "connection"})

E = TypeVar("E", bound=RefgenError)


def _error(cls: type[E], field: str | None, detail: str) -> E:
    """``cls`` with its default message, the field and a detail: ``Invalid field: images[2] (…)``."""
    where = f": {field}" if field else ""
    return cls(f"{cls().message}{where} ({detail})", field=field)


def resolve_system(host: str, port: int) -> list[IPAddress]:
    """The default :data:`Resolver`: ``socket.getaddrinfo``, IPv4 and IPv6, in the OS's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: dict[IPAddress, None] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found.setdefault(ip_address(str(sockaddr[0])), None)
    return list(found)


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


class _HostRefused(Exception):
    """A host resolved to an address the policy refuses (internal: mapped by the client)."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"{host}: {reason}")
        self.host = host
        self.reason = reason


class _HostUnresolved(Exception):
    """A host name could not be resolved (internal: mapped by the client)."""

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"could not resolve {host}: {detail}")
        self.host = host


def _literal(host: str) -> IPAddress | None:
    try:
        return parse_host_literal(host)
    except ValueError as exc:
        raise _HostUnresolved(host, str(exc)) from None


def _lookup(resolver: Resolver, host: str, port: int) -> list[IPAddress]:
    try:
        addresses = list(resolver(host, port))
    except (OSError, UnicodeError) as exc:
        raise _HostUnresolved(host, str(exc) or type(exc).__name__) from None
    if not addresses:
        raise _HostUnresolved(host, "no addresses")
    return addresses


def _checked(policy: AddressPolicy, host: str, addresses: Iterable[IPAddress]) -> list[IPAddress]:
    """``addresses`` if the policy allows every one of them; one refused address refuses the host."""
    addresses = list(addresses)
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            raise _HostRefused(host, reason)
    return addresses


def check_url(
    url: str, policy: AddressPolicy, resolver: Resolver | None = None, *, field: str | None = None
) -> None:
    """Check a URL at request-validation time (e.g. ``callback_url``), blocking on DNS.

    Raises :class:`~refgen.errors.FieldInvalid` for a malformed URL or a host that does not
    resolve, :class:`~refgen.errors.AddressForbidden` if any address it resolves to is refused.
    The connection made later is checked again; this only refuses early. In async code, use
    :meth:`GuardedClient.check_url` (or run this in a thread).
    """
    parsed = parse_url(url, field=field)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    try:
        literal = _literal(host)
        addresses = [literal] if literal is not None else _lookup(resolver or resolve_system, host, port)
        _checked(policy, host, addresses)
    except _HostRefused as exc:
        raise _error(AddressForbidden, field, str(exc)) from None
    except _HostUnresolved as exc:
        raise _error(FieldInvalid, field, str(exc)) from None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the policy allows.

    ``connect_tcp`` resolves the host (IP literals in any spelling are not looked up), refuses
    the host if *any* of its addresses is refused, then connects to the checked addresses in
    order through ``inner`` (default :class:`httpcore.AnyIOBackend`) until one answers.
    Unix sockets are refused.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self._resolver: Resolver = resolver or resolve_system
        self._inner: httpcore.AsyncNetworkBackend = inner or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The checked addresses for ``host``; raises the internal refused/unresolved errors."""
        literal = _literal(host)
        if literal is not None:
            return _checked(self.policy, host, [literal])
        found = await anyio.to_thread.run_sync(_lookup, self._resolver, host, port, abandon_on_cancel=True)
        return _checked(self.policy, host, found)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.addresses(host, port)  # never empty
        error: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("Unix sockets are not allowed for outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


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
