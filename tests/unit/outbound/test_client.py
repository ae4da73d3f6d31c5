"""The guarded client with an injected resolver and a scripted network: no real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Sequence
from ipaddress import ip_address

import httpcore
import pytest

from refgen.errors import AddressForbidden, FieldInvalid, ImageDownloadFailure
from refgen.outbound.addresses import AddressPolicy, IPAddress
from refgen.outbound.client import GuardedClient, check_url, parse_url

PUBLIC = "93.184.215.14"


class FakeResolver:
    """Answers from a table and remembers what it was asked."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ip_address(a) for a in self.table[host]]


class RecordingStream(httpcore.AsyncMockStream):
    def __init__(self, buffer: list[bytes], sent: list[bytes]) -> None:
        super().__init__(buffer)
        self.sent = sent

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.sent.append(buffer)


class ScriptedNetwork(httpcore.AsyncNetworkBackend):
    """Every connection gets the next scripted response; records where it was asked to connect."""

    def __init__(self, *responses: bytes) -> None:
        self.responses = list(responses)
        self.connects: list[tuple[str, int]] = []
        self.sent: list[bytes] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        response = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return RecordingStream([response], self.sent)


def ok(body: bytes = b"hello") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)


def redirect(location: str, status: int = 302) -> bytes:
    return b"HTTP/1.1 %d Found\r\nLocation: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" % (
        status,
        location.encode(),
    )


def get(
    url: str,
    network: ScriptedNetwork,
    resolver: FakeResolver,
    policy: AddressPolicy | None = None,
    max_bytes: int = 1_000_000,
) -> bytes:
    async def main() -> bytes:
        async with GuardedClient(
            policy or AddressPolicy(), resolver=resolver, network_backend=network, max_bytes=max_bytes
        ) as client:
            return await client.get_bytes(url, field="images[0]")

    return asyncio.run(main())


def test_client_refuses_host_resolving_to_private_address() -> None:
    network = ScriptedNetwork(ok())
    resolver = FakeResolver({"internal.example": ["10.0.0.1"]})
    with pytest.raises(AddressForbidden) as info:
        get("http://internal.example/a.png", network, resolver)
    assert resolver.asked == ["internal.example"]
    assert network.connects == []
    assert info.value.field == "images[0]"
    assert "images[0]" in info.value.message and "private address" in info.value.message
    assert "10.0.0.1" not in info.value.message


def test_client_refuses_host_resolving_to_public_and_private_addresses() -> None:
    network = ScriptedNetwork(ok())
    resolver = FakeResolver({"mixed.example": [PUBLIC, "127.0.0.1"]})
    with pytest.raises(AddressForbidden):
        get("http://mixed.example/a.png", network, resolver)
    assert network.connects == []


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://[::1]/"]
)
def test_client_refuses_ip_literals_without_resolving(url: str) -> None:
    network = ScriptedNetwork(ok())
    resolver = FakeResolver({})
    with pytest.raises(AddressForbidden):
        get(url, network, resolver)
    assert resolver.asked == []
    assert network.connects == []


def test_client_connects_to_the_checked_address_and_sends_the_host_name() -> None:
    network = ScriptedNetwork(ok(b"png bytes"))
    resolver = FakeResolver({"images.example": [PUBLIC]})
    assert get("http://images.example:8080/a.png?x=1#frag", network, resolver) == b"png bytes"
    assert network.connects == [(PUBLIC, 8080)]
    request = b"".join(network.sent)
    assert request.startswith(b"GET /a.png?x=1 HTTP/1.1\r\n")
    assert b"Host: images.example:8080\r\n" in request
    assert b"User-Agent: refgen\r\n" in request


def test_client_tries_the_next_checked_address_when_one_fails() -> None:
    class FirstFails(ScriptedNetwork):
        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
        ) -> httpcore.AsyncNetworkStream:
            if not self.connects:
                self.connects.append((host, port))
                raise httpcore.ConnectError("refused")
            return await super().connect_tcp(host, port, timeout, local_address, socket_options)

    network = FirstFails(ok())
    resolver = FakeResolver({"images.example": ["2606:4700::1", PUBLIC]})
    assert get("http://images.example/", network, resolver) == b"hello"
    assert network.connects == [("2606:4700::1", 80), (PUBLIC, 80)]


def test_client_rechecks_the_address_of_a_redirect_hop() -> None:
    network = ScriptedNetwork(redirect("http://metadata.internal/latest/"), ok())
    resolver = FakeResolver({"images.example": [PUBLIC], "metadata.internal": ["169.254.169.254"]})
    with pytest.raises(AddressForbidden) as info:
        get("http://images.example/a.png", network, resolver)
    assert "cloud metadata address" in info.value.message
    assert network.connects == [(PUBLIC, 80)]


def test_client_follows_relative_redirect() -> None:
    network = ScriptedNetwork(redirect("/b.png", 301), ok(b"moved"))
    resolver = FakeResolver({"images.example": [PUBLIC]})
    assert get("http://images.example/a.png", network, resolver) == b"moved"
    assert b"GET /b.png HTTP/1.1" in b"".join(network.sent)


def test_client_gives_up_after_five_redirects() -> None:
    network = ScriptedNetwork(redirect("/again"))
    resolver = FakeResolver({"images.example": [PUBLIC]})
    with pytest.raises(ImageDownloadFailure, match="more than 5 redirects"):
        get("http://images.example/", network, resolver)
    assert len(network.connects) == 6


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "gopher://images.example/", "http://user@x.example/"]
)
def test_client_refuses_redirect_to_non_http_url(location: str) -> None:
    network = ScriptedNetwork(redirect(location), ok())
    resolver = FakeResolver({"images.example": [PUBLIC]})
    with pytest.raises(ImageDownloadFailure, match="redirect"):
        get("http://images.example/", network, resolver)


def test_client_non_2xx_is_a_download_failure() -> None:
    network = ScriptedNetwork(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    resolver = FakeResolver({"images.example": [PUBLIC]})
    with pytest.raises(ImageDownloadFailure, match=r"images\[0\] \(the URL answered 404\)"):
        get("http://images.example/", network, resolver)


def test_client_refuses_declared_body_over_the_cap() -> None:
    network = ScriptedNetwork(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    resolver = FakeResolver({"images.example": [PUBLIC]})
    with pytest.raises(ImageDownloadFailure, match="larger than 100 bytes"):
        get("http://images.example/", network, resolver, max_bytes=100)


def test_client_stops_reading_undeclared_body_over_the_cap() -> None:
    network = ScriptedNetwork(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"x" * 101)
    resolver = FakeResolver({"images.example": [PUBLIC]})
    with pytest.raises(ImageDownloadFailure, match="larger than 100 bytes"):
        get("http://images.example/", network, resolver, max_bytes=100)


def test_client_caps_the_body_of_a_redirect_hop_too() -> None:
    huge_redirect = b"HTTP/1.1 302 Found\r\nLocation: /b.png\r\nContent-Length: 1000000\r\n\r\n"
    network = ScriptedNetwork(huge_redirect, ok())
    resolver = FakeResolver({"images.example": [PUBLIC]})
    with pytest.raises(ImageDownloadFailure, match="larger than 100 bytes"):
        get("http://images.example/a.png", network, resolver, max_bytes=100)
    assert len(network.connects) == 1


def test_client_keeps_no_cookies_across_redirects() -> None:
    cookie_redirect = (
        b"HTTP/1.1 302 Found\r\nLocation: /b.png\r\nSet-Cookie: session=secret; Path=/\r\n"
        b"Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    network = ScriptedNetwork(cookie_redirect, ok())
    resolver = FakeResolver({"images.example": [PUBLIC]})
    assert get("http://images.example/a.png", network, resolver) == b"hello"
    assert b"GET /b.png HTTP/1.1" in b"".join(network.sent)
    assert b"secret" not in b"".join(network.sent)


def test_client_unresolvable_host_is_a_download_failure() -> None:
    with pytest.raises(ImageDownloadFailure, match=r"could not resolve nowhere\.example"):
        get("http://nowhere.example/", ScriptedNetwork(ok()), FakeResolver({}))


def test_client_post_returns_status_and_does_not_follow_redirects() -> None:
    network = ScriptedNetwork(redirect("http://elsewhere.example/"))
    resolver = FakeResolver({"hooks.example": [PUBLIC]})

    async def main() -> int:
        async with GuardedClient(AddressPolicy(), resolver=resolver, network_backend=network) as client:
            return await client.post(
                "https://hooks.example/cb",
                content=b'{"state":"success"}',
                headers={"Content-Type": "application/json", "Host": "evil.example"},
            )

    assert asyncio.run(main()) == 302
    assert network.connects == [(PUBLIC, 443)]
    request = b"".join(network.sent)
    assert request.startswith(b"POST /cb HTTP/1.1\r\n")
    assert b"Host: hooks.example\r\n" in request
    assert b"evil.example" not in request
    assert b"Content-Length: 19\r\n" in request
    assert request.endswith(b'{"state":"success"}')


def test_client_post_does_not_read_the_answer() -> None:
    network = ScriptedNetwork(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
    resolver = FakeResolver({"hooks.example": [PUBLIC]})

    async def main() -> int:
        async with GuardedClient(
            AddressPolicy(), resolver=resolver, network_backend=network, max_bytes=100
        ) as client:
            return await client.post("http://hooks.example/cb", content=b"{}")

    assert asyncio.run(main()) == 200


def test_client_post_refuses_private_callback_address() -> None:
    network = ScriptedNetwork(ok())
    resolver = FakeResolver({"hooks.example": ["192.168.0.10"]})

    async def main() -> int:
        async with GuardedClient(AddressPolicy(), resolver=resolver, network_backend=network) as client:
            return await client.post("http://hooks.example/cb", content=b"{}", field="callback_url")

    with pytest.raises(AddressForbidden, match="callback_url"):
        asyncio.run(main())
    assert network.connects == []


def test_client_post_connection_failure_is_an_os_error() -> None:
    class Refusing(ScriptedNetwork):
        async def connect_tcp(
            self,
            host: str,
            port: int,
            timeout: float | None = None,
            local_address: str | None = None,
            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
        ) -> httpcore.AsyncNetworkStream:
            raise httpcore.ConnectError("[Errno 111] Connection refused")

    resolver = FakeResolver({"hooks.example": [PUBLIC]})

    async def main() -> int:
        async with GuardedClient(
            AddressPolicy(), resolver=resolver, network_backend=Refusing(ok())
        ) as client:
            return await client.post("http://hooks.example/cb", content=b"{}")

    with pytest.raises(ConnectionError, match="could not connect"):
        asyncio.run(main())


def test_client_check_url_async_uses_the_resolver() -> None:
    resolver = FakeResolver({"hooks.example": [PUBLIC], "internal.example": ["fd12::1"]})

    async def main() -> None:
        async with GuardedClient(AddressPolicy(), resolver=resolver) as client:
            await client.check_url("https://hooks.example/cb")
            with pytest.raises(AddressForbidden):
                await client.check_url("https://internal.example/cb", field="callback_url")

    asyncio.run(main())


# -- URL validation ---------------------------------------------------------------------------

INVALID_URLS = [
    "",
    "images.example/a.png",
    "//images.example/a.png",
    "ftp://images.example/a.png",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "http:///a.png",
    "http://:80/a.png",
    "http://user:secret@images.example/a.png",
    "http://images.example@127.0.0.1/a.png",
    "http://@images.example/a.png",
    "http://images.example\\@127.0.0.1/",
    "http://images example/a.png",
    "http://images.example/a b.png",
    "http://images.example\n/a.png",
    "http://images.example:0/",
    "http://images.example:99999/",
    "http://1.2.3.4.5/",
    "http://foo.123/",
    "http://256.1.1.1/",
    "http://exa%41mple.com/",
    "http://[::1/",
    "http://images.example/" + "a" * 9000,
]


@pytest.mark.parametrize("url", INVALID_URLS)
def test_parse_url_refuses_malformed_url(url: str) -> None:
    with pytest.raises(FieldInvalid) as info:
        parse_url(url, field="images[1]")
    assert not isinstance(info.value, AddressForbidden)
    assert info.value.field == "images[1]"
    assert "images[1]" in info.value.message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://images.example/a.png", "https://images.example/a.png"),
        ("HTTP://Images.Example/a.png#frag", "http://images.example/a.png"),
        ("http://2130706433/x", "http://127.0.0.1/x"),
        ("http://0x7f.1:8080/x?y=1", "http://127.0.0.1:8080/x?y=1"),
        ("http://[2606:4700::1]/x", "http://[2606:4700::1]/x"),
        ("http://münchen.example/x", "http://xn--mnchen-3ya.example/x"),
    ],
)
def test_parse_url_normalises_valid_url(url: str, expected: str) -> None:
    assert str(parse_url(url)) == expected


def test_check_url_refuses_private_callback() -> None:
    resolver = FakeResolver({"hooks.internal": ["10.0.0.1"]})
    with pytest.raises(AddressForbidden) as info:
        check_url("https://hooks.internal/cb", AddressPolicy(), resolver, field="callback_url")
    assert info.value.field == "callback_url"


def test_check_url_accepts_public_callback() -> None:
    resolver = FakeResolver({"hooks.example": [PUBLIC, "2606:4700::1"]})
    check_url("https://hooks.example/cb", AddressPolicy(), resolver)
    assert resolver.asked == ["hooks.example"]


def test_check_url_checks_literals_without_resolving() -> None:
    resolver = FakeResolver({})
    with pytest.raises(AddressForbidden):
        check_url("http://[::ffff:169.254.169.254]/", AddressPolicy(), resolver)
    check_url("http://127.0.0.1:9/", AddressPolicy(["127.0.0.0/8"]), resolver)
    assert resolver.asked == []


def test_check_url_unresolvable_host_is_invalid_not_forbidden() -> None:
    with pytest.raises(FieldInvalid) as info:
        check_url("https://nowhere.example/", AddressPolicy(), FakeResolver({}), field="callback_url")
    assert not isinstance(info.value, AddressForbidden)
    assert "could not resolve" in info.value.message
