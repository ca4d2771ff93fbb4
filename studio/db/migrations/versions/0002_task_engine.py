"""The task engine: owners (accounts), request keys, leases and poll schedules on every task row;
credits as integers; batch settings that change while running as columns; engine heartbeats.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from studio.accounts import SANDBOX_ACCOUNT

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD_UNITS_PER_CREDIT = 20000  # the playground counted 0.08 for a video the service prices at 1,600


def _task_columns(batch_op) -> None:
    batch_op.add_column(sa.Column("account", sa.String(40)))
    batch_op.add_column(sa.Column("request_key", sa.String(80)))
    batch_op.add_column(sa.Column("lease_owner", sa.String(64)))
    batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True)))
    batch_op.add_column(sa.Column("next_poll_at", sa.DateTime(timezone=True)))
    batch_op.add_column(sa.Column("polled_at", sa.DateTime(timezone=True)))
    batch_op.add_column(sa.Column("polls", sa.Integer, nullable=False, server_default="0"))
    batch_op.add_column(sa.Column("poll_failures", sa.Integer, nullable=False, server_default="0"))
    batch_op.alter_column(
        "cost", type_=sa.Integer, existing_nullable=False, postgresql_using="round(cost)::integer"
    )


def upgrade() -> None:
    for table in ("generations", "characters"):
        op.execute(f"UPDATE {table} SET cost = ROUND(cost * {OLD_UNITS_PER_CREDIT})")

    with op.batch_alter_table("generations") as batch_op:
        _task_columns(batch_op)
        batch_op.add_column(sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("resend_of", sa.Integer))
        batch_op.create_unique_constraint("uq_generations_request_key", ["request_key"])
        batch_op.create_index("ix_generations_due", ["status", "next_poll_at"])
        batch_op.create_index("ix_generations_account", ["account", "created_at"])
    # "Stop watching" used to mean "forget it": now it only hides it from Generate's list.
    op.execute("UPDATE generations SET hidden = (watch = false AND batch_id IS NULL)")
    with op.batch_alter_table("generations") as batch_op:
        batch_op.drop_column("watch")

    with op.batch_alter_table("characters") as batch_op:
        _task_columns(batch_op)
        batch_op.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True)))
        batch_op.create_unique_constraint("uq_characters_request_key", ["request_key"])
        batch_op.create_index("ix_characters_due", ["status", "next_poll_at"])

    for table in ("generations", "characters"):
        # the sandbox has one well-known key; a live key was never stored, so its rows wait for
        # the first key of their service that the engine holds (and are adopted by it)
        op.execute(
            sa.text(f"UPDATE {table} SET account = :account WHERE service = 'sandbox'").bindparams(
                account=SANDBOX_ACCOUNT
            )
        )
        op.execute(f"UPDATE {table} SET next_poll_at = created_at WHERE status = 'running'")

    with op.batch_alter_table("batches") as batch_op:
        batch_op.add_column(sa.Column("service", sa.String(300), nullable=False, server_default="sandbox"))
        batch_op.add_column(sa.Column("account", sa.String(40)))
        batch_op.add_column(sa.Column("concurrency", sa.Integer, nullable=False, server_default="8"))
        batch_op.add_column(sa.Column("paused_because", sa.Text))
        batch_op.add_column(sa.Column("request_key", sa.String(80)))
        batch_op.create_unique_constraint("uq_batches_request_key", ["request_key"])
    connection = op.get_bind()
    for batch_id, settings in connection.execute(sa.text("SELECT id, settings FROM batches")).all():
        settings = json.loads(settings) if isinstance(settings, str) else (settings or {})
        service = settings.pop("service", "sandbox")
        concurrency = int(settings.pop("concurrency", 8))
        paused_because = settings.pop("paused_because", None)
        connection.execute(
            sa.text(
                "UPDATE batches SET service = :service, account = :account, concurrency = :concurrency, "
                "paused_because = :paused, settings = :settings WHERE id = :id"
            ),
            {
                "service": service,
                "account": SANDBOX_ACCOUNT if service == "sandbox" else None,
                "concurrency": concurrency,
                "paused": paused_because,
                "settings": json.dumps(settings),
                "id": batch_id,
            },
        )
    connection.execute(
        sa.text(
            "UPDATE generations SET account = (SELECT account FROM batches WHERE batches.id = generations.batch_id) "
            "WHERE batch_id IS NOT NULL AND account IS NULL"
        )
    )

    op.create_table(
        "engine_accounts",
        sa.Column("engine_id", sa.String(64), primary_key=True),
        sa.Column("service", sa.String(300), primary_key=True),
        sa.Column("account", sa.String(40), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
