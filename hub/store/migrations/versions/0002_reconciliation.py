"""Reconciliation: matches and the payer memory.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "matches",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False),
        sa.Column("transaction_key", sa.String(length=400), nullable=False),
        sa.Column("transaction_id", sa.String(length=200), nullable=False),
        sa.Column("donation_keys", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("rule", sa.String(length=60), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("allocations", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=120), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index("ix_matches_status", ["status"], unique=False)
        batch_op.create_index("ix_matches_transaction_status", ["transaction_key", "status"], unique=False)

    op.create_table(
        "payer_memory",
        sa.Column("id", sa.Integer().with_variant(sa.BigInteger(), "postgresql"), autoincrement=True, nullable=False),
        sa.Column("donor_key", sa.String(length=400), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=400), nullable=True),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payer_memory", schema=None) as batch_op:
        batch_op.create_index("ix_payer_memory_account", ["account"], unique=False)
        batch_op.create_index("ix_payer_memory_donor", ["donor_key"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("payer_memory", schema=None) as batch_op:
        batch_op.drop_index("ix_payer_memory_donor")
        batch_op.drop_index("ix_payer_memory_account")

    op.drop_table("payer_memory")
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index("ix_matches_transaction_status")
        batch_op.drop_index("ix_matches_status")

    op.drop_table("matches")
