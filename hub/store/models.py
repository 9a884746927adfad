"""Tables of the store, warehouse style: typed attributes, shared column aliases.

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
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from hub.store.types import UTCDateTime, utcnow

__all__ = [
    "ApiRequest",
    "ApiToken",
    "AuditEntry",
    "ChangeCounter",
    "Base",
    "Match",
    "ScheduleCommand",
    "OutboxItem",
    "PayerMemory",
    "QuarantineEntry",
    "Record",
    "RecordVersion",
    "Run",
    "ScheduleOverride",
    "StreamState",
    "WebSession",
    "WebUser",
]

intpk = Annotated[int, mapped_column(Integer().with_variant(BigInteger(), "postgresql"), primary_key=True, autoincrement=True)]
name = Annotated[str, mapped_column(String(120))]
key = Annotated[str, mapped_column(String(400))]
# Who did it: "cli", "web:<e-mail>" (an e-mail is up to 200 characters), "api:<token name>".
actor_name = Annotated[str, mapped_column(String(255))]
json_text = Annotated[str, mapped_column(Text)]
created = Annotated[datetime, mapped_column(UTCDateTime, default=utcnow)]
counter = Annotated[int, mapped_column(Integer, default=0)]


class Base(DeclarativeBase):
    """Declarative base: aware datetimes and bounded strings by default."""

    type_annotation_map = {datetime: UTCDateTime, str: String(255)}


class Record(Base):
    """The current version of one record; ``data`` is canonical JSON and ``hash`` its digest."""

    __tablename__ = "records"
    __table_args__ = (UniqueConstraint("entity", "key", name="uq_records_entity_key"), Index("ix_records_entity_id", "entity", "id"))

    id: Mapped[intpk]
    entity: Mapped[str] = mapped_column(String(40))
    key: Mapped[key]
    association_id: Mapped[str | None] = mapped_column(String(120), index=True)
    data: Mapped[json_text]
    hash: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    connection: Mapped[name]
    run_id: Mapped[int | None]
    created_at: Mapped[created]
    updated_at: Mapped[created]
    # Ordered like the commits that wrote it (see ChangeCounter): what ``/changes`` pages on.
    change_seq: Mapped[int] = mapped_column(BigInteger, index=True, default=0, server_default="0")
    # The version the sending hub gave this record, when it came through the API.
    source_version: Mapped[int | None]
    # The API token whose request wrote this version (None: written here, by a run). Lets the
    # change feed leave out what the reader's own association pushed (``origin=others``).
    api_token_id: Mapped[int | None]


class RecordVersion(Base):
    """A version of a record that a later one replaced."""

    __tablename__ = "record_history"
    __table_args__ = (Index("ix_record_history_entity_key", "entity", "key"),)

    id: Mapped[intpk]
    entity: Mapped[str] = mapped_column(String(40))
    key: Mapped[key]
    version: Mapped[int]
    data: Mapped[json_text]
    hash: Mapped[str] = mapped_column(String(40))
    connection: Mapped[name]
    run_id: Mapped[int | None]
    valid_from: Mapped[datetime]
    replaced_at: Mapped[created]


class StreamState(Base):
    """The cursor of one stream of one connection."""

    __tablename__ = "stream_state"

    connection: Mapped[name] = mapped_column(primary_key=True)
    stream: Mapped[name] = mapped_column(primary_key=True)
    cursor: Mapped[json_text]
    run_id: Mapped[int | None]
    updated_at: Mapped[created]


class Run(Base):
    """One run of one connection, with its counts; a scheduled slot is unique per connection."""

    __tablename__ = "runs"
    __table_args__ = (UniqueConstraint("connection", "scheduled_for", name="uq_runs_connection_slot"),)

    id: Mapped[intpk]
    connection: Mapped[name]
    trigger: Mapped[str] = mapped_column(String(20))
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    read: Mapped[counter]
    valid: Mapped[counter]
    inserted: Mapped[counter]
    updated: Mapped[counter]
    unchanged: Mapped[counter]
    quarantined: Mapped[counter]
    delivered: Mapped[counter]
    delivery_failed: Mapped[counter]
    error: Mapped[str | None] = mapped_column(Text)
    flags: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    # Added to existing stores by migration 0004, which needs a server default for their rows.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class QuarantineEntry(Base):
    """A record that could not be stored or delivered: raw payload and every error kept."""

    __tablename__ = "quarantine"
    __table_args__ = (
        Index("ix_quarantine_connection_status", "connection", "status"),
        Index("ix_quarantine_raw", "connection", "stream", "raw_hash"),
    )

    id: Mapped[intpk]
    run_id: Mapped[int | None]
    connection: Mapped[name]
    stream: Mapped[name]
    entity: Mapped[str] = mapped_column(String(40))
    stage: Mapped[str] = mapped_column(String(20))
    line: Mapped[int | None]
    raw: Mapped[json_text]
    raw_hash: Mapped[str] = mapped_column(String(32))
    errors: Mapped[json_text]
    status: Mapped[str] = mapped_column(String(20), default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]
    resolved_at: Mapped[datetime | None]


class OutboxItem(Base):
    """One record version for one destination; the idempotency key is stable across retries."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("destination", "idempotency_key", name="uq_outbox_destination_key"),
        Index("ix_outbox_destination_status", "destination", "status", "id"),
    )

    id: Mapped[intpk]
    destination: Mapped[name]
    entity: Mapped[str] = mapped_column(String(40))
    key: Mapped[key]
    version: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(500))
    payload: Mapped[json_text]
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[counter]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    run_id: Mapped[int | None]
    created_at: Mapped[created]
    delivered_at: Mapped[datetime | None]


class AuditEntry(Base):
    """One audited action; ``hash`` covers the entry and the previous entry's hash."""

    __tablename__ = "audit_log"

    id: Mapped[intpk]
    at: Mapped[created]
    actor: Mapped[actor_name]
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(400))
    detail: Mapped[json_text]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Match(Base):
    """One reconciliation decision: which donations a bank transaction pays, and how sure.

    ``status`` is ``confirmed`` (applied to the donations), ``suggested`` (waiting for a
    person), ``rejected`` (a person said no; never suggested again) or ``undone`` (reversed).
    """

    __tablename__ = "matches"
    __table_args__ = (Index("ix_matches_transaction_status", "transaction_key", "status"), Index("ix_matches_status", "status"))

    id: Mapped[intpk]
    transaction_key: Mapped[key]
    transaction_id: Mapped[str] = mapped_column(String(200))
    donation_keys: Mapped[json_text]
    kind: Mapped[str] = mapped_column(String(20))
    rule: Mapped[str] = mapped_column(String(60))
    score: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    allocations: Mapped[json_text]
    evidence: Mapped[json_text]
    decided_by: Mapped[actor_name]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created]
    decided_at: Mapped[datetime | None]


class PayerMemory(Base):
    """An account or a spelling a reviewer confirmed for a donor, so the next transfer matches itself."""

    __tablename__ = "payer_memory"
    __table_args__ = (Index("ix_payer_memory_donor", "donor_key"), Index("ix_payer_memory_account", "account"))

    id: Mapped[intpk]
    donor_key: Mapped[key]
    account: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(Text)  # as the bank wrote it: up to the schema's 2,000 characters
    match_id: Mapped[int | None]
    actor: Mapped[actor_name]
    created_at: Mapped[created]


class ScheduleCommand(Base):
    """An admin's command to the running schedulers: pause, resume or trigger a connection.

    ``hub schedule pause|resume|trigger`` write a row; every ``hub serve`` reads new rows and
    acts on them. The latest pause/resume of a connection is also its state after a restart.
    """

    __tablename__ = "schedule_commands"
    __table_args__ = (Index("ix_schedule_commands_connection", "connection", "id"),)

    id: Mapped[intpk]
    connection: Mapped[name]
    command: Mapped[str] = mapped_column(String(20))
    actor: Mapped[actor_name]
    created_at: Mapped[created]


class ChangeCounter(Base):
    """One row: the last change sequence number handed out.

    A batch takes its numbers with ``UPDATE ... SET value = value + n`` inside its own
    transaction, so the row stays locked until that batch commits: sequence order is commit
    order, and a reader paging ``/changes`` by sequence never skips a batch that committed late.
    """

    __tablename__ = "change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class ApiToken(Base):
    """An API token: who it speaks for and what it may do. Only the SHA-256 of the secret is kept.

    ``association_id`` None means a platform token (reads everything); otherwise the token reads
    and writes only that association's records.
    """

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    name: Mapped[name]
    prefix: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    association_id: Mapped[str | None] = mapped_column(String(120))
    can_read: Mapped[bool]
    can_write: Mapped[bool]
    created_by: Mapped[actor_name]
    created_at: Mapped[created]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # From then on the token is refused, as if revoked (None: until revoked).
    expires_at: Mapped[datetime | None]


class ApiRequest(Base):
    """The first answer to an idempotent request, kept so that a repeat gets the same answer."""

    __tablename__ = "api_requests"
    __table_args__ = (UniqueConstraint("token_id", "idempotency_key", name="uq_api_requests_token_key"),)

    id: Mapped[intpk]
    token_id: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[json_text]
    created_at: Mapped[created]


class WebUser(Base):
    """A person who signs in to the web admin; the password is kept as an argon2 hash only."""

    __tablename__ = "web_users"

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    association_id: Mapped[str | None] = mapped_column(String(120))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[created]
    last_login_at: Mapped[datetime | None]


class WebSession(Base):
    """A signed-in browser: the cookie holds a random token, the store only its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created]
    expires_at: Mapped[datetime]


class ScheduleOverride(Base):
    """A connection's schedule as an admin set it in the web admin; it wins over the config's."""

    __tablename__ = "schedule_overrides"

    connection: Mapped[name] = mapped_column(primary_key=True)
    spec: Mapped[json_text]
    actor: Mapped[actor_name]
    updated_at: Mapped[created]
