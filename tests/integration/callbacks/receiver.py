"""A callback receiver for tests: a real HTTP server on loopback, and the spec's signing algorithm
written here from the spec alone (it shares no code with refgen) to check every request it gets."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the spec's algorithm, independently ---------------------------------------------------------


def spec_signature(token: str, method: str, target: str, headers: dict[str, str]) -> str:
    """signature = base64(HMAC-SHA256(token, METHOD\\npath\\nquery\\nvidu\\nDate\\n + Name:value\\n ...))."""
    path, _, query = target.partition("?")
    text = f"{method}\n{path or '/'}\n{query}\nvidu\n{headers['date']}\n"
    for name in headers["x-hmac-signed-headers"].split(";"):
        text += f"{name}:{headers[name.lower()]}\n"
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha256).digest()).decode()


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: datetime


@dataclass
class Receiver:
    """A callback receiver: records requests and answers each with the next scripted status."""

    port: int
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.received.append(
                        Received(self.command, self.path, headers, body, datetime.now(UTC))
                    )
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.httpd is not None and self.thread is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()
            self.httpd = self.thread = None

    def url(self, path: str = "/hooks/vidu?z=1&a=2") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, condition: Callable[[list[Received]], bool], timeout: float = 20) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = list(self.received)
            if condition(got):
                return got
            assert time.monotonic() < deadline, f"timed out; received {[r.body['state'] for r in got]}"
            time.sleep(0.05)


def assert_authentic(request: Received, token: str) -> None:
    """Signed as the spec says, with a fresh Date."""
    headers = request.headers
    assert request.method == "POST"
    assert headers["x-hmac-algorithm"] == "hmac-sha256" and headers["x-hmac-access-key"] == "vidu"
    assert headers["x-hmac-signed-headers"] == "Date;x-request-nonce"
    assert headers["x-hmac-signature"] == spec_signature(token, "POST", request.target, headers)
    assert headers["date"].endswith(" GMT")
    assert abs((request.at - parsedate_to_datetime(headers["date"])).total_seconds()) < 30
    assert headers["content-type"] == "application/json"
