"""Retention: an index on when tasks finished, and the credits of removed tasks per key.

The retention sweeper reads finished tasks oldest first (``finished_at < cutoff ORDER BY
finished_at``); ``finished_at`` is set only when a task ends, so the index ``(finished_at)`` serves
the filter and the order. ``api_keys.swept_credits`` keeps the credits charged for ``success`` tasks
the sweeper removed, so a key's charged total (``GET /ent/v2/credits``) does not shrink with them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_tasks_finished_at"


def upgrade() -> None:
    op.create_index(INDEX, "tasks", ["finished_at"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(
            sa.Column("swept_credits", sa.BigInteger(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("swept_credits")
    op.drop_index(INDEX, table_name="tasks")
