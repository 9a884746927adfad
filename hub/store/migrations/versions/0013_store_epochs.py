"""Store epochs: this store's (renewed by a restore) and the one each destination answered with.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "store_epoch",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("epoch", sa.String(40), nullable=False),
        sa.Column("begun_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "destination_stores",
        sa.Column("destination", sa.String(120), primary_key=True),
        sa.Column("epoch", sa.String(120), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("destination_stores")
    op.drop_table("store_epoch")
