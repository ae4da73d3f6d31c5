"""A throw-away PostgreSQL server for tests and benchmarks: a cluster in a temporary folder on a
free loopback port, from the server binaries of the machine (Debian's ``postgresql`` package).

:func:`throwaway_postgres` yields a ``postgresql://`` URL of an empty database ``refgen`` and removes
the cluster afterwards; :class:`PostgresUnavailable` says why none could start (no binaries, a
failed start). As root, the cluster runs as the ``postgres`` user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    """No throw-away PostgreSQL could start here; the message says why."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_binaries() -> Path | None:
    """The folder of ``pg_ctl`` and ``initdb``: the newest Debian version, else on the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def _run(args: list[str]) -> None:
    subprocess.run(_as_postgres(args), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A running PostgreSQL; yields a ``postgresql://`` URL of an empty database."""
    bin_dir = server_binaries()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries are not installed (apt-get install postgresql, "
            "or scripts/install-test-services.sh)"
        )
    root = Path(tempfile.mkdtemp(prefix="refgen-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        _run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise PostgresUnavailable(f"PostgreSQL did not start: {exc}") from None
    try:
        _run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "refgen"])
        yield f"postgresql://postgres@127.0.0.1:{port}/refgen"
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        shutil.rmtree(root, ignore_errors=True)
