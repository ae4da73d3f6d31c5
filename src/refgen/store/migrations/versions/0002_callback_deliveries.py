"""The callback outbox: callback_deliveries and callback_attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_deliveries",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("round_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_callback_deliveries"),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name="fk_callback_deliveries_task_id_tasks"),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"], name="fk_callback_deliveries_key_id_api_keys"),
    )
    op.create_index("ix_callback_deliveries_due", "callback_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_callback_deliveries_task", "callback_deliveries", ["task_id", "created_at"])
    op.create_table(
        "callback_attempts",
        sa.Column("delivery_id", sa.String(64), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id", "number", name="pk_callback_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["callback_deliveries.id"],
            name="fk_callback_attempts_delivery_id_callback_deliveries",
        ),
    )


def downgrade() -> None:
    op.drop_table("callback_attempts")
    op.drop_index("ix_callback_deliveries_task", table_name="callback_deliveries")
    op.drop_index("ix_callback_deliveries_due", table_name="callback_deliveries")
    op.drop_table("callback_deliveries")
