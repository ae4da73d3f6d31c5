"""The worker registry in the SQL store: register, mark seen, mark stopped and list workers."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import insert, select, update

from refgen.store.base import WorkerInfo
from refgen.store.schema import workers
from refgen.store.sql_transactions import SqlTransactions
from refgen.store.times import as_utc


class SqlWorkers:
    """:class:`~refgen.store.base.WorkerRegistry` on the ``workers`` table."""

    def __init__(self, db: SqlTransactions) -> None:
        self._db = db

    def register_worker(self, worker: WorkerInfo) -> None:
        values = {
            "hostname": worker.hostname,
            "pid": worker.pid,
            "models": json.dumps(list(worker.models)),
            "started_at": as_utc(worker.started_at),
            "last_seen_at": as_utc(worker.last_seen_at),
            "stopped_at": None,
        }
        with self._db.write() as connection:
            updated = connection.execute(update(workers).where(workers.c.id == worker.id).values(**values))
            if updated.rowcount == 0:
                connection.execute(insert(workers).values(id=worker.id, **values))

    def worker_seen(self, worker_id: str, now: datetime) -> None:
        with self._db.write() as connection:
            connection.execute(
                update(workers)
                .where(workers.c.id == worker_id, workers.c.stopped_at.is_(None))
                .values(last_seen_at=as_utc(now))
            )

    def worker_stopped(self, worker_id: str, now: datetime) -> None:
        with self._db.write() as connection:
            connection.execute(
                update(workers)
                .where(workers.c.id == worker_id, workers.c.stopped_at.is_(None))
                .values(stopped_at=as_utc(now))
            )

    def list_workers(self) -> list[WorkerInfo]:
        with self._db.read() as connection:
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
