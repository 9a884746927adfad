"""The platform API: tokens, idempotent request answers, and the change sequence of records.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_pk = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("source_version", sa.Integer(), nullable=True))
    # Records written before the change sequence existed are ordered by their row id.
    op.execute("UPDATE records SET change_seq = id")
    op.create_index("ix_records_change_seq", "records", ["change_seq"])
    op.create_index("ix_records_entity_id", "records", ["entity", "id"])

    counter = op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.execute(
        sa.insert(counter).from_select(
            ["id", "value"],
            sa.select(sa.literal(1), sa.func.coalesce(sa.func.max(sa.column("id")), 0)).select_from(sa.table("records", sa.column("id"))),
        )
    )

    op.create_table(
        "api_tokens",
        sa.Column("id", _pk, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("association_id", sa.String(120), nullable=True),
        sa.Column("can_read", sa.Boolean(), nullable=False),
        sa.Column("can_write", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "api_requests",
        sa.Column("id", _pk, primary_key=True, autoincrement=True),
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("token_id", "idempotency_key", name="uq_api_requests_token_key"),
    )


def downgrade() -> None:
    op.drop_table("api_requests")
    op.drop_table("api_tokens")
    op.drop_table("change_counter")
    op.drop_index("ix_records_entity_id", "records")
    op.drop_index("ix_records_change_seq", "records")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("source_version")
        batch_op.drop_column("change_seq")
