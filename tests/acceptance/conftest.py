"""The installed ``refgen`` command in subprocesses: a real server, real workers, real HTTP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

REFGEN = shutil.which("refgen", path=str(Path(sys.executable).parent)) or "refgen"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def worker_pids(pid: int) -> list[int]:
    """The server's worker processes (not multiprocessing's resource tracker)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and b"spawn_main" in (stat.parent / "cmdline").read_bytes():
            children.append(int(stat.parent.name))
    return children


@dataclass
class RunningServer:
    data_dir: Path
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    token: str = ""
    extra_args: list[str] = field(default_factory=list)
    cwd: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [REFGEN, *args],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [REFGEN, "serve", "--port", str(self.port), *self.extra_args],
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not become ready:\n{self.log.read_text()}")

    def workers(self) -> list[int]:
        assert self.process is not None
        return worker_pids(self.process.pid)

    def kill(self) -> None:
        """SIGKILL the server and everything it started, as a crash would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Token {self.token}"}, timeout=30
        )


@pytest.fixture
def refgen_server(tmp_path: Path) -> Iterator[RunningServer]:
    env = {
        **os.environ,
        "REFGEN_DATA_DIR": str(tmp_path / "data"),
        "REFGEN_ALLOW_NETWORKS": "127.0.0.0/8",
        "REFGEN_LEASE_SECONDS": "3",
        "REFGEN_HEARTBEAT_SECONDS": "0.3",
        "PYTHONUNBUFFERED": "1",
    }
    server = RunningServer(tmp_path / "data", free_port(), env, tmp_path / "server.log")
    server.start()  # first: only `refgen serve` creates the database
    server.token = server.cli("keys", "create", "--name", "tester").stdout.strip().splitlines()[-1]
    yield server
    server.stop()


@pytest.fixture
def picture_host(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local web server for image URLs: (base URL, folder it serves)."""
    folder = tmp_path / "web"
    folder.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", folder
    httpd.shutdown()
    httpd.server_close()
    thread.join()
