"""The contracts of the database: tasks (which are also the queue), API keys, the callback outbox.

The task table is the queue: a worker claims a task atomically, holds a lease it renews with
heartbeats, and finishes it. A reaper puts tasks whose lease ran out back in the queue.

The callback outbox is transactional: every state change a callback reports (claim →
``processing``; complete → ``success``; fail, cancel of a waiting task, reaping or releasing to
``failed``, off-peak expiry → ``failed``) writes a :class:`CallbackDelivery` row for a task with a
``callback_url`` in the SAME transaction as the change, so no callback is lost to a crash between
the two. A dispatcher takes due deliveries under a short lease and records every attempt.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from refgen.domain import ApiKey, Creation, Route, Task, TaskKind, TaskState
from refgen.err_codes import ErrCode
from refgen.errors import IdempotencyConflict
from refgen.task_query import KeyUsage, TaskQuery


@dataclass(frozen=True)
class Heartbeat:
    """What a worker learns when it renews its lease."""

    still_owner: bool  # False: the lease was lost (reaped); stop and discard the result
    cancel_requested: bool


class KeyStore(Protocol):
    def add_key(self, key: ApiKey) -> None:
        """Insert a key; raise FieldInvalid if the name is taken."""

    def key_by_hash(self, token_hash: str) -> ApiKey | None:
        """The active (not revoked) key with this token hash."""

    def key_by_id(self, key_id: str) -> ApiKey | None:
        """Any key, revoked ones included (callbacks are signed with a revoked key's token)."""

    def list_keys(self) -> Sequence[ApiKey]: ...

    def revoke_key(self, name: str, now: datetime) -> bool:
        """Revoke by name; False if no active key has it."""


@dataclass(frozen=True)
class QueueLimits:
    """How many tasks may wait (``created`` or ``queueing``, not off-peak) before a create is refused.

    Off-peak tasks are not counted and not limited: the contract lets them wait 48 hours, and the
    reaper ends them then. Processing and finished tasks are not counted."""

    total: int  # the whole server: past it, SystemThrottling
    per_key: int  # one key: past it, KeyQueueFull (reason TooManyRequests)

    def __post_init__(self) -> None:
        if self.total < 1 or self.per_key < 1:
            raise ValueError(f"queue limits must be at least 1: {self}")


@dataclass(frozen=True)
class QueueCount:
    """One group of :meth:`TaskStore.queue_depth`: ``count`` tasks in ``state`` for ``kind`` and ``model``."""

    state: TaskState
    kind: TaskKind
    model: str
    count: int


IDEMPOTENCY_WINDOW = timedelta(hours=24)
"""How long an ``Idempotency-Key`` names the task it created; after that it may be used again."""


@dataclass(frozen=True)
class IdempotentCreate:
    """A create sent with an ``Idempotency-Key``: the key (scoped to the API key creating the task),
    a hash of what was asked (the endpoint and the body, see :mod:`refgen.idempotency`) and when."""

    key: str
    request_hash: str
    at: datetime

    @property
    def since(self) -> datetime:
        """Records of this key made before this moment have expired."""
        return self.at - IDEMPOTENCY_WINDOW


@dataclass(frozen=True)
class IdempotencyRecord:
    """What a store keeps for a key that created a task: the task and the hash of its request."""

    task_id: str
    request_hash: str

    def task_for(self, create: IdempotentCreate) -> str:
        """The task that answers ``create``; IdempotencyConflict if the key asked something else."""
        if self.request_hash != create.request_hash:
            raise IdempotencyConflict(
                f"Idempotency-Key {create.key!r} was used with a different request (task "
                f"{self.task_id}); send a new key for a new request"
            )
        return self.task_id


class TaskStore(Protocol):
    def insert_task(
        self, task: Task, limits: QueueLimits | None = None, idempotency: IdempotentCreate | None = None
    ) -> str:
        """Insert a new task and return its id. Raise, in the same transaction and storing nothing:
        Unauthorized if the key has been revoked (the caller may hold a key read a few seconds ago);
        CreditInsufficient if the key's balance minus the credits of its unfinished tasks cannot
        cover this one; with ``limits`` and a task that is not off-peak, KeyQueueFull if the key
        already has ``limits.per_key`` tasks waiting, SystemThrottling if the server has
        ``limits.total``.

        With ``idempotency``, the key is recorded for the task in the same transaction, unique per
        API key. If the key already names a task of this API key created since
        ``idempotency.since``, nothing is inserted (and no limit is checked): the earlier task's id
        is returned when the request hashes the same, IdempotencyConflict raised when it does not.
        Of concurrent inserts with one key exactly one inserts; the others answer its task. A
        record goes when its task's row is deleted.

        The key's checks are exact (its row is locked). The server-wide count is exact on SQLite and
        in memory (one writer at a time); on PostgreSQL concurrent creates of different keys each
        count what is committed, so the limit may be exceeded by at most the number of creates
        running at the same moment, minus one."""

    def find_idempotent(self, key_id: str, create: IdempotentCreate) -> str | None:
        """The id of the task ``create``'s key names for this API key (made since
        ``create.since``), None if there is none; IdempotencyConflict if the request differs."""

    def get_task(self, task_id: str) -> Task | None: ...

    def list_tasks(self, key_id: str, limit: int = 100) -> Sequence[Task]:
        """The key's tasks, newest first."""

    def query_tasks(self, query: TaskQuery) -> Sequence[Task]:
        """One page of the key's tasks that pass the query's filters, in the list order (newest
        first: ``created_at`` descending, then ``id`` descending); at most ``query.limit``."""

    def key_usage(self, key_id: str) -> KeyUsage:
        """The key's tasks summed up: credits charged and held, processing and waiting counts."""

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        """Cancel a task: a waiting one ends ``failed/UserCancelled`` at once; a processing one is
        flagged, and ends so when its worker sees the flag (or is reaped). Raise TaskNotCancellable
        for finished tasks, TaskNotFound for unknown ones. Returns the task after the change."""

    def mark_queueing(self, task_id: str) -> None:
        """``created`` → ``queueing`` (no-op when a worker already took it)."""

    def queue_depth(self) -> list[QueueCount]:
        """How many unfinished tasks (``created``, ``queueing``, ``processing``) there are, per
        state, kind and model; one grouped read (for ``/metrics``). Groups without tasks are absent."""


class TaskQueue(Protocol):
    def claim(
        self, worker_id: str, routes: Collection[Route] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        """Atomically take the next runnable task: normal before off-peak, oldest first, skipping
        keys at their concurrency limit and (when given) tasks whose (kind, model) is not in
        ``routes``."""

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat: ...

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        """Finish with success and charge the key's credits; False if the lease was lost.

        A task whose cancel was requested ends ``failed/UserCancelled`` instead (the client was
        told it is cancelled), and this returns False: discard the result."""

    def fail(self, task_id: str, worker_id: str, err_code: ErrCode, now: datetime) -> bool:
        """Finish with failure (no charge); False if the lease was lost. A task whose cancel was
        requested ends with ``UserCancelled`` whatever ``err_code`` says."""

    def reap(
        self,
        now: datetime,
        max_attempts: int,
        off_peak_expiry_seconds: float,
        worker_timeout: float | None = None,
    ) -> list[str]:
        """Requeue processing tasks whose lease expired (fail them after ``max_attempts``), end
        cancel-flagged ones, and expire off-peak tasks waiting longer than the expiry. With
        ``worker_timeout``, a task whose worker is registered and was seen within that many seconds
        is left alone however old its lease. Returns the ids of tasks whose state changed."""

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back at once the tasks of a worker known to be dead: requeue them (or fail them
        once they used ``max_attempts``). Returns the ids of tasks whose state changed."""


# --- retention -------------------------------------------------------------------------------


class TaskRetention(Protocol):
    """Removing finished tasks once they are old enough (see :mod:`refgen.retention`)."""

    def sweep_finished(
        self, finished_before: datetime, limit: int, discard_files: Callable[[Sequence[str]], None]
    ) -> list[str]:
        """Remove up to ``limit`` finished tasks (``success`` or ``failed``) whose ``finished_at`` is
        before ``finished_before``, oldest first, with their callback deliveries and attempts. A
        task with a callback still pending is left for a later sweep.

        ``discard_files(ids)`` is called with the ids taken BEFORE their rows are deleted, so a
        crash or an error in between leaves rows whose files are (partly) gone, never files no row
        points at; when it raises, no row is deleted and the error propagates. The credits of swept
        ``success`` tasks stay counted as charged in :meth:`TaskStore.key_usage`.

        Two callers at once never delete a row twice: on PostgreSQL the batch is taken
        ``FOR UPDATE SKIP LOCKED`` and held until its rows are gone, so concurrent sweepers take
        different tasks; elsewhere the batch is read without a lock and re-checked when its rows are
        deleted, so two sweepers may discard the same files (harmless) but only one deletes each row.
        Returns the ids whose rows this call deleted."""


# --- the callback outbox ----------------------------------------------------------------------


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to be tried at ``next_attempt_at``
    DELIVERED = "delivered"  # a 2xx answer
    FAILED = "failed"  # given up (an operator may still redeliver it)


@dataclass(frozen=True)
class CallbackAttempt:
    """One try to deliver a callback: when, and the HTTP status or why there was none."""

    number: int  # 1, 2, ... over the delivery's whole life (redeliveries included)
    at: datetime
    status_code: int | None
    error: str | None


@dataclass(frozen=True)
class CallbackDelivery:
    """One callback to send: the task's ``state`` at the event, to ``url``, signed with the key's token."""

    id: str
    task_id: str
    key_id: str
    state: TaskState  # the event: processing, success or failed
    url: str
    progress: int  # the task's progress when the event happened
    status: DeliveryStatus
    attempts: int  # tries so far, in all
    round_attempts: int  # tries since it was queued or last redelivered (what retry limits count)
    next_attempt_at: datetime | None  # None once delivered or given up
    locked_until: datetime | None  # a dispatcher is sending it until then
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None = None
    history: tuple[CallbackAttempt, ...] = ()  # filled in by list_deliveries and get_delivery


def new_delivery(
    task_id: str, key_id: str, state: TaskState, url: str, progress: int, now: datetime
) -> CallbackDelivery:
    """The callback a task's state change queues: pending, due at ``now``, not tried yet."""
    return CallbackDelivery(
        id=uuid.uuid4().hex,
        task_id=task_id,
        key_id=key_id,
        state=state,
        url=url,
        progress=progress,
        status=DeliveryStatus.PENDING,
        attempts=0,
        round_attempts=0,
        next_attempt_at=now,
        locked_until=None,
        last_status_code=None,
        last_error=None,
        created_at=now,
    )


class CallbackOutbox(Protocol):
    """Pending callbacks in the database. Rows are added by the task transitions themselves."""

    def claim_deliveries(self, now: datetime, limit: int, lease_seconds: float) -> list[CallbackDelivery]:
        """Atomically take up to ``limit`` pending deliveries due at ``now`` (oldest due first)
        that no one holds, and hold them for ``lease_seconds``: a dispatcher that dies while
        sending lets them be taken again once that runs out. Two callers never get the same one.
        A task's callbacks go out in order: a delivery is not taken while an older one of the
        same task is still pending (held, or waiting for a retry)."""

    def record_attempt(
        self,
        delivery_id: str,
        now: datetime,
        *,
        status_code: int | None,
        error: str | None,
        delivered: bool,
        next_attempt_at: datetime | None,
    ) -> CallbackDelivery | None:
        """Record one try and release the hold: ``delivered``; else pending again at
        ``next_attempt_at``, or ``failed`` when that is None. A delivery already delivered stays
        so. Returns the delivery after the change (None if unknown)."""

    def get_delivery(self, delivery_id: str) -> CallbackDelivery | None:
        """One delivery with its ``history``."""

    def list_deliveries(self, task_id: str | None = None, limit: int = 100) -> list[CallbackDelivery]:
        """The newest ``limit`` deliveries (of one task, when given), oldest first, with ``history``."""

    def redeliver(self, delivery_id: str, now: datetime) -> CallbackDelivery | None:
        """Make a delivery pending again at ``now`` with a fresh round of tries (whatever its
        status). Returns it after the change (None if unknown)."""


@dataclass(frozen=True)
class WorkerInfo:
    """A registered worker process: where it runs, what it serves, when it was last seen."""

    id: str
    hostname: str
    pid: int
    models: tuple[str, ...]
    started_at: datetime
    last_seen_at: datetime
    stopped_at: datetime | None = None

    def alive(self, now: datetime, timeout: float) -> bool:
        return self.stopped_at is None and (now - self.last_seen_at).total_seconds() <= timeout


class WorkerRegistry(Protocol):
    def register_worker(self, worker: WorkerInfo) -> None:
        """Add (or re-add) a worker; it counts as alive from ``worker.last_seen_at``."""

    def worker_seen(self, worker_id: str, now: datetime) -> None: ...

    def worker_stopped(self, worker_id: str, now: datetime) -> None: ...

    def list_workers(self) -> Sequence[WorkerInfo]:
        """Every registered worker, newest first, stopped and silent ones included."""
