"""Outbound HTTP: the one guarded way refgen reaches other machines.

Image URLs, ``wm_url`` and callbacks all go through :class:`GuardedClient`, which

- accepts only well-formed ``http``/``https`` URLs without credentials (else ``FieldInvalid``);
- resolves the host itself, checks *every* address against an :class:`AddressPolicy` and then
  connects to the address it checked, so a DNS answer that changes between check and connect
  cannot reach a refused address (``AddressForbidden``); TLS still verifies the URL's host name;
- follows at most five redirects for GET, re-checking each hop (every hop goes through the
  guarded transport);
- caps total time and body size, reading the body as a stream.

Modules: :mod:`.addresses` (which IP addresses are refused, IPv4 literal parsing), :mod:`.urls`
(URL validation), :mod:`.guard` (resolving, checking and connecting to the checked address: the
guarded network backend), :mod:`.transport` (the guard as an httpx transport, with the size cap),
:mod:`.client` (the client: an ``httpx.AsyncClient`` on that transport, time caps, refgen's errors),
:mod:`.images` (fetching a request's image URLs in parallel).
"""

from refgen.outbound.addresses import AddressPolicy, parse_host_literal
from refgen.outbound.client import GuardedClient, Resolver, check_url, parse_url, resolve_system
from refgen.outbound.images import fetch_all
from refgen.outbound.transport import GuardedTransport

__all__ = [
    "AddressPolicy",
    "GuardedClient",
    "GuardedTransport",
    "Resolver",
    "check_url",
    "fetch_all",
    "parse_host_literal",
    "parse_url",
    "resolve_system",
]
