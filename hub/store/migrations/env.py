"""Alembic environment: runs on the connection the hub hands it (see hub.store.db)."""

from alembic import context

from hub.store.models import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
