"""``refgen serve`` in a child process, started the way a service manager starts it: for tests and benchmarks.

The child gets the open-files limit a service manager usually gives (a soft limit of 1,024) before
it runs, so what ``refgen serve`` does about that limit is what is exercised.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import refgen
from refgen.testing.connection_flood import probe


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        soft_files: int = 1024,
        hard_files: int | None = None,
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.port = port
        self.log_path = log or data_dir.parent / f"serve-{port}.log"
        self._limits = (soft_files, hard_files)
        self._args = [sys.executable, "-m", "refgen", "serve", "--port", str(port), "--workers", "0"]
        source = str(Path(refgen.__file__).resolve().parents[1])  # the child runs this very refgen
        path = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH", "")) if p)
        self._env = {**os.environ, "PYTHONPATH": path, "REFGEN_DATA_DIR": str(data_dir), **(env or {})}
        data_dir.mkdir(parents=True, exist_ok=True)
        self._process: subprocess.Popen[bytes] | None = None

    def _set_limits(self) -> None:  # runs in the child, before refgen starts
        soft, hard = self._limits
        current_hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, current_hard if hard is None else hard))

    def __enter__(self) -> ServerProcess:
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self._args, env=self._env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=self._set_limits
            )
        self.wait_answering(timeout=60)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_answering(self, *, timeout: float) -> None:
        """Wait until ``/healthz`` answers 200 (the server is up), or fail with the server's log."""
        deadline = time.monotonic() + timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"refgen serve exited with {self._process.returncode}:\n{self.log()}")
            try:
                if probe("127.0.0.1", self.port, timeout=5)[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"refgen serve did not answer within {timeout} s:\n{self.log()}")
            time.sleep(0.1)
