"""Prompt help's chat calls, with their cost.

- ``chat_calls``: one row per chat call the service answered (which account and service, the chat
  model, the help asked for, the credits it cost), counted by the spending figure and Insights.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_calls",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("account", sa.String(40)),
        sa.Column("model", sa.String(40), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("cost", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_calls_created", "chat_calls", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_chat_calls_created", "chat_calls")
    op.drop_table("chat_calls")
