"""The brand kit: pictures kept once and named, to be reused as references everywhere.

- ``brand_assets``: one row per asset of one account on one service: its ``@name`` (lower case,
  unique per account and service), its kind (logo, product, face, mascot, other), the picture in
  the media store and its thumbnail. Colours and the house-style sentence are a settings row.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brand_assets",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("account", sa.String(40), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_path", sa.String(300), nullable=False),
        sa.Column("thumb_path", sa.String(300)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("service", "account", "name", name="uq_brand_assets_name"),
    )


def downgrade() -> None:
    op.drop_table("brand_assets")
