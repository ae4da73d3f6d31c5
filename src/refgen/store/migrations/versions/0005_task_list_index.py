"""The task list: an index on the key's tasks in the list order.

``GET /ent/v2/tasks`` reads one key's tasks newest first (``created_at`` descending, then ``id``)
within a time window, a page at a time, continuing after the last item of the previous page; the
index ``(key_id, created_at, id)`` serves the filter, the order and the keyset range.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tasks_key_created"


def upgrade() -> None:
    op.create_index(INDEX, "tasks", ["key_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="tasks")
