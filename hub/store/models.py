"""Tables of the store, declared with SQLAlchemy Core (``Table`` objects): what each one holds.

records          the current version of every record, by entity and natural key
record_history   every superseded version, so a change is never lost
stream_state     each stream's cursor, committed with the batch that moved it
runs             one row per run; (connection, scheduled_for) is unique
quarantine       records that failed, with their raw payload and every error
outbox           record versions waiting for (or done with) each destination
audit_log        append-only, each entry hashing the one before
matches          reconciliation decisions: a bank transaction, its donations, rule, score, who
payer_memory     accounts and spellings a reviewer confirmed for a donor
schedule_state   schedules paused by an admin, and commands waiting for the scheduler
api_tokens       API tokens: scope (one association or the platform), rights, and only a hash
api_requests     the first answer to each idempotent API request, replayed for a repeat
change_counter   the last change sequence number given to a record version
web_users        people who sign in to the web admin: one association's, or the platform's
web_sessions     signed-in browsers: a hashed session token, its CSRF token, when it expires
schedule_overrides  schedules an admin set in the web admin, over the config's
deliveries_begun the destinations each connection's stored records have been queued for
store_epoch      this store's epoch: a name given anew when its history is wound back (a restore)
destination_stores  the epoch of each destination's store, as it answered last

The code reads and writes these tables with Core statements only, so the ORM is not declared:
importing it cost every ``hub`` command about a third of its start (0.29 s of 0.94 s).
Strings are bounded and times are aware (hub.store.types.UTCDateTime), as before.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, event

from hub.store.record_fields import filter_index_ddl
from hub.store.types import UTCDateTime, utcnow

__all__ = [
    "api_requests_table",
    "api_tokens_table",
    "audit_log_table",
    "change_counter_table",
    "deliveries_begun_table",
    "destination_stores_table",
    "matches_table",
    "metadata",
    "outbox_table",
    "payer_memory_table",
    "quarantine_table",
    "record_history_table",
    "records_table",
    "runs_table",
    "schedule_commands_table",
    "schedule_overrides_table",
    "stream_state_table",
    "store_epoch_table",
    "web_sessions_table",
    "web_users_table",
]

metadata = MetaData()


def _id() -> Column:
    """A row number: 64-bit on PostgreSQL, SQLite's own rowid there."""
    return Column("id", Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True)


def _name(column: str) -> Column:
    """A connection's, stream's or destination's name, as hub.yaml and tokens give them."""
    return Column(column, String(120), nullable=False)


def _key(column: str) -> Column:
    """A record's natural key (its key fields joined with ``|``)."""
    return Column(column, String(400), nullable=False)


def _actor(column: str) -> Column:
    """Who did it: "cli", "web:<e-mail>" (an e-mail is up to 200 characters), "api:<token name>"."""
    return Column(column, String(255), nullable=False)


def _json(column: str) -> Column:
    """JSON text: a record, its errors, a cursor, an answer."""
    return Column(column, Text, nullable=False)


def _created(column: str) -> Column:
    """When the row was written (aware, UTC), set by the hub when the insert does not say."""
    return Column(column, UTCDateTime, nullable=False, default=utcnow)


def _counter(column: str) -> Column:
    """A count that starts at 0."""
    return Column(column, Integer, nullable=False, default=0)


# The current version of one record; ``data`` is canonical JSON and ``hash`` its digest.
records_table = Table(
    "records",
    metadata,
    _id(),
    Column("entity", String(40), nullable=False),
    _key("key"),
    Column("association_id", String(120), index=True),
    _json("data"),
    Column("hash", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    _name("connection"),
    Column("run_id", Integer),
    _created("created_at"),
    _created("updated_at"),
    # Ordered like the commits that wrote it (see change_counter): what ``/changes`` pages on.
    Column("change_seq", BigInteger, nullable=False, default=0, server_default="0", index=True),
    # The version the sending hub gave this record, when it came through the API.
    Column("source_version", Integer),
    # The API token whose request wrote this version (None: written here, by a run). Lets the
    # change feed leave out what the reader's own association pushed (``origin=others``).
    Column("api_token_id", Integer),
    UniqueConstraint("entity", "key", name="uq_records_entity_key"),
    Index("ix_records_entity_id", "entity", "id"),
)


@event.listens_for(records_table, "after_create")
def _filter_indexes(target, connection, **kw) -> None:
    """The indexes on fields inside ``data`` that the API filters by (hub.store.record_fields).

    Each is written in its dialect's own spelling of the expression, which SQLAlchemy's
    ``Index`` cannot say once for both stores; migration 0012 creates the same ones.
    """
    for statement in filter_index_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


# A version of a record that a later one replaced.
record_history_table = Table(
    "record_history",
    metadata,
    _id(),
    Column("entity", String(40), nullable=False),
    _key("key"),
    Column("version", Integer, nullable=False),
    _json("data"),
    Column("hash", String(40), nullable=False),
    _name("connection"),
    Column("run_id", Integer),
    Column("valid_from", UTCDateTime, nullable=False),
    _created("replaced_at"),
    Index("ix_record_history_entity_key", "entity", "key"),
)


# The cursor of one stream of one connection.
stream_state_table = Table(
    "stream_state",
    metadata,
    Column("connection", String(120), primary_key=True),
    Column("stream", String(120), primary_key=True),
    _json("cursor"),
    Column("run_id", Integer),
    _created("updated_at"),
)


# One run of one connection, with its counts; a scheduled slot is unique per connection.
runs_table = Table(
    "runs",
    metadata,
    _id(),
    _name("connection"),
    Column("trigger", String(20), nullable=False),
    Column("scheduled_for", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    _counter("read"),
    _counter("valid"),
    _counter("inserted"),
    _counter("updated"),
    _counter("unchanged"),
    _counter("quarantined"),
    _counter("delivered"),
    _counter("delivery_failed"),
    Column("error", Text),
    Column("flags", Text),
    Column("worker", String(200)),
    Column("heartbeat_at", UTCDateTime),
    # Added to existing stores by migration 0004, which needs a server default for their rows.
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    # Rows the stream's skip rules name as not records (a totals row); added by migration 0011.
    Column("skipped", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("connection", "scheduled_for", name="uq_runs_connection_slot"),
)


# A record that could not be stored or delivered: raw payload and every error kept.
quarantine_table = Table(
    "quarantine",
    metadata,
    _id(),
    Column("run_id", Integer),
    _name("connection"),
    _name("stream"),
    Column("entity", String(40), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("line", Integer),
    _json("raw"),
    Column("raw_hash", String(32), nullable=False),
    _json("errors"),
    Column("status", String(20), nullable=False, default="open"),
    Column("reason", Text),
    _created("created_at"),
    Column("resolved_at", UTCDateTime),
    # What a person corrected the payload to, and the hub stored (JSON); ``raw`` stays as sent.
    Column("corrected", Text),
    Index("ix_quarantine_connection_status", "connection", "status"),
    Index("ix_quarantine_raw", "connection", "stream", "raw_hash"),
)


# One record version for one destination; the idempotency key is stable across retries.
outbox_table = Table(
    "outbox",
    metadata,
    _id(),
    _name("destination"),
    Column("entity", String(40), nullable=False),
    _key("key"),
    Column("version", Integer, nullable=False),
    Column("idempotency_key", String(500), nullable=False),
    _json("payload"),
    Column("status", String(20), nullable=False, default="pending"),
    _counter("attempts"),
    Column("last_error", Text),
    Column("next_attempt_at", UTCDateTime),
    Column("run_id", Integer),
    _created("created_at"),
    Column("delivered_at", UTCDateTime),
    UniqueConstraint("destination", "idempotency_key", name="uq_outbox_destination_key"),
    Index("ix_outbox_destination_status", "destination", "status", "id"),
)


# One audited action; ``hash`` covers the entry and the previous entry's hash.
audit_log_table = Table(
    "audit_log",
    metadata,
    _id(),
    _created("at"),
    _actor("actor"),
    Column("action", String(60), nullable=False),
    Column("subject", String(400), nullable=False),
    _json("detail"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)


# One reconciliation decision: which donations a bank transaction pays, and how sure.
#
# ``status`` is ``confirmed`` (applied to the donations), ``suggested`` (waiting for a
# person), ``rejected`` (a person said no; never suggested again) or ``undone`` (reversed).
matches_table = Table(
    "matches",
    metadata,
    _id(),
    _key("transaction_key"),
    Column("transaction_id", String(200), nullable=False),
    _json("donation_keys"),
    Column("kind", String(20), nullable=False),
    Column("rule", String(60), nullable=False),
    Column("score", Float, nullable=False),
    Column("status", String(20), nullable=False),
    _json("allocations"),
    _json("evidence"),
    _actor("decided_by"),
    Column("reason", Text),
    _created("created_at"),
    Column("decided_at", UTCDateTime),
    Index("ix_matches_transaction_status", "transaction_key", "status"),
    Index("ix_matches_status", "status"),
)


# An account or a spelling a reviewer confirmed for a donor, so the next transfer matches itself.
payer_memory_table = Table(
    "payer_memory",
    metadata,
    _id(),
    _key("donor_key"),
    Column("account", String(64)),
    Column("name", Text),
    Column("match_id", Integer),
    _actor("actor"),
    _created("created_at"),
    Index("ix_payer_memory_donor", "donor_key"),
    Index("ix_payer_memory_account", "account"),
)


# An admin's command to the running schedulers: pause, resume or trigger a connection.
#
# ``hub schedule pause|resume|trigger`` write a row; every ``hub serve`` reads new rows and
# acts on them. The latest pause/resume of a connection is also its state after a restart.
schedule_commands_table = Table(
    "schedule_commands",
    metadata,
    _id(),
    _name("connection"),
    Column("command", String(20), nullable=False),
    _actor("actor"),
    _created("created_at"),
    Index("ix_schedule_commands_connection", "connection", "id"),
)


# One row: the last change sequence number handed out.
#
# A batch takes its numbers with ``UPDATE ... SET value = value + n`` inside its own
# transaction, so the row stays locked until that batch commits: sequence order is commit
# order, and a reader paging ``/changes`` by sequence never skips a batch that committed late.
change_counter_table = Table(
    "change_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)


# An API token: who it speaks for and what it may do. Only the SHA-256 of the secret is kept.
#
# ``association_id`` None means a platform token (reads everything); otherwise the token reads
# and writes only that association's records.
api_tokens_table = Table(
    "api_tokens",
    metadata,
    _id(),
    _name("name"),
    Column("prefix", String(20), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("association_id", String(120)),
    Column("can_read", Boolean, nullable=False),
    Column("can_write", Boolean, nullable=False),
    _actor("created_by"),
    _created("created_at"),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    # From then on the token is refused, as if revoked (None: until revoked).
    Column("expires_at", UTCDateTime),
)


# The first answer to an idempotent request, kept so that a repeat gets the same answer.
api_requests_table = Table(
    "api_requests",
    metadata,
    _id(),
    Column("token_id", Integer, nullable=False),
    Column("idempotency_key", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    _json("response"),
    _created("created_at"),
    UniqueConstraint("token_id", "idempotency_key", name="uq_api_requests_token_key"),
)


# A person who signs in to the web admin; the password is kept as an argon2 hash only.
web_users_table = Table(
    "web_users",
    metadata,
    _id(),
    Column("email", String(200), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("association_id", String(120)),
    Column("disabled", Boolean, nullable=False, default=False),
    _created("created_at"),
    Column("last_login_at", UTCDateTime),
)


# A signed-in browser: the cookie holds a random token, the store only its SHA-256.
web_sessions_table = Table(
    "web_sessions",
    metadata,
    _id(),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    _created("created_at"),
    Column("expires_at", UTCDateTime, nullable=False),
)


# A connection's schedule as an admin set it in the web admin; it wins over the config's.
schedule_overrides_table = Table(
    "schedule_overrides",
    metadata,
    Column("connection", String(120), primary_key=True),
    _json("spec"),
    _actor("actor"),
    _created("updated_at"),
)


# A destination a connection's records have been queued for, with every record the connection
# had stored by then (hub.pipeline.backfill): a destination added later is given them once.
deliveries_begun_table = Table(
    "deliveries_begun",
    metadata,
    Column("connection", String(120), primary_key=True),
    Column("destination", String(120), primary_key=True),
    _created("begun_at"),
    _counter("queued"),
)


# One row, written the first time it is asked for: a random name for this store's history.
#
# ``hub restore`` gives it a new one, so a hub that pushed here can tell that what it was
# told was stored may be gone (hub.pipeline.destination_stores) and send it all again.
store_epoch_table = Table(
    "store_epoch",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("epoch", String(40), nullable=False),
    _created("begun_at"),
)


# The store epoch each destination answered with last (one that can tell, such as another
# Wasl hub): a different answer means it is not the store this hub's deliveries went to.
destination_stores_table = Table(
    "destination_stores",
    metadata,
    Column("destination", String(120), primary_key=True),
    Column("epoch", String(120), nullable=False),
    _created("seen_at"),
)
