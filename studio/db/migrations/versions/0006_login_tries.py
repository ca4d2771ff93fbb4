"""Wrong team passwords, kept per client address and account, so a pause outlives a reload.

- ``login_tries``: one row per (address, account): wrong passwords in a row, when the last was
  typed, and until when that address is paused. A right password deletes the row.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_tries",
        sa.Column("address", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(80), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("login_tries")
