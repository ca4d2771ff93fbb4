"""Generate N, keep the best; storyboards.

- ``generations.group_key`` names the N made of one prompt at once; ``pick`` is what the person
  chose for one of them (``kept`` or ``discarded``: its files are removed, the row stays, with its cost).
- ``storyboards``: a list of shots made one after another through the engine, each continuing the
  one before, then joined into one film. Shots are generations with ``storyboard_id`` and
  ``storyboard_shot``; the film is a generation of kind ``storyboard``.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storyboards",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("account", sa.String(40)),
        sa.Column("state", sa.String(16), nullable=False, server_default="running"),
        sa.Column("shots", sa.JSON, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("film_id", sa.Integer),
        sa.Column("lease_until", sa.DateTime(timezone=True)),
        sa.Column("request_key", sa.String(80), unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_storyboards_state", "storyboards", ["state"])
    with op.batch_alter_table("generations") as batch_op:
        batch_op.add_column(sa.Column("group_key", sa.String(80)))
        batch_op.add_column(sa.Column("pick", sa.String(12)))
        batch_op.add_column(sa.Column("storyboard_id", sa.Integer))
        batch_op.add_column(sa.Column("storyboard_shot", sa.Integer))
        batch_op.create_index("ix_generations_group", ["group_key"])
        batch_op.create_index("ix_generations_storyboard", ["storyboard_id", "storyboard_shot"])


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_index("ix_generations_storyboard")
        batch_op.drop_index("ix_generations_group")
        batch_op.drop_column("storyboard_shot")
        batch_op.drop_column("storyboard_id")
        batch_op.drop_column("pick")
        batch_op.drop_column("group_key")
    op.drop_index("ix_storyboards_state", "storyboards")
    op.drop_table("storyboards")
