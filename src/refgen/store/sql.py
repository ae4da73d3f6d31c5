"""The SQL store: keys, tasks and the queue in one database (SQLite or PostgreSQL).

Every method is one transaction. Transactions that read and then write take the write lock up
front: on SQLite ``BEGIN IMMEDIATE`` (see :mod:`refgen.store.engine`), so processes sharing the file
are serialised; on PostgreSQL row locks: the claim picks its task ``FOR UPDATE SKIP LOCKED`` (two
workers never wait for, nor take, the same task) and locks the key row ``FOR UPDATE`` before
counting the key's processing tasks, so two workers claiming two tasks of one key at once cannot
both slip under its concurrency limit. Credit checks lock the key row the same way.

The callback outbox rides on the same transactions: a state change a callback reports inserts its
``callback_deliveries`` row before the transaction commits (:func:`_enqueue_callback`).
Dispatchers take due deliveries the way workers take tasks (``SKIP LOCKED``, or the SQLite write
lock), marking them with a short lease (``locked_until``).

Driver errors become :class:`~refgen.errors.StoreError` here, once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    and_,
    case,
    exc,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    update,
)

from refgen.domain import Creation, Task, TaskKind, TaskSpec, TaskState
from refgen.errors import CreditInsufficient, FieldInvalid, StoreError, TaskNotCancellable, TaskNotFound
from refgen.store.base import (
    CANCELLED,
    LEASE_EXHAUSTED,
    OFF_PEAK_EXPIRED,
    ApiKey,
    CallbackAttempt,
    CallbackDelivery,
    DeliveryStatus,
    Heartbeat,
    Route,
    WorkerInfo,
    not_cancellable_message,
)
from refgen.store.engine import BEGIN_IMMEDIATE, is_configured_sqlite
from refgen.store.schema import api_keys, callback_attempts, callback_deliveries, tasks, workers
from refgen.store.times import as_utc

WAITING = (TaskState.CREATED.value, TaskState.QUEUEING.value)
UNFINISHED = (TaskState.CREATED.value, TaskState.QUEUEING.value, TaskState.PROCESSING.value)
PROCESSING = TaskState.PROCESSING.value


@contextmanager
def _translate() -> Iterator[None]:
    try:
        yield
    except exc.SQLAlchemyError as error:
        detail = error.orig if isinstance(error, exc.DBAPIError) else error
        raise StoreError(f"database error: {type(detail).__name__}: {detail}") from error


class SqlStore:
    """:class:`~refgen.store.base.KeyStore`, :class:`~refgen.store.base.TaskStore`,
    :class:`~refgen.store.base.TaskQueue` and :class:`~refgen.store.base.CallbackOutbox` on an
    engine from :func:`~refgen.store.engine.make_engine` whose schema is migrated
    (:func:`~refgen.store.migrate.upgrade`). The caller owns the engine."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name == "sqlite" and not is_configured_sqlite(engine):
            raise ValueError("SqlStore needs a SQLite engine made by refgen.store.engine.make_engine")
        self._engine = engine
        self._writer = engine.execution_options(**{BEGIN_IMMEDIATE: True})

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with _translate(), self._engine.begin() as connection:
            yield connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with _translate(), self._writer.begin() as connection:
            yield connection

    def ping(self) -> bool:
        """Whether the database answers (for readiness checks)."""
        try:
            with self._engine.connect() as connection:
                connection.execute(select(1))
            return True
        except exc.SQLAlchemyError:
            return False

    # --- keys -------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> None:
        try:
            with self._write() as connection:
                if key.revoked_at is None and _active_key_named(connection, key.name):
                    raise FieldInvalid(f"a key named {key.name!r} exists already", field="name")
                connection.execute(insert(api_keys).values(**_key_values(key)))
        except StoreError as error:
            # a concurrent add of the same name (PostgreSQL) trips the partial unique index
            if isinstance(error.__cause__, exc.IntegrityError):
                with self._read() as connection:
                    if _active_key_named(connection, key.name):
                        raise FieldInvalid(
                            f"a key named {key.name!r} exists already", field="name"
                        ) from error
            raise

    def key_by_hash(self, token_hash: str) -> ApiKey | None:
        with self._read() as connection:
            row = connection.execute(
                select(api_keys).where(api_keys.c.token_hash == token_hash, api_keys.c.revoked_at.is_(None))
            ).first()
        return None if row is None else _row_to_key(row)

    def key_by_id(self, key_id: str) -> ApiKey | None:
        with self._read() as connection:
            row = connection.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        return None if row is None else _row_to_key(row)

    def list_keys(self) -> Sequence[ApiKey]:
        with self._read() as connection:
            rows = connection.execute(select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)).all()
        return [_row_to_key(row) for row in rows]

    def revoke_key(self, name: str, now: datetime) -> bool:
        now = as_utc(now)
        with self._write() as connection:
            result = connection.execute(
                update(api_keys)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return result.rowcount > 0

    # --- tasks ------------------------------------------------------------------------------

    def insert_task(self, task: Task) -> None:
        values = _task_values(task)
        with self._write() as connection:
            balance_row = connection.execute(
                select(api_keys.c.credits).where(api_keys.c.id == task.key_id).with_for_update()
            ).first()
            if balance_row is None:
                raise StoreError(f"unknown key id {task.key_id!r}")
            balance: int | None = balance_row.credits
            if balance is not None:
                reserved = connection.execute(
                    select(func.coalesce(func.sum(tasks.c.credits), 0)).where(
                        tasks.c.key_id == task.key_id, tasks.c.state.in_(UNFINISHED)
                    )
                ).scalar_one()
                if balance - int(reserved) < task.spec.credits:
                    raise CreditInsufficient()
            connection.execute(insert(tasks).values(**values))

    def get_task(self, task_id: str) -> Task | None:
        with self._read() as connection:
            return _get(connection, task_id)

    def list_tasks(self, key_id: str, limit: int = 100) -> list[Task]:
        """The key's tasks, newest first."""
        with self._read() as connection:
            rows = connection.execute(
                select(tasks)
                .where(tasks.c.key_id == key_id)
                .order_by(tasks.c.created_at.desc(), tasks.c.id.desc())
                .limit(limit)
            ).all()
        return [_row_to_task(row) for row in rows]

    def request_cancel(self, task_id: str, now: datetime) -> Task:
        now = as_utc(now)
        with self._write() as connection:
            row = connection.execute(
                select(tasks.c.state).where(tasks.c.id == task_id).with_for_update()
            ).first()
            if row is None:
                raise TaskNotFound()
            state = TaskState(row.state)
            if state in (TaskState.SUCCESS, TaskState.FAILED):
                raise TaskNotCancellable(not_cancellable_message(state.value))
            if state is TaskState.PROCESSING:
                values: dict[str, Any] = {"cancel_requested": True}
            else:
                values = {
                    "state": TaskState.FAILED.value,
                    "err_code": CANCELLED,
                    "finished_at": now,
                    "cancel_requested": True,
                }
            connection.execute(update(tasks).where(tasks.c.id == task_id).values(**values))
            if state is not TaskState.PROCESSING:
                _enqueue_callback(connection, task_id, TaskState.FAILED, now)
            task = _get(connection, task_id)
            assert task is not None
            return task

    def mark_queueing(self, task_id: str) -> None:
        with self._write() as connection:
            connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.state == TaskState.CREATED.value)
                .values(state=TaskState.QUEUEING.value)
            )

    # --- queue ------------------------------------------------------------------------------

    def claim(
        self, worker_id: str, routes: Collection[Route] | None, lease_seconds: float, now: datetime
    ) -> Task | None:
        now = as_utc(now)
        running = tasks.alias("running")
        running_count = (
            select(func.count())
            .select_from(running)
            .where(running.c.key_id == tasks.c.key_id, running.c.state == PROCESSING)
            .scalar_subquery()
        )
        with self._write() as connection:
            full_keys: set[str] = set()
            while True:
                candidate = (
                    select(tasks.c.id, tasks.c.key_id)
                    .join(api_keys, api_keys.c.id == tasks.c.key_id)
                    .where(
                        tasks.c.state.in_(WAITING),
                        tasks.c.cancel_requested.is_(False),
                        running_count < api_keys.c.concurrency,
                    )
                    .order_by(tasks.c.off_peak, tasks.c.created_at, tasks.c.id)
                    .limit(1)
                    .with_for_update(skip_locked=True, of=tasks)
                )
                if routes is not None:
                    served = [
                        and_(tasks.c.kind == kind.value, tasks.c.model == model) for kind, model in routes
                    ]
                    candidate = candidate.where(or_(false(), *served))
                if full_keys:
                    candidate = candidate.where(tasks.c.key_id.not_in(sorted(full_keys)))
                row = connection.execute(candidate).first()
                if row is None:
                    return None
                # lock the key, then count: a concurrent claim of the same key waits here (PostgreSQL)
                concurrency = connection.execute(
                    select(api_keys.c.concurrency).where(api_keys.c.id == row.key_id).with_for_update()
                ).scalar_one()
                processing = connection.execute(
                    select(func.count()).where(tasks.c.key_id == row.key_id, tasks.c.state == PROCESSING)
                ).scalar_one()
                if processing >= concurrency:
                    full_keys.add(row.key_id)
                    continue
                result = connection.execute(
                    update(tasks)
                    .where(
                        tasks.c.id == row.id, tasks.c.state.in_(WAITING), tasks.c.cancel_requested.is_(False)
                    )
                    .values(
                        state=PROCESSING,
                        worker_id=worker_id,
                        lease_expires_at=now + timedelta(seconds=lease_seconds),
                        started_at=now,
                        attempts=tasks.c.attempts + 1,
                    )
                )
                if result.rowcount != 1:  # taken meanwhile; cannot happen under the locks above
                    continue
                _enqueue_callback(connection, row.id, TaskState.PROCESSING, now)
                task = _get(connection, row.id)
                assert task is not None
                return task

    def heartbeat(
        self, task_id: str, worker_id: str, progress: int, lease_seconds: float, now: datetime
    ) -> Heartbeat:
        now = as_utc(now)
        progress = max(0, min(100, progress))
        with self._write() as connection:
            result = connection.execute(
                update(tasks)
                .where(tasks.c.id == task_id, tasks.c.worker_id == worker_id, tasks.c.state == PROCESSING)
                .values(
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    progress=case((tasks.c.progress < progress, progress), else_=tasks.c.progress),
                )
            )
            flag = connection.execute(
                select(tasks.c.cancel_requested).where(tasks.c.id == task_id)
            ).scalar_one_or_none()
            return Heartbeat(still_owner=result.rowcount == 1, cancel_requested=bool(flag))

    def complete(self, task_id: str, worker_id: str, creations: Sequence[Creation], now: datetime) -> bool:
        now = as_utc(now)
        with self._write() as connection:
            row = _owned(connection, task_id, worker_id)
            if row is None:
                return False
            if row.cancel_requested:
                _finish(connection, task_id, TaskState.FAILED, now, err_code=CANCELLED)
                _enqueue_callback(connection, task_id, TaskState.FAILED, now)
                return False
            _finish(
                connection,
                task_id,
                TaskState.SUCCESS,
                now,
                progress=100,
                creations=_creations_json(creations),
            )
            connection.execute(
                update(api_keys)
                .where(api_keys.c.id == row.key_id, api_keys.c.credits.is_not(None))
                .values(credits=api_keys.c.credits - row.credits)
            )
            _enqueue_callback(connection, task_id, TaskState.SUCCESS, now)
            return True

    def fail(self, task_id: str, worker_id: str, err_code: str, now: datetime) -> bool:
        now = as_utc(now)
        with self._write() as connection:
            row = _owned(connection, task_id, worker_id)
            if row is None:
                return False
            _finish(
                connection,
                task_id,
                TaskState.FAILED,
                now,
                err_code=CANCELLED if row.cancel_requested else err_code,
            )
            _enqueue_callback(connection, task_id, TaskState.FAILED, now)
            return True

    def reap(
        self,
        now: datetime,
        max_attempts: int,
        off_peak_expiry_seconds: float,
        worker_timeout: float | None = None,
    ) -> list[str]:
        now = as_utc(now)
        cutoff = now - timedelta(seconds=off_peak_expiry_seconds)
        expired = tasks.c.lease_expires_at < now
        if worker_timeout is not None:  # never take a task from a worker seen within the timeout
            alive = select(workers.c.id).where(
                workers.c.stopped_at.is_(None),
                workers.c.last_seen_at >= now - timedelta(seconds=worker_timeout),
            )
            expired = and_(expired, or_(tasks.c.worker_id.is_(None), tasks.c.worker_id.not_in(alive)))
        with self._write() as connection:
            changed = _take_back(connection, expired, now, max_attempts, skip_locked=True)
            stale = (
                connection.execute(
                    select(tasks.c.id)
                    .where(
                        tasks.c.off_peak.is_(True), tasks.c.state.in_(WAITING), tasks.c.created_at < cutoff
                    )
                    .order_by(tasks.c.created_at, tasks.c.id)
                    .with_for_update(skip_locked=True)
                )
                .scalars()
                .all()
            )
            for task_id in stale:
                result = connection.execute(
                    update(tasks)
                    .where(tasks.c.id == task_id, tasks.c.state.in_(WAITING))
                    .values(state=TaskState.FAILED.value, err_code=OFF_PEAK_EXPIRED, finished_at=now)
                )
                if result.rowcount == 1:
                    _enqueue_callback(connection, task_id, TaskState.FAILED, now)
                    changed.append(task_id)
        return changed

    def release_worker(self, worker_id: str, now: datetime, max_attempts: int | None = None) -> list[str]:
        """Take back the tasks of a worker known to be dead, without waiting for their leases:
        as :meth:`reap` does for an expired lease (requeue; fail a cancel-flagged task, or one
        that already had ``max_attempts`` attempts when that is given). Returns the changed ids."""
        now = as_utc(now)
        with self._write() as connection:
            return _take_back(connection, tasks.c.worker_id == worker_id, now, max_attempts)

    # --- worker registry ---------------------------------------------------------------------

    def register_worker(self, worker: WorkerInfo) -> None:
        values = {
            "hostname": worker.hostname,
            "pid": worker.pid,
            "models": json.dumps(list(worker.models)),
            "started_at": as_utc(worker.started_at),
            "last_seen_at": as_utc(worker.last_seen_at),
            "stopped_at": None,
        }
        with self._write() as connection:
            updated = connection.execute(update(workers).where(workers.c.id == worker.id).values(**values))
            if updated.rowcount == 0:
                connection.execute(insert(workers).values(id=worker.id, **values))

    def worker_seen(self, worker_id: str, now: datetime) -> None:
        with self._write() as connection:
            connection.execute(
                update(workers)
                .where(workers.c.id == worker_id, workers.c.stopped_at.is_(None))
                .values(last_seen_at=as_utc(now))
            )

    def worker_stopped(self, worker_id: str, now: datetime) -> None:
        with self._write() as connection:
            connection.execute(
                update(workers)
                .where(workers.c.id == worker_id, workers.c.stopped_at.is_(None))
                .values(stopped_at=as_utc(now))
            )

    def list_workers(self) -> list[WorkerInfo]:
        with self._read() as connection:
            rows = connection.execute(select(workers).order_by(workers.c.started_at.desc(), workers.c.id))
            return [
                WorkerInfo(
                    id=row.id,
                    hostname=row.hostname,
                    pid=row.pid,
                    models=tuple(json.loads(row.models)),
                    started_at=row.started_at,
                    last_seen_at=row.last_seen_at,
                    stopped_at=row.stopped_at,
                )
                for row in rows
            ]

    # --- callback outbox --------------------------------------------------------------------

    def claim_deliveries(self, now: datetime, limit: int, lease_seconds: float) -> list[CallbackDelivery]:
        now = as_utc(now)
        pending = DeliveryStatus.PENDING.value
        mine = callback_deliveries
        older = callback_deliveries.alias("older")
        # one task's callbacks go out in order: none while an older one of the task is pending
        earlier_pending = select(older.c.id).where(
            older.c.task_id == mine.c.task_id,
            older.c.status == pending,
            or_(
                older.c.created_at < mine.c.created_at,
                and_(older.c.created_at == mine.c.created_at, older.c.id < mine.c.id),
            ),
        )
        due = (
            select(mine.c.id)
            .where(
                mine.c.status == pending,
                mine.c.next_attempt_at <= now,
                or_(mine.c.locked_until.is_(None), mine.c.locked_until <= now),
                ~exists(earlier_pending),
            )
            .order_by(callback_deliveries.c.next_attempt_at, callback_deliveries.c.created_at)
            .limit(limit)
        )
        # most polls find nothing: look without the write lock first
        with self._read() as connection:
            if connection.execute(due.limit(1)).first() is None:
                return []
        with self._write() as connection:
            ids = connection.execute(due.with_for_update(skip_locked=True)).scalars().all()
            if not ids:
                return []
            connection.execute(
                update(callback_deliveries)
                .where(callback_deliveries.c.id.in_(ids))
                .values(locked_until=now + timedelta(seconds=lease_seconds))
            )
            rows = connection.execute(
                select(callback_deliveries)
                .where(callback_deliveries.c.id.in_(ids))
                .order_by(callback_deliveries.c.next_attempt_at, callback_deliveries.c.created_at)
            ).all()
        return [_row_to_delivery(row) for row in rows]

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
        now = as_utc(now)
        with self._write() as connection:
            row = connection.execute(
                select(callback_deliveries.c.status, callback_deliveries.c.attempts)
                .where(callback_deliveries.c.id == delivery_id)
                .with_for_update()
            ).first()
            if row is None:
                return None
            number = row.attempts + 1
            connection.execute(
                insert(callback_attempts).values(
                    delivery_id=delivery_id,
                    number=number,
                    attempted_at=now,
                    status_code=status_code,
                    error=error,
                )
            )
            values: dict[str, Any] = {
                "attempts": number,
                "round_attempts": callback_deliveries.c.round_attempts + 1,
                "locked_until": None,
                "last_status_code": status_code,
                "last_error": error,
            }
            if delivered:
                values.update(status=DeliveryStatus.DELIVERED.value, next_attempt_at=None, delivered_at=now)
            elif row.status != DeliveryStatus.DELIVERED.value:
                status = DeliveryStatus.PENDING if next_attempt_at is not None else DeliveryStatus.FAILED
                values.update(status=status.value, next_attempt_at=_optional_utc(next_attempt_at))
            connection.execute(
                update(callback_deliveries).where(callback_deliveries.c.id == delivery_id).values(**values)
            )
            return _get_delivery(connection, delivery_id)

    def get_delivery(self, delivery_id: str) -> CallbackDelivery | None:
        with self._read() as connection:
            return _get_delivery(connection, delivery_id)

    def list_deliveries(self, task_id: str | None = None, limit: int = 100) -> list[CallbackDelivery]:
        query = select(callback_deliveries)
        if task_id is not None:
            query = query.where(callback_deliveries.c.task_id == task_id)
        query = query.order_by(callback_deliveries.c.created_at.desc(), callback_deliveries.c.id.desc())
        with self._read() as connection:
            rows = list(reversed(connection.execute(query.limit(limit)).all()))
            histories = _histories(connection, [row.id for row in rows])
        return [_row_to_delivery(row, histories.get(row.id, ())) for row in rows]

    def redeliver(self, delivery_id: str, now: datetime) -> CallbackDelivery | None:
        now = as_utc(now)
        with self._write() as connection:
            result = connection.execute(
                update(callback_deliveries)
                .where(callback_deliveries.c.id == delivery_id)
                .values(
                    status=DeliveryStatus.PENDING.value,
                    next_attempt_at=now,
                    round_attempts=0,
                    delivered_at=None,
                )
            )
            if result.rowcount != 1:
                return None
            return _get_delivery(connection, delivery_id)


# --- rows ↔ objects ---------------------------------------------------------------------------


def _active_key_named(connection: Connection, name: str) -> bool:
    return (
        connection.execute(
            select(api_keys.c.id).where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
        ).first()
        is not None
    )


def _take_back(
    connection: Connection,
    condition: ColumnElement[bool],
    now: datetime,
    max_attempts: int | None,
    *,
    skip_locked: bool = False,
) -> list[str]:
    """Processing tasks matching ``condition`` lose their worker: back to the queue, or failed."""
    rows = connection.execute(
        select(tasks.c.id, tasks.c.attempts, tasks.c.cancel_requested)
        .where(tasks.c.state == PROCESSING, condition)
        .order_by(tasks.c.created_at, tasks.c.id)
        .with_for_update(skip_locked=skip_locked)
    ).all()
    changed: list[str] = []
    for row in rows:
        values: dict[str, Any] = {"worker_id": None, "lease_expires_at": None}
        if row.cancel_requested:
            values.update(state=TaskState.FAILED.value, err_code=CANCELLED, finished_at=now)
        elif max_attempts is not None and row.attempts >= max_attempts:
            values.update(state=TaskState.FAILED.value, err_code=LEASE_EXHAUSTED, finished_at=now)
        else:
            values.update(state=TaskState.QUEUEING.value, progress=0)
        result = connection.execute(
            update(tasks).where(tasks.c.id == row.id, tasks.c.state == PROCESSING).values(**values)
        )
        if result.rowcount == 1:
            if values["state"] == TaskState.FAILED.value:
                _enqueue_callback(connection, row.id, TaskState.FAILED, now)
            changed.append(row.id)
    return changed


def _enqueue_callback(connection: Connection, task_id: str, state: TaskState, now: datetime) -> None:
    """Queue the callback reporting ``state`` for a task that has a ``callback_url`` (in the
    caller's transaction, with the state change itself)."""
    row = connection.execute(
        select(tasks.c.key_id, tasks.c.callback_url, tasks.c.progress).where(tasks.c.id == task_id)
    ).first()
    if row is None or not row.callback_url:
        return
    connection.execute(
        insert(callback_deliveries).values(
            id=uuid.uuid4().hex,
            task_id=task_id,
            key_id=row.key_id,
            state=state.value,
            url=row.callback_url,
            progress=row.progress,
            status=DeliveryStatus.PENDING.value,
            attempts=0,
            round_attempts=0,
            next_attempt_at=now,
            locked_until=None,
            last_status_code=None,
            last_error=None,
            created_at=now,
            delivered_at=None,
        )
    )


def _get_delivery(connection: Connection, delivery_id: str) -> CallbackDelivery | None:
    row = connection.execute(
        select(callback_deliveries).where(callback_deliveries.c.id == delivery_id)
    ).first()
    if row is None:
        return None
    return _row_to_delivery(row, _histories(connection, [delivery_id]).get(delivery_id, ()))


def _histories(connection: Connection, delivery_ids: Sequence[str]) -> dict[str, tuple[CallbackAttempt, ...]]:
    if not delivery_ids:
        return {}
    rows = connection.execute(
        select(callback_attempts)
        .where(callback_attempts.c.delivery_id.in_(list(delivery_ids)))
        .order_by(callback_attempts.c.delivery_id, callback_attempts.c.number)
    ).all()
    found: dict[str, list[CallbackAttempt]] = {}
    for row in rows:
        found.setdefault(row.delivery_id, []).append(
            CallbackAttempt(
                number=row.number, at=row.attempted_at, status_code=row.status_code, error=row.error
            )
        )
    return {delivery_id: tuple(attempts) for delivery_id, attempts in found.items()}


def _row_to_delivery(row: Row[Any], history: Sequence[CallbackAttempt] = ()) -> CallbackDelivery:
    return CallbackDelivery(
        id=row.id,
        task_id=row.task_id,
        key_id=row.key_id,
        state=TaskState(row.state),
        url=row.url,
        progress=row.progress,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        round_attempts=row.round_attempts,
        next_attempt_at=row.next_attempt_at,
        locked_until=row.locked_until,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        history=tuple(history),
    )


def _owned(connection: Connection, task_id: str, worker_id: str) -> Row[Any, Any, Any] | None:
    """The task's row, locked, when ``worker_id`` still holds it; else None."""
    return connection.execute(
        select(tasks.c.key_id, tasks.c.credits, tasks.c.cancel_requested)
        .where(tasks.c.id == task_id, tasks.c.worker_id == worker_id, tasks.c.state == PROCESSING)
        .with_for_update()
    ).first()


def _finish(connection: Connection, task_id: str, state: TaskState, now: datetime, **values: Any) -> None:
    connection.execute(
        update(tasks)
        .where(tasks.c.id == task_id)
        .values(state=state.value, finished_at=now, lease_expires_at=None, **values)
    )


def _get(connection: Connection, task_id: str) -> Task | None:
    row = connection.execute(select(tasks).where(tasks.c.id == task_id)).first()
    return None if row is None else _row_to_task(row)


def _key_values(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "token_hash": key.token_hash,
        "token_encrypted": key.token_encrypted,
        "concurrency": key.concurrency,
        "credits": key.credits,
        "created_at": as_utc(key.created_at),
        "revoked_at": None if key.revoked_at is None else as_utc(key.revoked_at),
    }


def _row_to_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        token_hash=row.token_hash,
        token_encrypted=bytes(row.token_encrypted),
        concurrency=row.concurrency,
        credits=row.credits,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _optional_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _task_values(task: Task) -> dict[str, Any]:
    spec = task.spec
    return {
        "id": task.id,
        "key_id": task.key_id,
        "kind": spec.kind.value,
        "model": spec.model,
        "prompt": spec.prompt,
        "image_count": spec.image_count,
        "duration": spec.duration,
        "resolution": spec.resolution,
        "aspect_ratio": spec.aspect_ratio,
        "movement_amplitude": spec.movement_amplitude,
        "bgm": spec.bgm,
        "seed": spec.seed,
        "off_peak": spec.off_peak,
        "watermark": spec.watermark,
        "wm_position": spec.wm_position,
        "payload": spec.payload,
        "callback_url": spec.callback_url,
        "meta_data": spec.meta_data,
        "credits": spec.credits,
        "reference_keys": json.dumps(list(task.reference_keys)),
        "watermark_key": task.watermark_key,
        "state": TaskState(task.state).value,
        "created_at": as_utc(task.created_at),
        "err_code": task.err_code,
        "progress": task.progress,
        "attempts": task.attempts,
        "started_at": _optional_utc(task.started_at),
        "finished_at": _optional_utc(task.finished_at),
        "worker_id": task.worker_id,
        "lease_expires_at": _optional_utc(task.lease_expires_at),
        "cancel_requested": task.cancel_requested,
        "creations": _creations_json(task.creations),
    }


def _creations_json(creations: Sequence[Creation]) -> str:
    return json.dumps(
        [
            {
                "id": c.id,
                "media_key": c.media_key,
                "cover_key": c.cover_key,
                "watermarked_key": c.watermarked_key,
                "width": c.width,
                "height": c.height,
                "duration": c.duration,
                "fps": c.fps,
            }
            for c in creations
        ]
    )


def _creations_from_json(text: str) -> list[Creation]:
    return [
        Creation(
            id=item["id"],
            media_key=item["media_key"],
            cover_key=item["cover_key"],
            watermarked_key=item["watermarked_key"],
            width=item["width"],
            height=item["height"],
            duration=item["duration"],
            fps=item["fps"],
        )
        for item in json.loads(text)
    ]


def _row_to_task(row: Row[Any]) -> Task:
    spec = TaskSpec(
        kind=TaskKind(row.kind),
        model=row.model,
        prompt=row.prompt,
        image_count=row.image_count,
        duration=row.duration,
        resolution=row.resolution,
        aspect_ratio=row.aspect_ratio,
        movement_amplitude=row.movement_amplitude,
        bgm=bool(row.bgm),
        seed=row.seed,
        off_peak=bool(row.off_peak),
        watermark=bool(row.watermark),
        wm_position=row.wm_position,
        payload=row.payload,
        callback_url=row.callback_url,
        meta_data=row.meta_data,
        credits=row.credits,
    )
    return Task(
        id=row.id,
        key_id=row.key_id,
        spec=spec,
        reference_keys=list(json.loads(row.reference_keys)),
        watermark_key=row.watermark_key,
        state=TaskState(row.state),
        created_at=row.created_at,
        err_code=row.err_code,
        progress=row.progress,
        attempts=row.attempts,
        started_at=row.started_at,
        finished_at=row.finished_at,
        worker_id=row.worker_id,
        lease_expires_at=row.lease_expires_at,
        cancel_requested=bool(row.cancel_requested),
        creations=_creations_from_json(row.creations),
    )
