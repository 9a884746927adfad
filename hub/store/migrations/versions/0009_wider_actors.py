"""Who did something fits its column: a web user is "web:<e-mail>", and an e-mail is up to 200 characters.

The actor columns were 120 characters, so on PostgreSQL (which, unlike SQLite, holds a column
to its length) an admin with a long address could not confirm a match or dismiss an entry.
A payer's name remembered from a statement is kept whole, as the schema's text allows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ACTORS = [
    ("audit_log", "actor"),
    ("matches", "decided_by"),
    ("payer_memory", "actor"),
    ("schedule_commands", "actor"),
    ("api_tokens", "created_by"),
    ("schedule_overrides", "actor"),
]


def upgrade() -> None:
    for table, column in ACTORS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(120), type_=sa.String(255), existing_nullable=False)
    with op.batch_alter_table("payer_memory", schema=None) as batch_op:
        batch_op.alter_column("name", existing_type=sa.String(400), type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("payer_memory", schema=None) as batch_op:
        batch_op.alter_column("name", existing_type=sa.Text(), type_=sa.String(400), existing_nullable=True)
    for table, column in ACTORS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(255), type_=sa.String(120), existing_nullable=False)
