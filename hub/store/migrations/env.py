"""Alembic environment: runs on the connection the hub hands it (see hub.store.db)."""

from alembic import context

from hub.store.models import metadata
from hub.store.record_fields import not_a_filter_index

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, include_object=not_a_filter_index)
with context.begin_transaction():
    context.run_migrations()
