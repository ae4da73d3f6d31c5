"""Sending callbacks: a dispatcher in the API process drains the outbox the store fills.

The store queues a :class:`~refgen.store.base.CallbackDelivery` in the same transaction as the task
state change it reports (see :mod:`refgen.store.base`), so deliveries survive restarts and crashes.
:class:`CallbackDispatcher` runs an event loop in a thread of its own (requests and generation never
wait for it): every ``poll_seconds``, and at once when a send frees a slot, it takes the due
deliveries under a lease and sends them concurrently through the outbound guard, which
checks the address again at send time. Each try gets a fresh ``Date`` and nonce, is signed with
the token of the key that created the task (revoked or not) and is recorded.

Delivered means any 2xx within ``timeout`` (10 s). ``processing`` is tried once; ``success`` and
``failed`` are retried after each delay of ``retry_delays`` (``REFGEN_CALLBACK_RETRY_DELAYS``),
then given up. A delivery interrupted by shutdown is recorded as a failed try and retried later.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import anyio
import anyio.to_thread
from anyio.from_thread import BlockingPortal

from refgen.background import BackgroundLoop
from refgen.callbacks.signing import signed_headers
from refgen.clock import utcnow
from refgen.domain import Task, TaskState
from refgen.errors import RefgenError
from refgen.metrics.families import CallbackMetrics
from refgen.store.base import CallbackDelivery, CallbackOutbox, KeyStore, TaskStore

log = logging.getLogger("refgen.callbacks")

CALLBACK_TIMEOUT = 10.0
"""Seconds one try may take, connection included (the contract's 10 s)."""


class CallbackTransport(Protocol):
    """Sends one POST; :class:`refgen.outbound.GuardedClient` is the real one."""

    async def post(
        self,
        url: str,
        *,
        content: bytes,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> int:
        """The response's status code; raise (OSError, RefgenError, ...) if there was none."""

    async def aclose(self) -> None: ...


class CallbackSource(Protocol):
    """What the dispatcher reads: the outbox, and the task and key a delivery belongs to."""

    @property
    def outbox(self) -> CallbackOutbox: ...

    @property
    def tasks(self) -> TaskStore: ...

    @property
    def keys(self) -> KeyStore: ...


def new_nonce() -> str:
    return str(uuid.uuid4())


def event_task(task: Task, delivery: CallbackDelivery) -> Task:
    """The task as the callback reports it: as it was at the event.

    ``success`` and ``failed`` are terminal, so the task's current row is that state. A
    ``processing`` callback reports ``processing`` with the progress recorded at the event and no
    creations, even when the task has finished since (its own callback follows).
    """
    if delivery.state is TaskState.PROCESSING:
        return replace(
            task, state=TaskState.PROCESSING, err_code="", progress=delivery.progress, creations=[]
        )
    return task


def retry_delay(delivery: CallbackDelivery, delays: Sequence[float]) -> float | None:
    """Seconds to wait after a failed try of ``delivery`` (as it was claimed, before that try);
    None: give up. ``processing`` gets one try; the others one plus ``len(delays)``."""
    if delivery.state is TaskState.PROCESSING:
        return None
    tried = delivery.round_attempts + 1
    return delays[tried - 1] if tried <= len(delays) else None


class CallbackDispatcher(BackgroundLoop):
    """Sends due callbacks from ``store``'s outbox; :meth:`start` and :meth:`stop` it with the server.

    ``decrypt`` recovers a key's token from ``ApiKey.token_encrypted`` (``TokenCipher.decrypt``);
    ``render`` turns a task into the Get Generation body (``contract.responses.generation_body``);
    ``transport`` makes the client to send with (opened when the dispatcher starts, closed when it
    stops). ``clock`` and ``nonces`` are injectable for tests, which can also drive one round
    without the thread: :meth:`run_once`. Each try is counted into ``metrics`` when given.
    """

    def __init__(
        self,
        store: CallbackSource,
        *,
        decrypt: Callable[[bytes], str],
        render: Callable[[Task], Mapping[str, Any]],
        transport: Callable[[], CallbackTransport],
        retry_delays: Sequence[float] = (5.0, 30.0, 120.0),
        timeout: float = CALLBACK_TIMEOUT,
        poll_seconds: float = 0.25,
        max_in_flight: int = 32,
        clock: Callable[[], datetime] = utcnow,
        nonces: Callable[[], str] = new_nonce,
        metrics: CallbackMetrics | None = None,
    ) -> None:
        super().__init__("callback-dispatcher", poll_seconds)
        self._store = store
        self._decrypt = decrypt
        self._render = render
        self._transport_factory = transport
        self._delays = tuple(retry_delays)
        self._timeout = timeout
        self._max_in_flight = max_in_flight
        self._lease = timeout + 20.0  # longer than one try can take
        self._clock = clock
        self._nonces = nonces
        self._metrics = metrics
        self._portal: BlockingPortal | None = None
        self._wake: anyio.Event | None = None
        self._in_flight = 0

    # --- life cycle (start and stop come from BackgroundLoop) -------------------------------

    def run(self) -> None:
        """The dispatcher's thread: an event loop of its own (stopping interrupts sends in flight:
        they are recorded as failed tries and retried later)."""
        anyio.run(self._serve)

    def interrupt(self) -> None:
        """Wake the loop so that it sees it is stopping."""
        portal = self._portal
        if portal is not None:
            with suppress(RuntimeError):  # the loop has ended already
                portal.start_task_soon(self._set_wake)

    def run_once(self) -> list[CallbackDelivery]:
        """One round without the thread: send every delivery due now, wait for them, and return
        them as recorded (for tests and tools)."""

        async def once() -> list[CallbackDelivery]:
            transport = self._transport_factory()
            try:
                claimed = await self._claim(self._max_in_flight)
                results: list[CallbackDelivery | None] = [None] * len(claimed)

                async def send(i: int, delivery: CallbackDelivery) -> None:
                    results[i] = await self._send(transport, delivery)

                async with anyio.create_task_group() as group:
                    for i, delivery in enumerate(claimed):
                        group.start_soon(send, i, delivery)
                return [d for d in results if d is not None]
            finally:
                await transport.aclose()

        return anyio.run(once)

    # --- the loop (in the dispatcher's thread) -------------------------------------------------

    async def _set_wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def _serve(self) -> None:
        async with BlockingPortal() as portal:
            self._portal = portal
            try:
                await self._run()
            finally:
                self._portal = None

    async def _run(self) -> None:
        transport = self._transport_factory()
        try:
            async with anyio.create_task_group() as group:
                while not self.stopping:
                    self._wake = anyio.Event()
                    free = self._max_in_flight - self._in_flight
                    claimed = await self._claim(free) if free > 0 else []
                    for delivery in claimed:
                        self._in_flight += 1
                        group.start_soon(self._send_counted, transport, delivery)
                    if claimed and len(claimed) == free:
                        continue  # a full batch: more may be due
                    with anyio.move_on_after(self.interval):
                        await self._wake.wait()
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await transport.aclose()

    async def _claim(self, limit: int) -> list[CallbackDelivery]:
        try:
            return await anyio.to_thread.run_sync(
                self._store.outbox.claim_deliveries, self._clock(), limit, self._lease
            )
        except RefgenError as exc:
            log.warning("callback dispatcher cannot reach the store: %s", exc)
            return []
        except Exception:  # keep polling: the next round may work
            log.exception("callback dispatcher could not take deliveries")
            return []

    async def _send_counted(self, transport: CallbackTransport, delivery: CallbackDelivery) -> None:
        try:
            await self._send(transport, delivery)
        finally:
            self._in_flight -= 1
            await self._set_wake()  # a slot is free, and the task's next callback may be due

    async def _send(
        self, transport: CallbackTransport, delivery: CallbackDelivery
    ) -> CallbackDelivery | None:
        """One try of ``delivery``, recorded; returns the delivery as recorded."""
        started = self._clock()
        status: int | None = None
        error: str | None = None
        try:
            try:
                body, token = await anyio.to_thread.run_sync(self._prepare, delivery)
            except RefgenError as exc:
                error = f"cannot build the callback: {exc.message}"
            else:
                headers = signed_headers("POST", delivery.url, token, started, self._nonces())
                headers["Content-Type"] = "application/json"
                try:
                    with anyio.fail_after(self._timeout):  # also for transports that ignore it
                        status = await transport.post(
                            delivery.url, content=body, headers=headers, timeout=self._timeout
                        )
                except RefgenError as exc:
                    error = exc.message
                except TimeoutError:
                    error = f"timed out after {self._timeout:g} s"
                except OSError as exc:
                    error = str(exc) or type(exc).__name__
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._record(delivery, started, None, "interrupted: the server stopped")
            raise
        except Exception as exc:  # a bug must not stop the dispatcher; the try is still recorded
            log.exception("callback %s of task %s failed unexpectedly", delivery.id, delivery.task_id)
            error = f"{type(exc).__name__}: {exc}"
        return await self._record(delivery, started, status, error)

    async def _record(
        self, delivery: CallbackDelivery, started: datetime, status: int | None, error: str | None
    ) -> CallbackDelivery | None:
        delivered = status is not None and 200 <= status < 300
        delay = None if delivered else retry_delay(delivery, self._delays)
        next_at = None if delay is None else self._clock() + timedelta(seconds=delay)
        outcome = f"HTTP {status}" if status is not None else error
        if self._metrics is not None:
            self._metrics.attempted(delivered=delivered, retrying=next_at is not None)
        if delivered:
            log.info(
                "callback %s (%s) of task %s delivered: %s",
                delivery.id,
                delivery.state,
                delivery.task_id,
                outcome,
            )
        else:
            log.warning(
                "callback %s (%s) of task %s not delivered (%s); %s",
                delivery.id,
                delivery.state,
                delivery.task_id,
                outcome,
                "giving up" if next_at is None else f"next try in {delay:g} s",
            )
        try:
            return await anyio.to_thread.run_sync(
                lambda: self._store.outbox.record_attempt(
                    delivery.id,
                    started,
                    status_code=status,
                    error=error,
                    delivered=delivered,
                    next_attempt_at=next_at,
                )
            )
        except RefgenError as exc:
            log.warning("cannot record callback %s: %s (it will be tried again)", delivery.id, exc)
            return None

    def _prepare(self, delivery: CallbackDelivery) -> tuple[bytes, str]:
        """The body (built now, with fresh file URLs) and the token to sign it with."""
        task = self._store.tasks.get_task(delivery.task_id)
        if task is None:
            raise RefgenError(f"task {delivery.task_id} not found")
        key = self._store.keys.key_by_id(delivery.key_id)
        if key is None:
            raise RefgenError(f"key {delivery.key_id} not found")
        body = json.dumps(self._render(event_task(task, delivery)), ensure_ascii=False)
        return body.encode("utf-8"), self._decrypt(key.token_encrypted)
