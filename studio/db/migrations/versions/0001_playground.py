"""The store as the playground left it (before the task engine): generations, characters, batches.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
    )
    op.create_table(
        "characters",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("character_id", sa.String(120), unique=True),
        sa.Column("label", sa.String(120), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_pid", sa.String(40)),
        sa.Column("source_ref", sa.Text),
        sa.Column("timestamps", sa.String(32), nullable=False),
        sa.Column("thumb_path", sa.String(300)),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("task_id", sa.String(120), unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("failure_reason", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "generations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prompt", sa.Text, nullable=False),
        sa.Column("aspect_ratio", sa.String(8), nullable=False),
        sa.Column("duration", sa.Integer, nullable=False),
        sa.Column("size", sa.String(8), nullable=False),
        sa.Column("model", sa.String(32), nullable=False),
        sa.Column("image_ref", sa.Text),
        sa.Column("remix_target_id", sa.String(40)),
        sa.Column("characters", sa.JSON),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("task_id", sa.String(120), unique=True),
        sa.Column("progress", sa.Integer, nullable=False),
        sa.Column("pid", sa.String(40)),
        sa.Column("remote_url", sa.Text),
        sa.Column("video_path", sa.String(300)),
        sa.Column("thumb_path", sa.String(300)),
        sa.Column("failure_reason", sa.String(32)),
        sa.Column("error", sa.Text),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("watch", sa.Boolean, nullable=False),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("batches.id")),
        sa.Column("batch_row", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_generations_created", "generations", ["created_at"])
    op.create_index("ix_generations_status", "generations", ["status", "service"])
    op.create_index("ix_generations_pid", "generations", ["pid"])
    op.create_index("ix_generations_parent", "generations", ["remix_target_id"])
    op.create_index("ix_generations_batch", "generations", ["batch_id", "batch_row"])
