"""Many connections held open against a server, as an abusive client holds them: for tests and benchmarks.

:class:`ConnectionFlood` keeps ``count`` connections open from one background thread: a third send
nothing, a third send part of a request head and stop, a third send a whole head announcing a body and
then part of it. Any the server closes is opened again at once (``reopen``), so the pressure does not
let up while a test or benchmark probes the server from fresh connections.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import struct
import threading
import time
from dataclasses import dataclass

KINDS: dict[str, bytes] = {
    "idle": b"",
    "head": b"GET /healthz HTTP/1.1\r\nHost: flood\r\nX-Slow: ",
    "body": (
        b"POST /ent/v2/reference2image HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100000\r\n\r\n{"prompt": "'
    ),
}


@dataclass
class FloodCounts:
    connected: int = 0  # connections open now (connected, partial request sent)
    opened: int = 0  # connections ever completed
    closed_by_server: int = 0
    failed: int = 0  # connects that did not complete (refused, reset, no port)


class ConnectionFlood:
    def __init__(self, host: str, port: int, count: int, *, reopen: bool = True) -> None:
        self.address = (host, port)
        self.count = count
        self.reopen = reopen
        self.counts = FloodCounts()
        self._selector = selectors.DefaultSelector()
        self._slots: dict[socket.socket, tuple[str, bool]] = {}  # socket -> (kind, connected)
        self._started = 0
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="connection-flood", daemon=True)

    def __enter__(self) -> ConnectionFlood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close every connection of the flood and stop opening new ones."""
        self._stop.set()
        self._thread.join(30)

    def wait_started(self, timeout: float) -> bool:
        """Wait until ``count`` connections have completed at least once (each slot was filled)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.counts.opened >= self.count, timeout)

    # the background thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.reopen or self._started < self.count:
                    self._top_up()
                for key, _ in self._selector.select(timeout=0.05):
                    self._ready(key.fileobj)  # type: ignore[arg-type]
        finally:
            for sock in list(self._slots):
                self._drop(sock)
            self._selector.close()

    def _top_up(self) -> None:
        while len(self._slots) < self.count and not self._stop.is_set():
            kind = list(KINDS)[self._started % len(KINDS)]
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex(self.address)
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                self.counts.failed += 1
                return  # out of ports or refused: try again on the next round
            self._started += 1
            self._slots[sock] = (kind, False)
            self._selector.register(sock, selectors.EVENT_WRITE)

    def _ready(self, sock: socket.socket) -> None:
        kind, connected = self._slots[sock]
        if not connected:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.counts.failed += 1
                self._drop(sock)
                return
            try:
                sock.send(KINDS[kind])
            except OSError:
                self.counts.failed += 1
                self._drop(sock)
                return
            self._slots[sock] = (kind, True)
            self._selector.modify(sock, selectors.EVENT_READ)
            with self._changed:
                self.counts.opened += 1
                self.counts.connected += 1
                self._changed.notify_all()
            return
        with contextlib.suppress(OSError):
            sock.recv(4096)  # an answer (408, 503) or the end: either way the server let go of it
        self.counts.closed_by_server += 1
        self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        _, connected = self._slots.pop(sock)
        if connected:
            self.counts.connected -= 1
        self._selector.unregister(sock)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset: no TIME_WAIT
        sock.close()


def probe(host: str, port: int, *, timeout: float, path: str = "/healthz") -> tuple[int, float]:
    """One ``GET path`` from a fresh connection: its status and the seconds until the whole answer."""
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
    return status, time.perf_counter() - start
