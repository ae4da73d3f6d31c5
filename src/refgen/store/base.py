"""The contracts of the database: tasks (which are also the queue), API keys.

The task table is the queue: a worker claims a task atomically, holds a lease it renews with
heartbeats, and finishes it. A reaper puts tasks whose lease ran out back in the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from refgen.domain import Creation, Task

# The ``err_code`` a store writes when it ends a task itself (the worker passes its own to ``fail``).
CANCELLED = "UserCancelled"  # cancelled by the client (waiting task at once; processing via the flag)
LEASE_EXHAUSTED = "InternalServiceFailure"  # its workers died ``max_attempts`` times
OFF_PEAK_EXPIRED = "QuotaExceeded"  # off-peak task not started within the expiry


def not_cancellable_message(state: str) -> str:
    """The message of TaskNotCancellable for a task that already ended in ``state``."""
    return f"task state is {state}, can not cancel"


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    token_hash: str
    token_encrypted: bytes
    concurrency: int
    credits: int | None  # remaining balance; None = unlimited
    created_at: datetime
    revoked_at: datetime | None = None


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


class TaskStore(Protocol):
    def insert_task(self, task: Task) -> None:
        """Insert a new task. Raise CreditInsufficient, in the same transaction, if the key's
        balance minus the credits of its unfinished tasks cannot cover this one."""

    def get_task(self, task_id: str) -> Task | None: ...

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        """Cancel a task: a waiting one ends ``failed/UserCancelled`` at once; a processing one is
        flagged, and ends so when its worker sees the flag (or is reaped). Raise TaskNotCancellable
        for finished tasks, TaskNotFound for unknown ones. Returns the task after the change."""

    def mark_queueing(self, task_id: str) -> None:
        """``created`` → ``queueing`` (no-op when a worker already took it)."""


class TaskQueue(Protocol):
    def claim(
        self, worker_id: str, models: Sequence[str] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        """Atomically take the next runnable task: normal before off-peak, oldest first, skipping
        keys at their concurrency limit and (when given) models not in ``models``."""

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat: ...

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        """Finish with success and charge the key's credits; False if the lease was lost.

        A task whose cancel was requested ends ``failed/UserCancelled`` instead (the client was
        told it is cancelled), and this returns False: discard the result."""

    def fail(self, task_id: str, worker_id: str, err_code: str, now: datetime) -> bool:
        """Finish with failure (no charge); False if the lease was lost. A task whose cancel was
        requested ends with ``UserCancelled`` whatever ``err_code`` says."""

    def reap(self, now: datetime, max_attempts: int, off_peak_expiry_seconds: float) -> list[str]:
        """Requeue processing tasks whose lease expired (fail them after ``max_attempts``), end
        cancel-flagged ones, and expire off-peak tasks waiting longer than the expiry.
        Returns the ids of tasks whose state changed."""

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back at once the tasks of a worker known to be dead: requeue them (or fail them
        once they used ``max_attempts``). Returns the ids of tasks whose state changed."""
