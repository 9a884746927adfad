"""Column types shared by the models: timezone-aware datetimes that come back in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

__all__ = ["MAX_ROW_ID", "UTCDateTime", "utcnow"]

# The largest row id or change cursor a caller may name: ids are 64-bit on both stores, and a
# longer number typed into an address or an argument is a bad request, not an overflow.
MAX_ROW_ID = 2**62


def utcnow() -> datetime:
    """Now, in UTC, with its timezone."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; SQLite keeps no zone, so the zone is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: every time must carry a zone")
        return value.astimezone(UTC) if dialect.name != "sqlite" else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
