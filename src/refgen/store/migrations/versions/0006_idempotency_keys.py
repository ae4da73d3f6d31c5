"""Idempotent creates: the idempotency_keys table.

A create sent with an ``Idempotency-Key`` header records the key beside the task it created, in the
same transaction. The primary key ``(key_id, idempotency_key)`` makes a key unique per API key, so of
concurrent duplicates exactly one inserts its task; a row goes with its task (``ON DELETE CASCADE``),
and the task index serves that delete.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "idempotency_keys"
INDEX = "ix_idempotency_keys_task_id"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "idempotency_key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name="fk_idempotency_keys_key_id_api_keys"),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name="fk_idempotency_keys_task_id_tasks", ondelete="CASCADE"
        ),
    )
    op.create_index(INDEX, TABLE, ["task_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_table(TABLE)
