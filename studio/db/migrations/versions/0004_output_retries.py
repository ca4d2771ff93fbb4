"""Retrying output refusals: a single generation may ask to be tried again, up to N times, when
the finished video is refused by moderation (refunded); each retry records the attempt it retries.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.add_column(sa.Column("output_retries", sa.Integer, nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("retry_of", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_column("retry_of")
        batch_op.drop_column("output_retries")
