"""A corrected quarantine entry keeps the payload as sent beside the corrected one it stored.

Until now a correction replaced the entry's payload, so the values the source sent were lost,
and a row corrected once came back when the source sent it again unchanged. Entries corrected
before this revision keep the corrected payload as ``raw`` (what was sent is not recoverable)
and ``corrected`` empty.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.add_column(sa.Column("corrected", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("quarantine") as batch:
        batch.drop_column("corrected")
