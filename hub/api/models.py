"""Response shapes, for the OpenAPI document (the routes answer with pre-serialised JSON)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["Change", "Changes", "Health", "IngestAnswer", "IngestResult", "Item", "Page", "Problem", "TokenInfo"]


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
