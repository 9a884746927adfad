"""Indexes on the fields the API filters distributions by: governorate, sector, program.

A listing filtered on a rare value read every record of its entity for one page. Each index
holds one entity's rows, by the field and then the row id. The list and the spelling are
written here as they stood at this revision, as a migration must (hub.store.record_fields
creates the same indexes on a new store; tests/schema_shape.py holds the two equal).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEXES = (("distribution", "governorate"), ("distribution", "sector"), ("distribution", "program_id"))


def _field(dialect: str, name: str) -> str:
    # A NUL escape read as U+FFFD: PostgreSQL refuses \u0000 in JSON text, and the insert of a
    # record holding one in any field would have failed on the index.
    if dialect == "postgresql":
        return f"(CAST(replace(data, '\\u0000', '\\uFFFD') AS JSONB) ->> '{name}')"
    return f"json_extract(data, '$.{name}')"


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for entity, name in INDEXES:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_records_{entity}_{name} ON records ({_field(dialect, name)}, id) WHERE entity = '{entity}'"
        )


def downgrade() -> None:
    for entity, name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS ix_records_{entity}_{name}")
