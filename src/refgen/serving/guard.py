"""Which HTTP connections may stay open: a cap on their number and deadlines for slow heads and bodies.

The protocol reports each connection's phase after every read and every finished response:

- **waiting** for a request head (just connected, between two requests, or part of a head received):
  the whole head must arrive within ``header_timeout`` of the phase starting; more bytes do not extend
  it (uvicorn's keep-alive timeout closes a connection that sends nothing sooner);
- **receiving** a request body: it must keep coming, ``body_timeout`` plus one second per
  ``body_min_rate`` bytes received (the rule of Apache's mod_reqtimeout); time spent with reading
  paused because the app has not taken the body yet does not count;
- **busy**: the app works on the request or writes its response; the guard leaves it alone.

At the cap a new connection closes the one that has waited longest for a request head, else the
slowest body upload; when every connection is busy the new one is answered 503 and closed. So a flood
of idle or half-sent connections costs the oldest of them their place, never a fresh request its answer.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("refgen.serving")

REPORT_EVERY = 60.0
"""Seconds between two log lines about closed and refused connections."""


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_timeout: float
    body_timeout: float
    body_min_rate: float

    @property
    def sweep_every(self) -> float:
        """How often deadlines are checked: often enough that none is overrun by more than half."""
        return min(1.0, self.header_timeout / 2, self.body_timeout / 2)


class Connection(Protocol):
    """What the guard needs of a connection."""

    def close_with(self, status: int | None) -> None:
        """Close now; with a status, first answer it (``Connection: close``, no body)."""

    def reading_paused(self) -> bool:
        """Whether the server stopped reading this connection (the app has not taken its body yet)."""


@dataclass
class GuardCounts:
    evicted: int = 0  # closed to make room for a new connection
    refused: int = 0  # new connections answered 503: every other one was busy
    head_timeouts: int = 0
    body_timeouts: int = 0


@dataclass
class _Phase:
    since: float
    received: int = 0


class ConnectionGuard:
    def __init__(self, limits: ConnectionLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.counts = GuardCounts()
        self._clock = clock
        self._open: set[Connection] = set()
        self._heads: OrderedDict[Connection, _Phase] = OrderedDict()  # oldest first
        self._bodies: dict[Connection, _Phase] = {}
        self._reported = GuardCounts()
        self._next_report = float("-inf")

    @property
    def open_count(self) -> int:
        return len(self._open)

    def opened(self, conn: Connection) -> bool:
        """A new connection: True if it may stay, after closing another one if the cap is reached."""
        if len(self._open) >= self.limits.max_connections:
            victim = self._victim()
            if victim is None:
                self.counts.refused += 1
                conn.close_with(503)
                return False
            self.counts.evicted += 1
            self._forget(victim)
            victim.close_with(None)
        self._open.add(conn)
        self._heads[conn] = _Phase(self._clock())
        return True

    def waiting(self, conn: Connection, received: int) -> None:
        """``conn`` waits for a request head (``received``: bytes read just now)."""
        self._note(conn, received, self._heads, self._bodies)

    def receiving(self, conn: Connection, received: int) -> None:
        """``conn`` is sending a request body (``received``: bytes read just now)."""
        self._note(conn, received, self._bodies, self._heads)

    def _note(
        self,
        conn: Connection,
        received: int,
        now_in: dict[Connection, _Phase],
        left: dict[Connection, _Phase],
    ) -> None:
        phase = now_in.get(conn)
        if phase is not None:
            phase.received += received
        elif conn in self._open:  # a new phase starts now (not for a connection already let go)
            left.pop(conn, None)
            now_in[conn] = _Phase(self._clock())

    def busy(self, conn: Connection) -> None:
        self._heads.pop(conn, None)
        self._bodies.pop(conn, None)

    def closed(self, conn: Connection) -> None:
        self._forget(conn)

    def sweep(self) -> None:
        """Close every connection past its deadline; now and then log what was closed or refused."""
        now = self._clock()
        while self._heads:
            conn, head = next(iter(self._heads.items()))
            if now - head.since < self.limits.header_timeout:
                break
            self._forget(conn)
            self.counts.head_timeouts += 1
            conn.close_with(408 if head.received else None)
        for conn, body in list(self._bodies.items()):
            if conn.reading_paused():
                body.since, body.received = now, 0
            elif now >= self._body_deadline(body):
                self._forget(conn)
                self.counts.body_timeouts += 1
                conn.close_with(None)
        self._report(now)

    def _body_deadline(self, body: _Phase) -> float:
        return body.since + self.limits.body_timeout + body.received / self.limits.body_min_rate

    def _victim(self) -> Connection | None:
        if self._heads:
            return next(iter(self._heads))
        if not self._bodies:
            return None
        now = self._clock()
        return min(
            self._bodies, key=lambda c: self._bodies[c].received / max(now - self._bodies[c].since, 1e-3)
        )

    def _forget(self, conn: Connection) -> None:
        self._open.discard(conn)
        self._heads.pop(conn, None)
        self._bodies.pop(conn, None)

    def _report(self, now: float) -> None:
        counts, last = self.counts, self._reported
        if (counts.evicted, counts.refused) == (last.evicted, last.refused) or now < self._next_report:
            return
        log.warning(
            "connection cap of %d reached: closed %d connections waiting longest, refused %d new ones; "
            "%d slow request heads and %d slow bodies timed out (since the last report)",
            self.limits.max_connections,
            counts.evicted - last.evicted,
            counts.refused - last.refused,
            counts.head_timeouts - last.head_timeouts,
            counts.body_timeouts - last.body_timeouts,
        )
        self._reported = GuardCounts(**vars(counts))
        self._next_report = now + REPORT_EVERY
