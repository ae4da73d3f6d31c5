"""Applying a :class:`~refgen.lifecycle.TaskChange` to the ``tasks`` table, in the caller's
transaction: one ``UPDATE ... WHERE id = <task> AND state = <expected>`` with the change's values,
the charge of the key's credits it asks for, and the row of the callback it names
(:func:`enqueue_callback`, the transactional outbox). The store decides nothing here: it applies.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from refgen.domain import TaskState
from refgen.lifecycle import TaskChange
from refgen.store.base import new_delivery
from refgen.store.schema import api_keys, callback_deliveries, tasks
from refgen.store.sql_rows import creations_json


def apply_change(connection: Connection, task_id: str, change: TaskChange) -> bool:
    """Apply ``change`` to the task if it is still in ``change.expected``; False if it was not."""
    result = connection.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.state == change.expected.value)
        .values(**_values(change))
    )
    if result.rowcount != 1:
        return False
    if change.charge:
        row = connection.execute(select(tasks.c.key_id, tasks.c.credits).where(tasks.c.id == task_id)).one()
        connection.execute(
            update(api_keys)
            .where(api_keys.c.id == row.key_id, api_keys.c.credits.is_not(None))
            .values(credits=api_keys.c.credits - row.credits)
        )
    if change.callback is not None:
        enqueue_callback(connection, task_id, change.callback.state, change.callback.at)
    return True


def _values(change: TaskChange) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if change.state is not None:
        values["state"] = change.state.value
    if change.err_code is not None:
        values["err_code"] = change.err_code.value
    if change.progress is not None:
        values["progress"] = change.progress
    if change.lease is not None:
        values.update(worker_id=change.lease.worker_id, lease_expires_at=change.lease.expires_at)
    if change.end_lease:
        values["lease_expires_at"] = None
    if change.forget_worker:
        values["worker_id"] = None
    if change.count_attempt:
        values["attempts"] = tasks.c.attempts + 1
    if change.started_at is not None:
        values["started_at"] = change.started_at
    if change.finished_at is not None:
        values["finished_at"] = change.finished_at
    if change.cancel_requested:
        values["cancel_requested"] = True
    if change.creations is not None:
        values["creations"] = creations_json(change.creations)
    return values


def enqueue_callback(connection: Connection, task_id: str, state: TaskState, now: datetime) -> None:
    """Queue the callback reporting ``state`` for a task that has a ``callback_url`` (in the
    caller's transaction, with the state change itself)."""
    row = connection.execute(
        select(tasks.c.key_id, tasks.c.callback_url, tasks.c.progress).where(tasks.c.id == task_id)
    ).first()
    if row is None or not row.callback_url:
        return
    delivery = new_delivery(task_id, row.key_id, state, row.callback_url, row.progress, now)
    values = {f.name: getattr(delivery, f.name) for f in fields(delivery) if f.name != "history"}
    values.update(state=delivery.state.value, status=delivery.status.value)
    connection.execute(insert(callback_deliveries).values(**values))
