"""The tables, as SQLAlchemy Core metadata. Migrations in ``migrations/`` create exactly this.

Portable SQL only: the same statements run on SQLite (embedded) and PostgreSQL (scaled out).

- ``api_keys``: one row per key, revoked keys included (their token still signs callbacks of
  their tasks). **Name uniqueness** holds among *active* keys only, through a partial unique
  index (``WHERE revoked_at IS NULL``, supported by both SQLite and PostgreSQL): revoking a key
  keeps its row and frees its name for a new key. ``swept_credits`` sums the credits of the key's
  ``success`` tasks that retention removed, so what a key was charged survives the sweep.
- ``tasks``: every field of :class:`~refgen.domain.Task` and its :class:`~refgen.domain.TaskSpec`
  as a column; ``reference_keys`` and ``creations`` are JSON text. The table is the queue: the
  claim index serves ``WHERE state IN (...) ORDER BY off_peak, created_at``; the key index
  serves the per-key count of processing tasks and the unfinished-credits sum; the key-created
  index serves the task list (one key's tasks newest first, keyset pages); the finished index
  serves retention (finished tasks oldest first; ``finished_at`` is set only when a task ends).
- ``callback_deliveries``: the callback outbox, one row per callback to send (written in the
  transaction that changes the task's state), with its status, retry schedule, the lease of the
  dispatcher sending it (``locked_until``) and the last outcome. The due index serves
  ``WHERE status = 'pending' AND next_attempt_at <= now``; the task index serves the operator's
  list of one task's callbacks.
- ``callback_attempts``: every try of a delivery (time, HTTP status or error), numbered per delivery.
- ``idempotency_keys``: the ``Idempotency-Key`` of each create that sent one: unique per API key
  (the primary key ``(key_id, idempotency_key)`` decides between concurrent duplicates), the hash of
  the request and the task it created (deleted with the task: ``ON DELETE CASCADE``).
- ``workers``: every worker process that registered (host, pid, models as JSON text), with the time
  it was last seen; the reaper never takes a task from a worker seen within its lease.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.types import TypeDecorator

from refgen.store.times import as_utc, from_storage

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware values and always returns UTC-aware ones.

    On SQLite the value is stored as naive UTC text (fixed width, so comparisons stay correct).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return from_storage(value)


api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("token_encrypted", LargeBinary, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("credits", BigInteger, nullable=True),  # balance; NULL = unlimited
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    # credits charged for success tasks that retention has removed since (still counted as charged)
    Column("swept_credits", BigInteger, nullable=False, server_default=text("0")),
    Index(
        "uq_api_keys_active_name",
        "name",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_id", String(64), ForeignKey("api_keys.id"), nullable=False),
    # the spec
    Column("kind", String(32), nullable=False),
    Column("model", String(32), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("image_count", Integer, nullable=False),
    Column("duration", Integer, nullable=True),
    Column("resolution", String(16), nullable=False),
    Column("aspect_ratio", String(16), nullable=False),
    Column("movement_amplitude", String(16), nullable=True),
    Column("bgm", Boolean, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("off_peak", Boolean, nullable=False),
    Column("watermark", Boolean, nullable=False),
    Column("wm_position", Integer, nullable=False),
    Column("payload", Text, nullable=False),
    Column("callback_url", Text, nullable=False),
    Column("meta_data", Text, nullable=False),
    Column("credits", Integer, nullable=False),
    Column("style", String(16), nullable=False, server_default="general"),
    Column("audio", Boolean, nullable=False, server_default=false()),
    Column("voice_id", Text, nullable=False, server_default=""),
    Column("is_rec", Boolean, nullable=False, server_default=false()),
    Column("subjects", Text, nullable=False, server_default="[]"),  # JSON list of Subject objects
    # inputs kept by the file store
    Column("reference_keys", Text, nullable=False),  # JSON list of file-store keys
    Column("watermark_key", Text, nullable=True),
    Column("image_sources", Text, nullable=False, server_default="[]"),  # JSON: URL as sent, or ""
    # where it stands
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("err_code", String(64), nullable=False),
    Column("progress", Integer, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("worker_id", String(200), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("cancel_requested", Boolean, nullable=False),
    # what it produced
    Column("creations", Text, nullable=False),  # JSON list of Creation objects
    Index("ix_tasks_claim", "state", "off_peak", "created_at"),
    Index("ix_tasks_key_state", "key_id", "state"),
    Index("ix_tasks_key_created", "key_id", "created_at", "id"),
    Index("ix_tasks_finished_at", "finished_at"),
)

callback_deliveries = Table(
    "callback_deliveries",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("task_id", String(64), ForeignKey("tasks.id"), nullable=False),
    Column("key_id", String(64), ForeignKey("api_keys.id"), nullable=False),
    Column("state", String(16), nullable=False),  # the event: processing, success, failed
    Column("url", Text, nullable=False),
    Column("progress", Integer, nullable=False),  # the task's progress at the event
    Column("status", String(16), nullable=False),  # pending, delivered, failed
    Column("attempts", Integer, nullable=False),
    Column("round_attempts", Integer, nullable=False),  # since queued or last redelivered
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index("ix_callback_deliveries_due", "status", "next_attempt_at"),
    Index("ix_callback_deliveries_task", "task_id", "created_at"),
)

callback_attempts = Table(
    "callback_attempts",
    metadata,
    Column("delivery_id", String(64), ForeignKey("callback_deliveries.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("models", Text, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("stopped_at", UtcDateTime, nullable=True),
    Index("ix_workers_last_seen_at", "last_seen_at"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key_id", String(64), ForeignKey("api_keys.id"), primary_key=True),
    Column("idempotency_key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),  # sha256 hex of the endpoint and the body
    Column("task_id", String(64), ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_keys_task_id", "task_id"),
)
