"""The dispatcher over the in-memory store, with a fake transport and an injected clock."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest

from refgen.callbacks import verify
from refgen.callbacks.dispatcher import CallbackDispatcher, event_task, retry_delay
from refgen.domain import Creation, Task, TaskState
from refgen.errors import AddressForbidden
from refgen.keys import create_key
from refgen.store.base import CallbackDelivery, DeliveryStatus
from refgen.testing.store import MemoryStore, make_task
from refgen.tokens import TokenCipher

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOOK = "https://hooks.example/cb?b=2&a=1"
DELAYS = (5.0, 30.0, 120.0)
CIPHER = TokenCipher(b"a server secret that is long enough for tests")


@dataclass
class Sent:
    url: str
    body: dict[str, Any]
    headers: dict[str, str]
    timeout: float | None


@dataclass
class FakeTransport:
    """Answers each POST with the next item of ``answers`` (a status, or an exception to raise);
    200 once they run out. ``hang`` makes every POST wait until cancelled."""

    answers: list[int | BaseException] = field(default_factory=list)
    hang: bool = False
    sent: list[Sent] = field(default_factory=list)
    closed: int = 0
    started: threading.Event = field(default_factory=threading.Event)

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> int:
        self.sent.append(Sent(url, json.loads(content), dict(headers or {}), timeout))
        self.started.set()
        if self.hang:
            await anyio.sleep_forever()
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def aclose(self) -> None:
        self.closed += 1


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def render(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "state": task.state.value,
        "err_code": task.err_code,
        "progress": task.progress,
        "creations": [c.id for c in task.creations],
    }


@dataclass
class Setup:
    store: MemoryStore
    transport: FakeTransport
    clock: Clock
    token: str
    key_id: str

    def dispatcher(self, **kwargs: Any) -> CallbackDispatcher:
        counter = itertools.count(1)
        options: dict[str, Any] = {
            "decrypt": CIPHER.decrypt,
            "render": render,
            "transport": lambda: self.transport,
            "retry_delays": DELAYS,
            "clock": self.clock,
            "nonces": lambda: f"nonce-{next(counter)}",
            **kwargs,
        }
        return CallbackDispatcher(self.store, **options)

    def add_task(self, task_id: str = "t1", url: str = HOOK) -> None:
        self.store.tasks.insert_task(
            make_task(task_id, self.key_id, created_at=self.clock(), callback_url=url)
        )

    def fail_waiting(self, task_id: str = "t1") -> CallbackDelivery:
        """A task cancelled while waiting: one ``failed`` delivery, due now."""
        self.add_task(task_id)
        self.store.tasks.request_cancel(task_id, self.clock())
        (delivery,) = self.store.outbox.list_deliveries(task_id)
        return delivery


@pytest.fixture
def setup() -> Setup:
    store = MemoryStore()
    key, token = create_key(store.keys, CIPHER, "alice", now=T0)
    return Setup(store, FakeTransport(), Clock(), token, key.id)


def statuses(deliveries: Sequence[CallbackDelivery]) -> list[DeliveryStatus]:
    return [d.status for d in deliveries]


# --- one try ------------------------------------------------------------------------------------


def test_dispatcher_sends_a_signed_callback(setup: Setup) -> None:
    setup.fail_waiting()
    done = setup.dispatcher().run_once()
    assert statuses(done) == [DeliveryStatus.DELIVERED]
    (sent,) = setup.transport.sent
    assert sent.url == HOOK and sent.timeout == 10.0
    assert sent.body == {
        "id": "t1",
        "state": "failed",
        "err_code": "UserCancelled",
        "progress": 0,
        "creations": [],
    }
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["x-request-nonce"] == "nonce-1"
    assert sent.headers["Date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    assert verify("POST", HOOK, sent.headers, setup.token, now=T0)
    assert not verify("POST", HOOK, sent.headers, "another-token", now=T0)
    assert [(a.number, a.at, a.status_code) for a in done[0].history] == [(1, T0, 200)]


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_dispatcher_any_2xx_counts(setup: Setup, status: int) -> None:
    setup.fail_waiting()
    setup.transport.answers = [status]
    (done,) = setup.dispatcher().run_once()
    assert (done.status, done.last_status_code) == (DeliveryStatus.DELIVERED, status)


@pytest.mark.parametrize("status", [199, 301, 302, 400, 404, 500])
def test_dispatcher_other_statuses_are_failures(setup: Setup, status: int) -> None:
    setup.fail_waiting()
    setup.transport.answers = [status]
    (done,) = setup.dispatcher().run_once()
    assert (done.status, done.last_status_code, done.next_attempt_at) == (
        DeliveryStatus.PENDING,
        status,
        T0 + timedelta(seconds=5),
    )


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (ConnectionError("could not connect: refused"), "could not connect: refused"),
        (TimeoutError("POST to hooks.example timed out after 10 s"), "timed out after 10 s"),
        (AddressForbidden("address not allowed: callback_url (loopback address)"), "loopback address"),
    ],
)
def test_dispatcher_records_why_there_was_no_answer(setup: Setup, error: Exception, recorded: str) -> None:
    setup.fail_waiting()
    setup.transport.answers = [error]
    (done,) = setup.dispatcher().run_once()
    assert done.status is DeliveryStatus.PENDING and done.last_status_code is None
    assert done.last_error is not None and recorded in done.last_error
    assert done.history[0].error == done.last_error


def test_dispatcher_times_out_a_transport_that_hangs(setup: Setup) -> None:
    setup.fail_waiting()
    setup.transport.hang = True
    started = time.monotonic()
    (done,) = setup.dispatcher(timeout=0.05).run_once()
    assert time.monotonic() - started < 5
    assert done.last_error == "timed out after 0.05 s" and done.status is DeliveryStatus.PENDING


# --- retries ------------------------------------------------------------------------------------


def test_dispatcher_retries_with_backoff_until_delivered(setup: Setup) -> None:
    delivery = setup.fail_waiting()
    setup.transport.answers = [500, ConnectionError("refused"), 503]
    dispatcher = setup.dispatcher()
    expected_gaps = [5.0, 30.0, 120.0]
    for attempt, gap in enumerate(expected_gaps, start=1):
        (done,) = dispatcher.run_once()
        assert (done.status, done.attempts) == (DeliveryStatus.PENDING, attempt)
        assert done.next_attempt_at == setup.clock() + timedelta(seconds=gap)
        setup.clock.advance(gap - 0.5)
        assert dispatcher.run_once() == []  # not due yet
        setup.clock.advance(0.5)
    (done,) = dispatcher.run_once()
    assert (done.status, done.attempts, done.delivered_at) == (DeliveryStatus.DELIVERED, 4, setup.clock())
    assert len(setup.transport.sent) == 4
    stored = setup.store.outbox.get_delivery(delivery.id)
    assert stored is not None
    assert [(a.status_code, a.error) for a in stored.history] == [
        (500, None),
        (None, "refused"),
        (503, None),
        (200, None),
    ]


def test_dispatcher_gives_up_after_the_retries(setup: Setup) -> None:
    setup.fail_waiting()
    setup.transport.answers = [500] * 10
    dispatcher = setup.dispatcher()
    for _ in range(4):
        dispatcher.run_once()
        setup.clock.advance(1000)
    (delivery,) = setup.store.outbox.list_deliveries()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 4, None)
    assert dispatcher.run_once() == []
    assert len(setup.transport.sent) == 4


def test_dispatcher_retry_schedule_comes_from_settings(setup: Setup) -> None:
    setup.fail_waiting()
    setup.transport.answers = [500] * 10
    dispatcher = setup.dispatcher(retry_delays=[0.1])
    (done,) = dispatcher.run_once()
    assert done.next_attempt_at == T0 + timedelta(seconds=0.1)
    setup.clock.advance(0.1)
    (done,) = dispatcher.run_once()
    assert (done.status, done.attempts) == (DeliveryStatus.FAILED, 2)


def test_dispatcher_processing_is_tried_once(setup: Setup) -> None:
    setup.add_task()
    setup.store.queue.claim("w1", None, 30, setup.clock())
    setup.transport.answers = [500]
    (done,) = setup.dispatcher().run_once()
    assert (done.state, done.status, done.attempts) == (TaskState.PROCESSING, DeliveryStatus.FAILED, 1)
    setup.clock.advance(1000)
    assert setup.dispatcher().run_once() == []


def test_dispatcher_fresh_date_and_nonce_per_attempt(setup: Setup) -> None:
    setup.fail_waiting()
    setup.transport.answers = [500]
    dispatcher = setup.dispatcher()
    dispatcher.run_once()
    setup.clock.advance(5)
    dispatcher.run_once()
    first, second = setup.transport.sent
    assert first.headers["Date"] == "Sat, 01 Mar 2025 12:00:00 GMT"
    assert second.headers["Date"] == "Sat, 01 Mar 2025 12:00:05 GMT"
    assert first.headers["x-request-nonce"] != second.headers["x-request-nonce"]
    assert first.headers["X-HMAC-SIGNATURE"] != second.headers["X-HMAC-SIGNATURE"]
    assert verify("POST", HOOK, second.headers, setup.token, now=setup.clock())


def test_dispatcher_redelivered_callback_gets_a_new_round(setup: Setup) -> None:
    delivery = setup.fail_waiting()
    setup.transport.answers = [500] * 4
    dispatcher = setup.dispatcher(retry_delays=[1.0])
    dispatcher.run_once()
    setup.clock.advance(1)
    dispatcher.run_once()
    assert statuses(setup.store.outbox.list_deliveries()) == [DeliveryStatus.FAILED]
    setup.store.outbox.redeliver(delivery.id, setup.clock())
    (done,) = dispatcher.run_once()
    assert (done.status, done.attempts, done.round_attempts) == (DeliveryStatus.PENDING, 3, 1)


# --- what is sent -------------------------------------------------------------------------------


def test_dispatcher_processing_callback_reports_processing_after_the_task_finished(setup: Setup) -> None:
    """Both callbacks are due, the task has finished: processing goes first and says processing."""
    setup.add_task()
    setup.store.queue.claim("w1", None, 30, setup.clock())
    setup.clock.advance(1)
    result = Creation("c1", "k/out.mp4", "k/cover.jpg", None, 1920, 1080, 5.0, 24)
    setup.store.queue.complete("t1", "w1", [result], setup.clock())
    dispatcher = setup.dispatcher()
    assert [(d.state, d.status) for d in dispatcher.run_once()] == [
        (TaskState.PROCESSING, DeliveryStatus.DELIVERED)
    ]
    assert [(d.state, d.status) for d in dispatcher.run_once()] == [
        (TaskState.SUCCESS, DeliveryStatus.DELIVERED)
    ]
    assert [s.body for s in setup.transport.sent] == [
        {"id": "t1", "state": "processing", "err_code": "", "progress": 0, "creations": []},
        {"id": "t1", "state": "success", "err_code": "", "progress": 100, "creations": ["c1"]},
    ]


def test_event_task_keeps_terminal_tasks_as_they_are() -> None:
    task = make_task("t1", "k", state=TaskState.SUCCESS)
    task.progress = 100
    processing = CallbackDelivery(
        "d", "t1", "k", TaskState.PROCESSING, HOOK, 40, DeliveryStatus.PENDING, 0, 0, T0, None, None, None, T0
    )
    success = CallbackDelivery(
        "d", "t1", "k", TaskState.SUCCESS, HOOK, 100, DeliveryStatus.PENDING, 0, 0, T0, None, None, None, T0
    )
    assert event_task(task, success) is task
    shown = event_task(task, processing)
    assert (shown.state, shown.progress, shown.creations, shown.err_code) == (
        TaskState.PROCESSING,
        40,
        [],
        "",
    )
    assert task.state is TaskState.SUCCESS  # the original is untouched


def test_retry_delay_policy() -> None:
    def delivery(state: TaskState, round_attempts: int) -> CallbackDelivery:
        return CallbackDelivery(
            "d",
            "t",
            "k",
            state,
            HOOK,
            0,
            DeliveryStatus.PENDING,
            round_attempts,
            round_attempts,
            T0,
            None,
            None,
            None,
            T0,
        )

    assert [retry_delay(delivery(TaskState.SUCCESS, n), DELAYS) for n in range(4)] == [5.0, 30.0, 120.0, None]
    assert retry_delay(delivery(TaskState.FAILED, 0), DELAYS) == 5.0
    assert retry_delay(delivery(TaskState.PROCESSING, 0), DELAYS) is None
    assert retry_delay(delivery(TaskState.SUCCESS, 0), ()) is None


def test_dispatcher_signs_with_a_revoked_keys_token(setup: Setup) -> None:
    setup.fail_waiting()
    assert setup.store.keys.revoke_key("alice", setup.clock())
    setup.dispatcher().run_once()
    (sent,) = setup.transport.sent
    assert verify("POST", HOOK, sent.headers, setup.token, now=setup.clock())


def test_dispatcher_records_a_callback_it_cannot_build(setup: Setup) -> None:
    """The server secret changed: the token cannot be recovered; the try is recorded, nothing sent."""
    setup.fail_waiting()
    other = TokenCipher(b"another server secret, not the one that encrypted the tokens")
    (done,) = setup.dispatcher(decrypt=other.decrypt).run_once()
    assert done.last_error is not None and "cannot build the callback" in done.last_error
    assert setup.transport.sent == []


def test_dispatcher_sends_concurrently(setup: Setup) -> None:
    for i in range(5):
        setup.fail_waiting(f"t{i}")
    gate = {"in_flight": 0, "most": 0}

    class Slow(FakeTransport):
        async def post(self, url: str, **kwargs: Any) -> int:
            gate["in_flight"] += 1
            gate["most"] = max(gate["most"], gate["in_flight"])
            await anyio.sleep(0.05)
            gate["in_flight"] -= 1
            return 200

    setup.transport = Slow()
    assert len(setup.dispatcher().run_once()) == 5
    assert gate["most"] == 5


# --- the thread ---------------------------------------------------------------------------------


@pytest.fixture
def real_clock_setup(setup: Setup) -> Iterator[Setup]:
    setup.clock.now = datetime.now(UTC)
    yield setup


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_dispatcher_thread_delivers_and_stops(real_clock_setup: Setup) -> None:
    setup = real_clock_setup
    dispatcher = setup.dispatcher(clock=lambda: datetime.now(UTC), poll_seconds=0.02)
    others = set(threading.enumerate())  # other servers of the test run may have dispatchers too
    dispatcher.start()
    [thread] = [t for t in threading.enumerate() if t not in others and t.name == "callback-dispatcher"]
    try:
        setup.add_task()
        setup.store.tasks.request_cancel("t1", datetime.now(UTC))
        wait_for(lambda: statuses(setup.store.outbox.list_deliveries()) == [DeliveryStatus.DELIVERED])
    finally:
        dispatcher.stop()
    assert setup.transport.closed == 1
    assert not thread.is_alive()
    dispatcher.stop()  # twice is fine


def test_dispatcher_stop_does_not_wait_for_the_poll(real_clock_setup: Setup) -> None:
    setup = real_clock_setup
    dispatcher = setup.dispatcher(clock=lambda: datetime.now(UTC), poll_seconds=3600)
    dispatcher.start()
    dispatcher.stop()  # returns because stopping wakes the loop, not because an hour passed
    assert setup.transport.closed == 1


def test_dispatcher_stop_interrupts_and_records_a_send_in_flight(real_clock_setup: Setup) -> None:
    setup = real_clock_setup
    setup.transport.hang = True
    dispatcher = setup.dispatcher(clock=lambda: datetime.now(UTC), poll_seconds=0.02)
    dispatcher.start()
    try:
        setup.add_task()
        setup.store.tasks.request_cancel("t1", datetime.now(UTC))
        assert setup.transport.started.wait(5)
    finally:
        dispatcher.stop()
    (delivery,) = setup.store.outbox.list_deliveries()
    assert (delivery.status, delivery.attempts, delivery.locked_until) == (DeliveryStatus.PENDING, 1, None)
    assert delivery.last_error == "interrupted: the server stopped"
    assert setup.transport.closed == 1
