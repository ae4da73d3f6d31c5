"""The connection guard's rules on fake connections and a fake clock: the cap, eviction order, deadlines."""

from __future__ import annotations

import logging

import pytest

from refgen.serving.guard import ConnectionGuard, ConnectionLimits


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeConnection:
    def __init__(self, name: str) -> None:
        self.name = name
        self.closed_with: list[int | None] = []
        self.paused = False

    def close_with(self, status: int | None) -> None:
        self.closed_with.append(status)

    def reading_paused(self) -> bool:
        return self.paused

    def __repr__(self) -> str:
        return self.name


LIMITS = ConnectionLimits(max_connections=3, header_timeout=10.0, body_timeout=30.0, body_min_rate=100.0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock: Clock) -> ConnectionGuard:
    return ConnectionGuard(LIMITS, clock=clock)


def open_all(guard: ConnectionGuard, *names: str) -> list[FakeConnection]:
    conns = [FakeConnection(n) for n in names]
    for conn in conns:
        assert guard.opened(conn)
    return conns


def test_guard_new_connection_at_the_cap_closes_the_one_waiting_longest(
    guard: ConnectionGuard, clock: Clock
) -> None:
    a, b, c = open_all(guard, "a", "b", "c")
    clock.now += 1
    guard.busy(a)
    guard.waiting(a, 0)  # a answered a request and waits again: now the newest waiter
    d = FakeConnection("d")
    assert guard.opened(d)
    assert (a.closed_with, b.closed_with, c.closed_with, d.closed_with) == ([], [None], [], [])
    assert guard.open_count == 3 and guard.counts.evicted == 1


def test_guard_busy_connections_are_never_evicted_and_a_full_house_refuses_with_503(
    guard: ConnectionGuard,
) -> None:
    conns = open_all(guard, "a", "b", "c")
    for conn in conns:
        guard.busy(conn)
    late = FakeConnection("late")
    assert not guard.opened(late)
    assert late.closed_with == [503] and all(c.closed_with == [] for c in conns)
    assert guard.open_count == 3 and guard.counts.refused == 1


def test_guard_without_waiters_the_slowest_body_upload_makes_room(
    guard: ConnectionGuard, clock: Clock
) -> None:
    busy, fast, slow = open_all(guard, "busy", "fast", "slow")
    guard.busy(busy)
    guard.receiving(fast, 500)
    guard.receiving(slow, 500)
    clock.now += 2
    guard.receiving(fast, 10_000)
    guard.receiving(slow, 10)
    assert guard.opened(FakeConnection("new"))
    assert (busy.closed_with, fast.closed_with, slow.closed_with) == ([], [], [None])


def test_guard_request_head_past_the_header_timeout_gets_408_and_a_silent_one_is_just_closed(
    guard: ConnectionGuard, clock: Clock
) -> None:
    partial, silent = open_all(guard, "partial", "silent")
    guard.waiting(partial, 20)  # part of a head
    clock.now += 9.9
    guard.waiting(partial, 20)  # more bytes do not extend the deadline
    guard.sweep()
    assert partial.closed_with == [] and silent.closed_with == []
    clock.now += 0.1
    guard.sweep()
    assert partial.closed_with == [408] and silent.closed_with == [None]
    assert guard.open_count == 0 and guard.counts.head_timeouts == 2


def test_guard_a_finished_request_restarts_the_head_deadline(guard: ConnectionGuard, clock: Clock) -> None:
    (conn,) = open_all(guard, "conn")
    clock.now += 8
    guard.busy(conn)  # a whole head arrived
    clock.now += 5
    guard.waiting(conn, 0)  # its answer went out: the next head has its own 10 s
    clock.now += 9
    guard.sweep()
    assert conn.closed_with == []
    clock.now += 1
    guard.sweep()
    assert conn.closed_with == [None]


def test_guard_body_deadline_grows_with_the_bytes_received(guard: ConnectionGuard, clock: Clock) -> None:
    trickle, steady = open_all(guard, "trickle", "steady")
    guard.receiving(trickle, 0)
    guard.receiving(steady, 0)
    for _ in range(40):  # 40 s: steady sends 200 B/s (twice the minimum rate), trickle 1 B/s
        clock.now += 1
        guard.receiving(trickle, 1)
        guard.receiving(steady, 200)
        guard.sweep()
    assert trickle.closed_with == [None] and steady.closed_with == []
    assert guard.counts.body_timeouts == 1


def test_guard_time_with_reading_paused_does_not_count_against_a_body(
    guard: ConnectionGuard, clock: Clock
) -> None:
    (conn,) = open_all(guard, "conn")
    guard.receiving(conn, 0)
    conn.paused = True  # the app has not taken the body yet: the client cannot send
    for _ in range(60):
        clock.now += 1
        guard.sweep()
    conn.paused = False
    clock.now += 29
    guard.sweep()
    assert conn.closed_with == []
    clock.now += 1
    guard.sweep()
    assert conn.closed_with == [None]


def test_guard_a_connection_let_go_is_forgotten_even_if_its_protocol_reports_it_again(
    guard: ConnectionGuard, clock: Clock
) -> None:
    a, *_ = open_all(guard, "a", "b", "c")
    assert guard.opened(FakeConnection("d"))  # evicts a
    guard.waiting(a, 10)
    guard.receiving(a, 10)
    guard.closed(a)
    assert guard.open_count == 3
    clock.now += 60
    guard.sweep()
    assert a.closed_with == [None]  # once, by the eviction


def test_guard_logs_evictions_and_refusals_at_most_once_a_minute(
    guard: ConnectionGuard, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="refgen.serving")
    open_all(guard, "a", "b", "c")
    for i in range(5):
        guard.opened(FakeConnection(f"new{i}"))
        guard.sweep()
        clock.now += 1
    assert len(caplog.records) == 1
    assert "connection cap of 3 reached: closed 1 connections" in caplog.records[0].getMessage()
    clock.now += 60
    guard.sweep()
    assert len(caplog.records) == 2 and "closed 4 connections" in caplog.records[1].getMessage()
    clock.now += 60
    guard.sweep()  # nothing new: nothing logged
    assert len(caplog.records) == 2
