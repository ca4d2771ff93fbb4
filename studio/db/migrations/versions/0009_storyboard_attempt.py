"""A storyboard shot records the storyboard's try it was made in.

- ``generations.storyboard_attempt``: the storyboard's ``attempt`` when the shot was queued ("Go on"
  raises it, so a shot that failed in an earlier try is made anew). It was read back out of the
  shot's request key (``storyboard-<board>-<shot>-<attempt>``); the key stays, for idempotency only.
  Shots made before this revision are filled in here, from that key, the one place it is parsed: a
  shot failed in the current try must still stop its storyboard, not be sent (and charged) again.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

generations = sa.table(
    "generations",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("request_key", sa.String),
    sa.column("storyboard_id", sa.Integer),
    sa.column("storyboard_attempt", sa.Integer),
)


def _attempt_in(request_key: str | None) -> int:
    """The last part of ``storyboard-<board>-<shot>-<attempt>``; 0 (the first try) otherwise."""
    try:
        return int((request_key or "").rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def upgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.add_column(sa.Column("storyboard_attempt", sa.Integer))
    connection = op.get_bind()
    shots = connection.execute(
        sa.select(generations.c.id, generations.c.request_key).where(
            generations.c.storyboard_id.is_not(None), generations.c.kind != "storyboard"
        )
    ).all()
    for shot_id, request_key in shots:
        connection.execute(
            sa.update(generations)
            .where(generations.c.id == shot_id)
            .values(storyboard_attempt=_attempt_in(request_key))
        )


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_column("storyboard_attempt")
