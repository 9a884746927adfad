"""Response shapes, for the OpenAPI document (the routes answer with pre-serialised JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.store.runs import STATUSES

__all__ = [
    "Change",
    "Changes",
    "ConnectionState",
    "Connections",
    "DirectoryAssociation",
    "DirectoryPage",
    "Health",
    "IngestAnswer",
    "IngestResult",
    "Item",
    "Page",
    "Problem",
    "ProgramPage",
    "Report",
    "Run",
    "RunDetail",
    "RunRequested",
    "Runs",
    "TokenInfo",
]


class Error(BaseModel):
    """One thing wrong: the field path, the rule it broke, in words."""

    path: str
    rule: str
    message: str


class Problem(BaseModel):
    """An RFC 9457 problem document: why a request was refused as a whole."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    errors: list[Error] | None = None


class IngestResult(BaseModel):
    """One record's fate, by its position in the request."""

    index: int
    status: Literal["accepted", "unchanged", "rejected"]
    key: str | None = None
    version: int | None = None
    note: str | None = None
    errors: list[Error] | None = None


class IngestAnswer(BaseModel):
    """The answer to a batch: counts and one result per record, in order."""

    entity: str
    accepted: int
    unchanged: int
    rejected: int
    results: list[IngestResult]


class Item(BaseModel):
    """A stored record: its natural key, the version this hub gave it, and the record.

    ``source_version`` is the version the sending hub gave it, when it came through the API
    with one (the number that hub's own outbox knows it by); null otherwise.
    """

    key: str
    version: int
    source_version: int | None = None
    updated_at: str
    record: dict[str, Any]


class Page(BaseModel):
    """A page of records; pass ``next`` as ``after`` for the following page (null: the last)."""

    entity: str
    items: list[Item]
    next: str | None


class Held(BaseModel):
    """A stored record's key and versions, without the record."""

    key: str
    version: int
    source_version: int | None = None


class VersionPage(BaseModel):
    """A page of keys and versions; pass ``next`` as ``after`` for the following page (null: the last)."""

    entity: str
    items: list[Held]
    next: str | None


class Change(Item):
    """A record version in the change feed, with its sequence number."""

    seq: int
    entity: str


class Changes(BaseModel):
    """Versions committed after ``since``; ask again with ``since=next_since`` while ``more``."""

    changes: list[Change]
    next_since: int
    more: bool


class Health(BaseModel):
    """Liveness or readiness."""

    status: str
    detail: str | None = None


class TokenInfo(BaseModel):
    """What the presented token may do."""

    name: str
    association_id: str | None
    platform: bool
    read: bool
    write: bool
    expires_at: str | None = None
    store_epoch: str = Field(
        description="This hub's store: a new name once it is restored from a backup or replaced (a pushing hub then sends everything again)"
    )


class Run(BaseModel):
    """One run of a connection or hub job: when, what it read and stored, how it ended.

    A ``skipped`` run stands for scheduled slots that found the connection busy: ``attempts``
    counts them, ``started_at`` is the first and ``scheduled_for`` the last.
    """

    id: int
    connection: str
    trigger: str
    status: Literal[STATUSES]
    scheduled_for: str | None
    started_at: str | None
    finished_at: str | None
    seconds: float | None = None
    read: int
    valid: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    skipped: int = 0
    delivered: int
    delivery_failed: int
    error: str | None
    flags: list[str]
    heartbeat_at: str | None
    attempts: int
    worker: str | None = None


class QuarantinedLine(BaseModel):
    """A record the run quarantined: its entry, where it was, and why."""

    id: int
    line: int | None
    stage: str
    errors: list[Error]


class RunDetail(Run):
    """A run and the records it quarantined (the first 200)."""

    quarantine: list[QuarantinedLine]


class Runs(BaseModel):
    """Runs, newest first; pass ``next_before`` as ``before`` for older ones (null: no more)."""

    runs: list[Run]
    next_before: int | None


class Waiting(BaseModel):
    """Record versions waiting to be sent to a destination, and why the last try failed."""

    pending: int
    oldest: str
    next_attempt_at: str | None
    last_error: str | None


class ConnectionState(BaseModel):
    """A connection or hub job (``job:NAME``): its schedule, what runs now, ran last, failed last, waits."""

    connection: str
    schedule: str | None
    paused: bool
    next: str | None
    running: list[int]
    running_since: list[str]
    last_run: Run | None
    skipped: Run | None
    last_failure: Run | None
    waiting: Waiting | None


class Connections(BaseModel):
    """What the token may see, connections first, then the hub's jobs (platform tokens)."""

    connections: list[ConnectionState]


class RunRequested(BaseModel):
    """A run was asked of the hub's scheduler; it starts within seconds, and ``GET /api/v1/runs`` shows it with this ``scheduled_for``."""

    connection: str
    requested: bool
    scheduled_for: str


class Given(BaseModel):
    """Donations of a group: how many, what donors gave or pledged, what came in (per currency and epoch)."""

    count: int
    given: dict[str, str]
    received: dict[str, str]


class StatusGiven(Given):
    status: str


class ChannelGiven(Given):
    channel: str


class AssociationGiven(Given):
    association_id: str


class Delivered(BaseModel):
    """Distributions of a group: how many, whom they reached (null: no record counts it), what they were worth."""

    count: int
    households: int | None
    individuals: int | None
    female: int | None
    male: int | None
    value: dict[str, str]


class SectorDelivered(Delivered):
    sector: str


class GovernorateDelivered(Delivered):
    governorate: str


class AssociationDelivered(Delivered):
    association_id: str


class MoneyIn(Given):
    by_status: list[StatusGiven]
    by_channel: list[ChannelGiven]
    by_association: list[AssociationGiven]


class AidOut(Delivered):
    by_sector: list[SectorDelivered]
    by_governorate: list[GovernorateDelivered]
    by_association: list[AssociationDelivered]


class ProgramLine(BaseModel):
    """One program (id null: the records that name none), with what was given to it and what it delivered."""

    id: str | None
    association_id: str | None
    stored: bool
    title_ar: str | None
    title_en: str | None
    status: str | None
    target: dict[str, str]
    donations: Given
    distributions: Delivered


class Report(BaseModel):
    """Where the money came from and what aid it became, within the token's scope."""

    association: str | None
    program: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    money_in: MoneyIn
    aid_out: AidOut
    programs: list[ProgramLine]


class Totals(BaseModel):
    """An association's account in brief: donations counted and added up, what its distributions reached."""

    donations: int
    given: dict[str, str]
    received: dict[str, str]
    distributions: int
    households: int | None
    individuals: int | None
    value: dict[str, str]


class PublicAssociation(BaseModel):
    """What an association says of itself that a donor may read (never its bank accounts)."""

    id: str
    name_ar: str | None
    name_en: str | None
    registration_number: str | None
    org_type: str | None
    parent_id: str | None
    governorate: str | None
    governorates_served: list[str] | None
    sectors: list[str] | None
    website: str | None
    description: str | None
    status: str | None


class DirectoryEntry(PublicAssociation):
    totals: Totals


class DirectoryPage(BaseModel):
    """A page of the directory; pass ``next`` as ``after`` for the following page (null: the last)."""

    items: list[DirectoryEntry]
    next: str | None


class DirectoryAssociation(PublicAssociation):
    """One association's public words and its whole account."""

    account: Report


class PublicProgram(BaseModel):
    """A program a donor can still give to: its own words, whose it is, its target and what it has had."""

    id: str
    association_id: str
    title_ar: str | None
    title_en: str | None
    sector: str | None
    governorates: list[str] | None
    status: str
    start_date: str | None
    end_date: str | None
    target_amount: str | None
    currency: str | None
    description: str | None
    association_name_ar: str | None
    association_name_en: str | None
    target: dict[str, str]
    donations: Given
    distributions: Delivered


class ProgramPage(BaseModel):
    """A page of programs; pass ``next`` as ``after`` for the following page (null: the last)."""

    items: list[PublicProgram]
    next: str | None
