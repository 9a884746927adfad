"""The destinations each connection's stored records have been queued for.

A destination added to a connection that has stored records already is given all of them
once (hub.pipeline.backfill). Pairs that have delivered already, found in the outbox through
the runs that queued them, are taken as begun, so an upgraded store sends nothing twice.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries_begun",
        sa.Column("connection", sa.String(length=120), nullable=False),
        sa.Column("destination", sa.String(length=120), nullable=False),
        sa.Column("begun_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("connection", "destination"),
    )
    op.execute(
        "INSERT INTO deliveries_begun (connection, destination, begun_at, queued) "
        "SELECT DISTINCT runs.connection, outbox.destination, CURRENT_TIMESTAMP, 0 "
        "FROM outbox JOIN runs ON runs.id = outbox.run_id"
    )


def downgrade() -> None:
    op.drop_table("deliveries_begun")
