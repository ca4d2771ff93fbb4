"""A chat call whose answer never came is kept, as unknown.

- ``chat_calls.status``: ``succeeded`` (the service answered) or ``unknown`` (the call went out and no
  answer came back: a timeout or a cut reply; the service may have charged it, so it is counted at
  its price, as a generation whose send may have reached the service is). Earlier rows were answered.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chat_calls") as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="succeeded"))


def downgrade() -> None:
    with op.batch_alter_table("chat_calls") as batch_op:
        batch_op.drop_column("status")
