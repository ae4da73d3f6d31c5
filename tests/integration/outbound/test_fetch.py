"""The guarded client against a real HTTP server on 127.0.0.1 (and a real TLS one)."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from refgen.errors import AddressForbidden, ImageDownloadFailure
from refgen.outbound.addresses import AddressPolicy, IPAddress
from refgen.outbound.client import GuardedClient
from refgen.outbound.images import fetch_all

T = TypeVar("T")
BODY = b"\x89PNG\r\n\x1a\n not really a png"
LOOPBACK = AddressPolicy(["127.0.0.0/8"])


class Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the handler threads
    block_on_close = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.tls = tls
        self.connections = 0
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        self.release = threading.Event()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True)  # handshake errors are OSErrors
        return sock, address

    def verify_request(self, request: Any, client_address: Any) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (timeout, size cap) is expected here


class Handler(BaseHTTPRequestHandler):
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.requests.append((self.path, self.headers.get("Host", "")))
        url = urlsplit(self.path)
        try:
            if url.path == "/ok":
                self.send(200, BODY, {"Content-Type": "image/png"})
            elif url.path == "/host":
                self.send(200, self.headers.get("Host", "").encode())
            elif url.path == "/missing":
                self.send(404, b"not found")
            elif url.path == "/big":
                self.send(200, b"x" * 5000)
            elif url.path == "/big-undeclared":
                self.send_response(200)
                self.end_headers()
                for _ in range(50):
                    self.wfile.write(b"x" * 100)
            elif url.path == "/slow":
                self.server.release.wait(5)
                self.send(200, BODY)
            elif url.path == "/redirect":
                self.send(302, headers={"Location": "/ok"})
            elif url.path == "/redirect-to":
                self.send(302, headers={"Location": parse_qs(url.query)["url"][0]})
            else:
                self.send(404)
        except OSError:
            pass  # the client went away


@dataclass
class Running:
    server: Server
    scheme: str = "http"
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[Running]:
    running = Running(Server())
    yield running
    running.stop()


def run(policy: AddressPolicy, action: Callable[[GuardedClient], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        async with GuardedClient(policy, **options) as client:
            return await action(client)

    return asyncio.run(main())


def get(policy: AddressPolicy, url: str, **options: Any) -> bytes:
    return run(policy, lambda client: client.get_bytes(url, field="images[0]"), **options)


def test_fetch_ok(server: Running) -> None:
    assert get(LOOPBACK, server.url("/ok")) == BODY


def test_fetch_404_is_download_failure(server: Running) -> None:
    with pytest.raises(ImageDownloadFailure, match=r"images\[0\] \(the URL answered 404\)"):
        get(LOOPBACK, server.url("/missing"))


@pytest.mark.parametrize("path", ["/big", "/big-undeclared"])
def test_fetch_too_large_is_download_failure(server: Running, path: str) -> None:
    with pytest.raises(ImageDownloadFailure, match="larger than 1000 bytes"):
        get(LOOPBACK, server.url(path), max_bytes=1000)


def test_fetch_at_the_cap_is_fine(server: Running) -> None:
    assert get(LOOPBACK, server.url("/big"), max_bytes=5000) == b"x" * 5000


def test_fetch_slow_server_is_download_failure(server: Running) -> None:
    loop_time: list[float] = []

    async def timed(client: GuardedClient) -> bytes:
        start = asyncio.get_running_loop().time()
        try:
            return await client.get_bytes(server.url("/slow"))
        finally:
            loop_time.append(asyncio.get_running_loop().time() - start)

    with pytest.raises(ImageDownloadFailure, match="timed out"):
        run(LOOPBACK, timed, timeout=0.3)
    assert loop_time[0] < 2


def test_fetch_follows_redirect_to_allowed_path(server: Running) -> None:
    assert get(LOOPBACK, server.url("/redirect")) == BODY
    assert [path for path, _ in server.server.requests] == ["/redirect", "/ok"]


@pytest.mark.parametrize(
    "target", ["http://127.0.0.2:{port}/ok", "http://10.0.0.1/", "http://[::1]:{port}/ok"]
)
def test_fetch_redirect_to_forbidden_target_is_refused(server: Running, target: str) -> None:
    only_this_host = AddressPolicy(["127.0.0.1/32"])
    url = server.url("/redirect-to?url=" + target.format(port=server.port))
    with pytest.raises(AddressForbidden):
        get(only_this_host, url)
    assert len(server.server.requests) == 1


def test_fetch_connection_refused_is_download_failure() -> None:
    with pytest.raises(ImageDownloadFailure, match="could not connect"):
        get(LOOPBACK, "http://127.0.0.1:1/ok")


def test_fetch_without_allow_list_refuses_loopback_before_connecting(server: Running) -> None:
    for url in [server.url("/ok"), server.url("/ok", host="2130706433"), server.url("/ok", host="127.1")]:
        with pytest.raises(AddressForbidden):
            get(AddressPolicy(), url)
    assert server.server.connections == 0


def test_fetch_connects_to_the_checked_address(server: Running) -> None:
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[IPAddress]:
        asked.append(host)
        return [ip_address("127.0.0.1")] if host == "images.example" else []

    body = get(LOOPBACK, server.url("/host", host="images.example"), resolver=resolver)
    assert body == f"images.example:{server.port}".encode()
    assert asked == ["images.example"]
    assert server.server.requests == [("/host", f"images.example:{server.port}")]


def test_fetch_with_system_resolver_checks_every_address(server: Running) -> None:
    # localhost may resolve to ::1 as well as 127.0.0.1: both must be allowed, and the
    # client falls back to 127.0.0.1 if ::1 refuses the connection.
    infos = socket.getaddrinfo("localhost", server.port, type=socket.SOCK_STREAM)
    addresses = {ip_address(str(info[4][0])) for info in infos}
    with pytest.raises(AddressForbidden):
        get(AddressPolicy(), server.url("/ok", host="localhost"))
    if any(a.version == 6 for a in addresses):
        with pytest.raises(AddressForbidden):
            get(LOOPBACK, server.url("/ok", host="localhost"))
    both = AddressPolicy(["127.0.0.0/8", "::1/128"])
    assert get(both, server.url("/ok", host="localhost")) == BODY


def test_fetch_all_in_parallel(server: Running) -> None:
    urls = [
        ("images[0]", server.url("/ok")),
        ("images[1]", server.url("/redirect")),
        ("images[3]", server.url("/host")),
    ]
    bodies = run(LOOPBACK, lambda client: fetch_all(urls, client))
    assert bodies == [BODY, BODY, f"127.0.0.1:{server.port}".encode()]


def test_fetch_all_names_the_failing_index(server: Running) -> None:
    urls = [
        ("images[0]", server.url("/ok")),
        ("images[1]", server.url("/ok")),
        ("images[2]", server.url("/missing")),
    ]
    with pytest.raises(ImageDownloadFailure) as info:
        run(LOOPBACK, lambda client: fetch_all(urls, client))
    assert info.value.field == "images[2]"
    assert "images[2]" in info.value.message


def test_post_returns_status(server: Running) -> None:
    status = run(LOOPBACK, lambda client: client.post(server.url("/anything"), content=b"{}"))
    assert status == 501  # BaseHTTPRequestHandler has no do_POST


# -- TLS: connecting to the checked IP still verifies the URL's host name -----------------------


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, pem


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Running, ssl.SSLContext]]:
    cert_path, key_path, pem = _certificate(tmp_path, "images.example")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    client_context = ssl.create_default_context(cadata=pem.decode())
    running = Running(Server(tls=server_context), scheme="https")
    yield running, client_context
    running.stop()


def _to_loopback(host: str, port: int) -> list[IPAddress]:
    return [ip_address("127.0.0.1")]


def test_fetch_tls_verifies_the_host_name_not_the_ip(tls_server: tuple[Running, ssl.SSLContext]) -> None:
    running, context = tls_server
    url = running.url("/ok", host="images.example")
    assert get(LOOPBACK, url, resolver=_to_loopback, ssl_context=context) == BODY


def test_fetch_tls_refuses_a_certificate_for_another_name(tls_server: tuple[Running, ssl.SSLContext]) -> None:
    running, context = tls_server
    url = running.url("/ok", host="other.example")
    with pytest.raises(ImageDownloadFailure, match="could not connect"):
        get(LOOPBACK, url, resolver=_to_loopback, ssl_context=context)
    assert running.server.requests == []
