"""The callback outbox in the in-memory store: claim, record, list and redeliver deliveries (they
are queued by the task transitions, :meth:`~refgen.testing.memory_state.MemoryState.enqueue_callback`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from refgen.store.base import CallbackAttempt, CallbackDelivery, DeliveryStatus
from refgen.store.times import as_utc, optional_utc
from refgen.testing.memory_state import MemoryState


class MemoryOutbox:
    """:class:`~refgen.store.base.CallbackOutbox` in memory (each delivery with its attempts)."""

    def __init__(self, state: MemoryState) -> None:
        self._state = state

    def claim_deliveries(self, now: datetime, limit: int, lease_seconds: float) -> list[CallbackDelivery]:
        now = as_utc(now)
        with self._state.lock:
            pending = [d for d in self._state.deliveries.values() if d.status is DeliveryStatus.PENDING]
            first_pending: dict[str, tuple[datetime, str]] = {}  # a task's callbacks go out in order
            for d in pending:
                first_pending[d.task_id] = min(
                    first_pending.get(d.task_id, (d.created_at, d.id)), (d.created_at, d.id)
                )
            due = sorted(
                (
                    d
                    for d in pending
                    if d.next_attempt_at is not None
                    and d.next_attempt_at <= now
                    and (d.locked_until is None or d.locked_until <= now)
                    and first_pending[d.task_id] == (d.created_at, d.id)
                ),
                key=lambda d: (d.next_attempt_at, d.created_at),
            )[:limit]
            taken = [replace(d, locked_until=now + timedelta(seconds=lease_seconds)) for d in due]
            for delivery in taken:
                self._state.deliveries[delivery.id] = delivery
            return taken

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
        with self._state.lock:
            delivery = self._state.deliveries.get(delivery_id)
            if delivery is None:
                return None
            number = delivery.attempts + 1
            self._state.attempts[delivery_id].append(CallbackAttempt(number, now, status_code, error))
            delivery = replace(
                delivery,
                attempts=number,
                round_attempts=delivery.round_attempts + 1,
                locked_until=None,
                last_status_code=status_code,
                last_error=error,
            )
            if delivered:
                delivery = replace(
                    delivery, status=DeliveryStatus.DELIVERED, next_attempt_at=None, delivered_at=now
                )
            elif delivery.status is not DeliveryStatus.DELIVERED:
                delivery = replace(
                    delivery,
                    status=DeliveryStatus.PENDING if next_attempt_at is not None else DeliveryStatus.FAILED,
                    next_attempt_at=optional_utc(next_attempt_at),
                )
            self._state.deliveries[delivery_id] = delivery
            return self._with_history(delivery)

    def get_delivery(self, delivery_id: str) -> CallbackDelivery | None:
        with self._state.lock:
            delivery = self._state.deliveries.get(delivery_id)
            return None if delivery is None else self._with_history(delivery)

    def list_deliveries(self, task_id: str | None = None, limit: int = 100) -> list[CallbackDelivery]:
        with self._state.lock:
            chosen = [d for d in self._state.deliveries.values() if task_id is None or d.task_id == task_id]
            chosen.sort(key=lambda d: (d.created_at, d.id))
            return [self._with_history(d) for d in chosen[-limit:]] if limit > 0 else []

    def redeliver(self, delivery_id: str, now: datetime) -> CallbackDelivery | None:
        now = as_utc(now)
        with self._state.lock:
            delivery = self._state.deliveries.get(delivery_id)
            if delivery is None:
                return None
            delivery = replace(
                delivery,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                round_attempts=0,
                delivered_at=None,
            )
            self._state.deliveries[delivery_id] = delivery
            return self._with_history(delivery)

    # --- internals (call with the lock held) -------------------------------------------------

    def _with_history(self, delivery: CallbackDelivery) -> CallbackDelivery:
        return replace(delivery, history=tuple(self._state.attempts[delivery.id]))
