"""``refgen serve`` started with a soft open-files limit of 1,024 answers while 3,000 connections are held.

The flood holds 3,000 connections (idle, part of a request head, a head and part of a body) and opens
again at once any the server closes. ``/healthz`` is probed from fresh connections while it lasts and
after it is released; every probe must answer 200. Nothing here measures time: a probe may take as
long as its generous timeout (bench/connections.py reports how fast they answer).
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import pytest

from refgen.testing.connection_flood import ConnectionFlood, probe
from refgen.testing.server_process import ServerProcess
from tests.services import free_port, unavailable

FLOOD = 3000
PROBES = 5
PROBE_TIMEOUT = 60.0

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def room_for_the_flood() -> Iterator[None]:
    """This process holds the flood's sockets: its own soft limit must fit them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = FLOOD + 512
    if hard != resource.RLIM_INFINITY and hard < need:
        unavailable(f"the hard open-files limit is {hard}; holding {FLOOD} connections needs {need}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def healthz(port: int) -> int | str:
    """The status of one ``GET /healthz`` from a fresh connection, or the error that stopped it."""
    try:
        return probe("127.0.0.1", port, timeout=PROBE_TIMEOUT)[0]
    except OSError as exc:
        return repr(exc)


@pytest.mark.parametrize(
    "hard_files",
    [None, 1024],
    ids=["soft-1024-raised-at-start", "hard-1024-cap-only"],
)
def test_serve_answers_healthz_while_3000_connections_are_held(
    tmp_path: Path, hard_files: int | None
) -> None:
    port = free_port()
    with ServerProcess(tmp_path / "data", port, soft_files=1024, hard_files=hard_files) as server:
        with ConnectionFlood("127.0.0.1", port, FLOOD) as flood:
            assert flood.wait_started(timeout=300), (
                f"only {flood.counts.opened} of {FLOOD} connections opened"
            )
            answers = [healthz(port) for _ in range(PROBES)]
            assert answers == [200] * PROBES, server.log()[-3000:]
            if hard_files == 1024:  # the cap (768) is below the flood: the server must have let some go
                assert flood.counts.closed_by_server > 0
        server.wait_answering(timeout=PROBE_TIMEOUT)
        assert healthz(port) == 200
        assert "open files limit" in server.log()
