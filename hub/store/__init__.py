"""The store: SQLAlchemy 2 models, the engine, migrations, and one module per table group."""

from hub.store.db import Store

__all__ = ["Store"]
