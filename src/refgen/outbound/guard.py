"""The address guard: resolve a host, check every address, connect only to a checked one.

The guard sits where the socket is opened: :class:`GuardedBackend` is an httpcore network
backend whose ``connect_tcp(host, port)`` resolves ``host`` itself, checks every address against
the :class:`~refgen.outbound.addresses.AddressPolicy` and connects to the checked address. There
is no second DNS lookup between check and connect to rebind, and every redirect hop opens its
connection through the same door. httpcore still hands TLS the URL's host name
(``server_hostname``), so certificates are verified against the name, not the IP.

:func:`check_url` makes the same check early, at request-validation time, without connecting.
The internal ``_HostRefused`` and ``_HostUnresolved`` errors are mapped to refgen's errors by
:func:`check_url` here and by :class:`~refgen.outbound.client.GuardedClient`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Sequence
from ipaddress import ip_address
from typing import TypeAlias

import anyio
import anyio.to_thread
import httpcore

from refgen.errors import AddressForbidden, FieldInvalid
from refgen.outbound.addresses import AddressPolicy, IPAddress, parse_host_literal
from refgen.outbound.urls import _DEFAULT_PORTS, _error, parse_url

#: Looks a host name up: ``(host, port) -> addresses``; raises :class:`OSError` if it can't.
#: Called in a worker thread by the async client.
Resolver: TypeAlias = Callable[[str, int], Sequence[IPAddress]]


def resolve_system(host: str, port: int) -> list[IPAddress]:
    """The default :data:`Resolver`: ``socket.getaddrinfo``, IPv4 and IPv6, in the OS's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: dict[IPAddress, None] = {}
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found.setdefault(ip_address(str(sockaddr[0])), None)
    return list(found)


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
