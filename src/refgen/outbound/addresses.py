"""Which IP addresses the outbound guard lets refgen connect to.

:class:`AddressPolicy` refuses every address that is not plainly on the public internet —
loopback, private, shared (CGNAT), link-local, multicast, reserved, documentation, benchmarking,
cloud-metadata — and IPv6 forms that smuggle such an IPv4 address inside (IPv4-mapped,
IPv4-compatible, 6to4, NAT64, Teredo), unless an operator allows the network in settings.

:func:`parse_host_literal` reads a URL host the way the C resolver would, so that ``2130706433``,
``0x7f.1`` or ``0177.0.0.1`` are recognised as ``127.0.0.1`` and checked as such.

The tables are explicit (from the IANA special-purpose registries) rather than read from
:mod:`ipaddress`' flags alone, whose lists change between Python patch releases; the flags are
still consulted as a second net.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TypeAlias

from refgen.errors import AddressForbidden

IPAddress: TypeAlias = IPv4Address | IPv6Address
IPNetwork: TypeAlias = IPv4Network | IPv6Network

#: Cloud instance-metadata endpoints. They stay refused even when a broader allowed network
#: contains them; only an allowed network that is exactly that one address lets them through.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "fd00:ec2::254",  # AWS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure wire server
        "192.0.0.192",  # Oracle Cloud
    )
)


def _table(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ip_network(net), label) for net, label in rows)


# Checked in order; the first match names the refusal.
_FORBIDDEN_V4 = _table(
    ("0.0.0.0/8", "'this network' address"),
    ("10.0.0.0/8", "private address"),
    ("100.64.0.0/10", "shared (CGNAT) address"),
    ("127.0.0.0/8", "loopback address"),
    ("169.254.0.0/16", "link-local address"),
    ("172.16.0.0/12", "private address"),
    ("192.0.0.0/24", "IETF protocol address"),
    ("192.0.2.0/24", "documentation address"),
    ("192.88.99.0/24", "6to4 relay address"),
    ("192.168.0.0/16", "private address"),
    ("198.18.0.0/15", "benchmarking address"),
    ("198.51.100.0/24", "documentation address"),
    ("203.0.113.0/24", "documentation address"),
    ("224.0.0.0/4", "multicast address"),
    ("255.255.255.255/32", "broadcast address"),
    ("240.0.0.0/4", "reserved address"),
)

_V4_MAPPED = ip_network("::ffff:0:0/96")
_NAT64 = ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ip_network("2002::/16")

_FORBIDDEN_V6 = _table(
    ("::/128", "unspecified address"),
    ("::1/128", "loopback address"),
    ("::/96", "IPv4-compatible address"),
    ("64:ff9b:1::/48", "local NAT64 address"),
    ("100::/64", "discard-only address"),
    ("2001::/32", "Teredo address"),
    ("2001:2::/48", "benchmarking address"),
    ("2001:10::/28", "ORCHID address"),
    ("2001:db8::/32", "documentation address"),
    ("3fff::/20", "documentation address"),
    ("5f00::/16", "segment-routing address"),
    ("fc00::/7", "unique-local (private) address"),
    ("fe80::/10", "link-local address"),
    ("fec0::/10", "site-local address"),
    ("ff00::/8", "multicast address"),
    ("::/8", "reserved address"),
)


def _flags_refusal(ip: IPAddress) -> str | None:
    """Second net: whatever :mod:`ipaddress` considers not global."""
    if ip.is_multicast:
        return "multicast address"
    if ip.is_loopback:
        return "loopback address"
    if ip.is_link_local:
        return "link-local address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_private:
        return "private address"
    if ip.is_reserved:
        return "reserved address"
    if isinstance(ip, IPv6Address) and ip.is_site_local:
        return "site-local address"
    if not ip.is_global:
        return "non-global address"
    return None


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a NAT64 or 6to4 address forwards to, if it is one."""
    if ip in _NAT64:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def _intrinsic_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` is refused with no allowed networks (``None``: it is public)."""
    if ip in METADATA_ADDRESSES:
        return "cloud metadata address"
    if isinstance(ip, IPv4Address):
        for v4net, label in _FORBIDDEN_V4:
            if ip in v4net:
                return label
        return _flags_refusal(ip)
    if ip in _NAT64 or ip in _SIX_TO_FOUR:
        # Public as long as the IPv4 address inside is; the caller checks that one.
        return None
    for v6net, label in _FORBIDDEN_V6:
        if ip in v6net:
            return label
    return _flags_refusal(ip)


class AddressPolicy:
    """Decides whether refgen may open a connection to an IP address.

    ``allow_networks`` (``REFGEN_ALLOW_NETWORKS``) lets otherwise refused addresses through,
    e.g. ``127.0.0.0/8`` for tests or ``10.0.0.0/8`` for an internal image host. Cloud-metadata
    addresses need an allowed network that is exactly that address (``169.254.169.254/32``).
    """

    def __init__(self, allow_networks: Iterable[IPNetwork | str] = ()) -> None:
        self.allow_networks: tuple[IPNetwork, ...] = tuple(
            ip_network(n, strict=False) if isinstance(n, str) else n for n in allow_networks
        )

    def __repr__(self) -> str:
        nets = ", ".join(str(n) for n in self.allow_networks)
        return f"AddressPolicy(allow_networks=[{nets}])"

    def _allowed(self, ip: IPAddress) -> bool:
        if ip in METADATA_ADDRESSES:
            return any(net.num_addresses == 1 and ip in net for net in self.allow_networks)
        return any(ip in net for net in self.allow_networks)

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused, e.g. ``"loopback address"``; ``None`` if it may be connected to."""
        if isinstance(ip, IPv6Address):
            if ip.scope_id is not None:
                ip = IPv6Address(int(ip))  # the zone does not change what the address is
            if ip in _V4_MAPPED and self._allowed(ip):
                return None
            mapped = ip.ipv4_mapped
            if mapped is not None:
                # ::ffff:a.b.c.d is a.b.c.d on a dual-stack socket: judge the IPv4 address.
                return self.refusal(mapped)
        if self._allowed(ip):
            return None
        reason = _intrinsic_refusal(ip)
        if reason is not None:
            return reason
        if isinstance(ip, IPv6Address):
            inner = _embedded_ipv4(ip)
            if inner is not None:
                inner_reason = self.refusal(inner)
                if inner_reason is not None:
                    return f"IPv6 address embedding a {inner_reason}"
        return None

    def is_allowed(self, ip: IPAddress) -> bool:
        return self.refusal(ip) is None

    def check(self, ip: IPAddress, *, field: str | None = None) -> None:
        """Raise :class:`~refgen.errors.AddressForbidden` unless ``ip`` may be connected to."""
        reason = self.refusal(ip)
        if reason is not None:
            raise AddressForbidden(_message(reason, field), field=field)


def _message(reason: str, field: str | None) -> str:
    default = AddressForbidden().message
    where = f": {field}" if field else ""
    return f"{default}{where} ({reason})"


_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]*")


def _looks_numeric(label: str) -> bool:
    return bool(_DECIMAL.fullmatch(label) or _HEX.fullmatch(label))


def _inet_aton_part(part: str) -> int:
    if _HEX.fullmatch(part):
        if len(part) == 2:
            raise ValueError("empty hexadecimal number")
        return int(part[2:], 16)
    if not _DECIMAL.fullmatch(part):
        raise ValueError(f"not a number: {part!r}")
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)  # ValueError for 8 and 9, as inet_aton refuses them
    return int(part, 10)


def _inet_aton(host: str) -> IPv4Address:
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        raise ValueError("an IPv4 address has 1 to 4 parts")
    numbers = [_inet_aton_part(p) for p in parts]
    *leading, last = numbers
    if any(n > 0xFF for n in leading):
        raise ValueError("IPv4 address part out of range")
    if last >= 1 << (8 * (5 - len(numbers))):
        raise ValueError("IPv4 address part out of range")
    value = last
    for i, n in enumerate(leading):
        value |= n << (8 * (3 - i))
    return IPv4Address(value)


def parse_host_literal(host: str) -> IPAddress | None:
    """The IP address a URL host spells, or ``None`` if it is a name to look up.

    IPv4 is read the way ``inet_aton`` reads it: ``127.1``, ``2130706433``, ``0x7f000001``,
    ``0177.0.0.1`` and ``0x7f.0.0.1`` are all ``127.0.0.1``. IPv6 may come with or without
    brackets (a zone, ``%eth0`` or ``%25eth0``, is kept). As in the WHATWG URL standard, a host
    whose last label is a number must be an IPv4 address (``1.2.3.4.5`` and ``foo.123`` are
    not names); a malformed one raises :class:`ValueError`.
    """
    if host.startswith("[") or host.endswith("]"):
        if not (host.startswith("[") and host.endswith("]")):
            raise ValueError(f"unbalanced brackets in host {host!r}")
        host = host[1:-1]
        if ":" not in host:
            raise ValueError(f"not an IPv6 address: {host!r}")
    if ":" in host:
        try:
            return IPv6Address(host.replace("%25", "%", 1))
        except ValueError:
            raise ValueError(f"not an IPv6 address: {host!r}") from None
    name = host[:-1] if host.endswith(".") else host
    if not name or not _looks_numeric(name.rsplit(".", 1)[-1]):
        return None
    try:
        return _inet_aton(name)
    except ValueError:
        raise ValueError(f"not an IPv4 address: {host!r}") from None
