"""The address policy and IP literal parsing: no spelling of a refused address gets through."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from refgen.errors import AddressForbidden, FieldInvalid
from refgen.outbound.addresses import AddressPolicy, parse_host_literal

FORBIDDEN = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "0.0.0.0",
    "0",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "169.254.1.1",
    "224.0.0.1",
    "255.255.255.255",
    "240.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%25eth0",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
    "2001:db8::1",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "192.0.0.8",
    "100.100.100.200",
    "[::ffff:169.254.169.254]",
    "[::1]",
    "ff02::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700::1",
    "[2606:4700::1]",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::",
    "134744072",  # 8.8.8.8 spelled as one number
]


def _address(host: str) -> IPv4Address | IPv6Address:
    address = parse_host_literal(host)
    assert address is not None, host
    return address


@pytest.mark.parametrize("host", FORBIDDEN)
def test_policy_refuses_non_public_address(host: str) -> None:
    policy = AddressPolicy()
    with pytest.raises(AddressForbidden):
        policy.check(_address(host))
    assert not policy.is_allowed(_address(host))


@pytest.mark.parametrize("host", ALLOWED)
def test_policy_allows_public_address(host: str) -> None:
    policy = AddressPolicy()
    policy.check(_address(host))
    assert policy.refusal(_address(host)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1", "2130706433", "127.9.9.9", "::ffff:127.0.0.1"])
def test_policy_allow_networks_let_loopback_through(host: str) -> None:
    AddressPolicy([ip_network("127.0.0.0/8")]).check(_address(host))


@pytest.mark.parametrize("host", ["10.0.0.1", "::1", "169.254.169.254", "192.168.1.1"])
def test_policy_allow_networks_let_nothing_else_through(host: str) -> None:
    with pytest.raises(AddressForbidden):
        AddressPolicy([ip_network("127.0.0.0/8")]).check(_address(host))


def test_policy_accepts_networks_as_strings() -> None:
    policy = AddressPolicy(["10.0.0.0/8", "fd00::/8"])
    assert policy.is_allowed(ip_address("10.1.2.3"))
    assert policy.is_allowed(ip_address("fd00::1"))
    assert not policy.is_allowed(ip_address("192.168.0.1"))


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("169.254.0.0/16", "169.254.169.254"),
        ("100.64.0.0/10", "100.100.100.200"),
        ("fd00::/8", "fd00:ec2::254"),
        ("0.0.0.0/0", "169.254.169.254"),
    ],
)
def test_policy_metadata_needs_an_exact_allowance(network: str, address: str) -> None:
    broad = AddressPolicy([network])
    assert broad.refusal(ip_address(address)) == "cloud metadata address"
    assert broad.refusal(ip_address(f"::ffff:{address}") if "." in address else ip_address(address))
    exact = AddressPolicy([f"{address}/{32 if '.' in address else 128}"])
    assert exact.is_allowed(ip_address(address))


def test_policy_error_names_field_and_reason() -> None:
    with pytest.raises(AddressForbidden) as info:
        AddressPolicy().check(ip_address("10.0.0.1"), field="images[2]")
    assert isinstance(info.value, FieldInvalid)
    assert info.value.field == "images[2]"
    assert "images[2]" in info.value.message
    assert "private address" in info.value.message
    assert info.value.reason == "FieldInvalid"


def test_policy_embedded_ipv4_uses_allow_list() -> None:
    policy = AddressPolicy(["10.0.0.0/8"])
    assert policy.is_allowed(ip_address("::ffff:10.1.1.1"))
    assert not AddressPolicy().is_allowed(ip_address("::ffff:10.1.1.1"))


@pytest.mark.parametrize(
    "spelling",
    [
        "127.0.0.1",
        "127.1",
        "127.0.1",
        "2130706433",
        "0x7f000001",
        "0X7F.1",
        "0177.0.0.1",
        "00000177.1",
        "0x7f.0.0.1",
        "4294967295",
        "1.16777215",
        "1.2.65535",
        "8.8.8.8",
        "0",
    ],
)
def test_parse_host_literal_reads_ipv4_like_inet_aton(spelling: str) -> None:
    assert parse_host_literal(spelling) == IPv4Address(socket.inet_aton(spelling))


@pytest.mark.parametrize(
    "spelling", ["4294967296", "1.16777216", "256.0.0.1", "08.0.0.1", "1..2", "1.2.3.4.5", "0x", "foo.123"]
)
def test_parse_host_literal_refuses_malformed_numbers(spelling: str) -> None:
    with pytest.raises(ValueError):
        parse_host_literal(spelling)


@pytest.mark.parametrize("name", ["example.com", "images.example", "localhost", "1.2.3.example", "0x7f.com"])
def test_parse_host_literal_leaves_names_alone(name: str) -> None:
    assert parse_host_literal(name) is None


@pytest.mark.parametrize("host", ["[::1]", "::1", "[::ffff:127.0.0.1]"])
def test_parse_host_literal_reads_ipv6_with_or_without_brackets(host: str) -> None:
    assert isinstance(parse_host_literal(host), IPv6Address)


@pytest.mark.parametrize("host", ["[127.0.0.1]", "[::1", "::1]", "[:::1]", "1:2:3"])
def test_parse_host_literal_refuses_malformed_ipv6(host: str) -> None:
    with pytest.raises(ValueError):
        parse_host_literal(host)


def test_parse_host_literal_accepts_trailing_dot() -> None:
    assert parse_host_literal("127.0.0.1.") == IPv4Address("127.0.0.1")
