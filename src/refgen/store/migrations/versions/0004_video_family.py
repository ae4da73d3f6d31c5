"""The video family: text2video, img2video, start-end2video and reference2video's subjects form.

Adds the options those bodies carry (style, audio, voice_id, is_rec, the subjects as JSON) and
each reference as the client sent it when it was a URL (the task list shows those).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("style", sa.String(16), nullable=False, server_default="general"),
        sa.Column("audio", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("voice_id", sa.Text(), nullable=False, server_default=""),
        sa.Column("is_rec", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("subjects", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("image_sources", sa.Text(), nullable=False, server_default="[]"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for column in _columns():
            batch.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        for column in reversed(_columns()):
            batch.drop_column(column.name)
