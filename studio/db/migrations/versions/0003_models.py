"""Every model one key buys: a generation's model-specific fields (first/last frame, references,
resolution, image size, variants, seed) and the files it made (an image task makes several);
files put in the service's storage once, by content; prices people set.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.add_column(sa.Column("options", sa.JSON))
        batch_op.add_column(sa.Column("files", sa.JSON))
        batch_op.alter_column("model", type_=sa.String(40), existing_nullable=False)
        batch_op.create_index("ix_generations_model", ["model", "created_at"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("service", "account", "digest", name="uq_uploads_file"),
    )


def downgrade() -> None:
    op.drop_table("uploads")
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_index("ix_generations_model")
        batch_op.drop_column("files")
        batch_op.drop_column("options")
