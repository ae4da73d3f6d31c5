"""The callback outbox in the SQL store: claim, record, list and redeliver deliveries (a task's
state change queues its callback in its own transaction, :func:`~refgen.store.sql_changes.enqueue_callback`).

Dispatchers take due deliveries the way workers take tasks (``SKIP LOCKED``, or the SQLite write
lock), marking them with a short lease (``locked_until``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from refgen.store.base import CallbackAttempt, CallbackDelivery, DeliveryStatus
from refgen.store.schema import callback_attempts, callback_deliveries
from refgen.store.sql_rows import row_to_delivery
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc, optional_utc


class SqlOutbox:
    """:class:`~refgen.store.base.CallbackOutbox` on the ``callback_deliveries`` and
    ``callback_attempts`` tables."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

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
        with self._db.read() as connection:
            if connection.execute(due.limit(1)).first() is None:
                return []
        with self._db.write() as connection:
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
        return [row_to_delivery(row) for row in rows]

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
        with self._db.write() as connection:
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
                values.update(status=status.value, next_attempt_at=optional_utc(next_attempt_at))
            connection.execute(
                update(callback_deliveries).where(callback_deliveries.c.id == delivery_id).values(**values)
            )
            return _get_delivery(connection, delivery_id)

    def get_delivery(self, delivery_id: str) -> CallbackDelivery | None:
        with self._db.read() as connection:
            return _get_delivery(connection, delivery_id)

    def list_deliveries(self, task_id: str | None = None, limit: int = 100) -> list[CallbackDelivery]:
        query = select(callback_deliveries)
        if task_id is not None:
            query = query.where(callback_deliveries.c.task_id == task_id)
        query = query.order_by(callback_deliveries.c.created_at.desc(), callback_deliveries.c.id.desc())
        with self._db.read() as connection:
            rows = list(reversed(connection.execute(query.limit(limit)).all()))
            histories = _histories(connection, [row.id for row in rows])
        return [row_to_delivery(row, histories.get(row.id, ())) for row in rows]

    def redeliver(self, delivery_id: str, now: datetime) -> CallbackDelivery | None:
        now = as_utc(now)
        with self._db.write() as connection:
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


def _get_delivery(connection: Connection, delivery_id: str) -> CallbackDelivery | None:
    row = connection.execute(
        select(callback_deliveries).where(callback_deliveries.c.id == delivery_id)
    ).first()
    if row is None:
        return None
    return row_to_delivery(row, _histories(connection, [delivery_id]).get(delivery_id, ()))


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
