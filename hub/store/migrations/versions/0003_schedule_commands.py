"""Schedule commands: pause, resume and trigger from the CLI to running schedulers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "schedule_commands",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False),
        sa.Column("connection", sa.String(length=120), nullable=False),
        sa.Column("command", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("schedule_commands", schema=None) as batch_op:
        batch_op.create_index("ix_schedule_commands_connection", ["connection", "id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("schedule_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_commands_connection")

    op.drop_table("schedule_commands")
