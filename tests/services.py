"""Real servers the integration tier runs against, started by the test suite itself.

- PostgreSQL: Debian's server binaries (``scripts/install-test-services.sh`` installs them), a
  throw-away cluster in a temporary folder on a free loopback port.
- S3: moto's server mode (from PyPI), on a free loopback port.

When ``REFGEN_TEST_REQUIRE_SERVICES=1`` (``make test`` sets it) a service that cannot start fails
the tests that need it; otherwise those tests are skipped with the reason.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from refgen.testing.postgres import PostgresUnavailable, throwaway_postgres

REQUIRED = os.environ.get("REFGEN_TEST_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"{reason} (REFGEN_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL (:func:`refgen.testing.postgres.throwaway_postgres`); yields a
    ``postgresql://`` URL of an empty database."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailable as exc:
        unavailable(str(exc))


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server; yields its endpoint URL."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        unavailable("moto[server] is not installed (pip install -e '.[dev]')")
    port = free_port()
    log = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in the finally below
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    unavailable(f"moto server did not start: {log.read().decode(errors='replace')[-500:]}")
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        process.wait(10)
        log.close()
