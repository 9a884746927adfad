"""Reading records for the API: filtered pages and the change feed, always within a token's scope.

Pages are keyset-paginated on the row id (``after``), so a page costs the same at record one
million as at record one, and records arriving meanwhile never shift a page. The change feed
pages on ``change_seq`` (see :mod:`hub.store.changes`): a hub that pulls with ``since=N``
gets every version committed after N, in commit order, and nothing twice.

Governorate, sector, program and date filters look inside the record's JSON with the database's
own JSON functions (SQLite ``json_extract``, PostgreSQL ``jsonb``), spelled as the indexes on
those fields are (:mod:`hub.store.record_fields`), so a rare value is found through an index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import quote

import orjson
from sqlalchemy import Select, and_, or_, select

from hub.app import Hub
from hub.schema import ENTITIES, entity_key
from hub.services.ingest import ApiProblem, unknown_entity
from hub.services.tokens import Principal
from hub.store import changes as change_numbers
from hub.store.models import api_tokens_table, records_table
from hub.store.record_fields import entity_is, record_field, record_list

__all__ = ["Filters", "changes", "get_record", "list_records", "list_versions", "page_query", "where_clauses"]

_r = records_table
_tokens = api_tokens_table

# Where each entity keeps the fields the filters look at: (single-valued fields, list fields).
GOVERNORATE_FIELDS = {
    "association": (("governorate",), ("governorates_served",)),
    "distribution": (("governorate",), ()),
    "program": ((), ("governorates",)),
}
SECTOR_FIELDS = {
    "association": ((), ("sectors",)),
    "distribution": (("sector",), ()),
    "program": (("sector",), ()),
}
DATE_FIELD = {
    "donation": "donated_at",
    "distribution": "distributed_at",
    "program": "start_date",
    "bank_transaction": "booking_date",
}
# The field that names a record's program (a program is its own).
PROGRAM_FIELD = {"donation": "program_id", "distribution": "program_id", "program": "id"}


@dataclass(frozen=True)
class Filters:
    """What a reader may narrow a listing by; dates compare the record's own calendar date."""

    association: str | None = None
    governorate: str | None = None
    sector: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    program: str | None = None


def _has_element(dialect: str, name: str, value: str):
    if dialect == "postgresql":
        return record_list(dialect, name).contains([value])
    # Codes are plain tokens, so '"SY01"' inside the array's JSON text is an exact element match
    # (a sector's "_" escaped: LIKE would take it for any one character).
    token = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return record_list(dialect, name).like(f'%"{token}"%', escape="\\")


def _any_field(dialect: str, fields: tuple[tuple[str, ...], tuple[str, ...]], value: str):
    single, lists = fields
    return or_(*[record_field(dialect, f) == value for f in single], *[_has_element(dialect, f, value) for f in lists])


def where_clauses(dialect: str, principal: Principal, entity: str, f: Filters) -> list:
    """The WHERE clauses of ``entity`` records within ``principal``'s scope narrowed by ``f``.

    An impossible filter (a field the entity lacks, a range that holds nothing, another
    association's records for an association's token) is an ApiProblem naming it.
    """
    clauses = [entity_is(entity)]
    if not principal.is_platform:
        clauses.append(_r.c.association_id == principal.association_id)
    if f.association:
        if not principal.is_platform and f.association != principal.association_id:
            # An empty page would read as "that association has none"; the truth is "not yours to read".
            raise ApiProblem(403, f"token {principal.name!r} reads only association {principal.association_id!r} records")
        clauses.append(_r.c.association_id == f.association)
    for value, table, what in ((f.governorate, GOVERNORATE_FIELDS, "governorate"), (f.sector, SECTOR_FIELDS, "sector")):
        if value is None:
            continue
        if entity not in table:
            raise ApiProblem(422, f"{entity} records have no {what}; filter by {what} on {', '.join(table)}")
        clauses.append(_any_field(dialect, table[entity], value))
    if f.program is not None:
        if entity not in PROGRAM_FIELD:
            raise ApiProblem(422, f"{entity} records name no program; filter by program on {', '.join(PROGRAM_FIELD)}")
        clauses.append(record_field(dialect, PROGRAM_FIELD[entity]) == f.program)
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise ApiProblem(
            422,
            f"from ({f.date_from}) is after to ({f.date_to}); the range would hold nothing",
            errors=[{"path": "from", "rule": "range", "message": "from must not be after to"}],
        )
    if f.date_from or f.date_to:
        if entity not in DATE_FIELD:
            raise ApiProblem(422, f"{entity} records have no date to filter on; dates filter {', '.join(DATE_FIELD)}")
        day = record_field(dialect, DATE_FIELD[entity], day=True)
        if f.date_from:
            clauses.append(day >= f.date_from.isoformat())
        if f.date_to:
            clauses.append(day <= f.date_to.isoformat())
    return clauses


def _check_read(principal: Principal, entity: str | None) -> None:
    if not principal.can_read:
        raise ApiProblem(403, f"token {principal.name!r} has no read right")
    if entity is not None and entity not in ENTITIES:
        raise unknown_entity(entity)


def _item(row) -> dict:
    return {
        "key": row.key,
        "version": row.version,
        "source_version": row.source_version,
        "updated_at": row.updated_at.isoformat(),
        "record": orjson.loads(row.data),
    }


def page_query(dialect: str, principal: Principal, entity: str, filters: Filters, columns: list, after: int, limit: int) -> Select:
    """The query of one page: ``limit`` + 1 rows of ``columns`` (the row id first) after row ``after``, in id order."""
    return (
        select(_r.c.id, *columns)
        .where(and_(*where_clauses(dialect, principal, entity, filters)), _r.c.id > after)
        .order_by(_r.c.id)
        .limit(limit + 1)
    )


def _page(hub: Hub, principal: Principal, entity: str, filters: Filters, columns: list, after: int, limit: int) -> tuple[list, str | None]:
    """Up to ``limit`` rows of ``columns`` (the row id first) after row ``after``, and the cursor of the next page."""
    _check_read(principal, entity)
    q = page_query(hub.store.dialect, principal, entity, filters, columns, after, limit)
    with hub.store.engine.connect() as conn:
        rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, str(rows[-1].id) if more else None


def list_records(hub: Hub, principal: Principal, entity: str, filters: Filters, *, after: int = 0, limit: int = 100) -> dict:
    """One page of ``entity`` records after row ``after``; ``next`` is the cursor of the next page."""
    columns = [_r.c.key, _r.c.version, _r.c.source_version, _r.c.updated_at, _r.c.data]
    rows, following = _page(hub, principal, entity, filters, columns, after, limit)
    return {"entity": entity, "items": [_item(r) for r in rows], "next": following}


def list_versions(hub: Hub, principal: Principal, entity: str, association: str | None, *, after: int = 0, limit: int = 10000) -> dict:
    """One page of ``entity`` keys and versions after row ``after``, without the records: what a pushing hub compares.

    A hub that pushed here asks it to find what this store lacks or holds older (``hub
    compare``): a key and two numbers are all it needs, and a page of them is a fiftieth of
    a page of records, with no record decoded here or there.
    """
    rows, following = _page(hub, principal, entity, Filters(association), [_r.c.key, _r.c.version, _r.c.source_version], after, limit)
    items = [{"key": r.key, "version": r.version, "source_version": r.source_version} for r in rows]
    return {"entity": entity, "items": items, "next": following}


# The query parameter that names each key field other than ``id`` when one record is asked for.
KEY_PARAMS = {"association_id": "association", "account": "account"}


def get_record(
    hub: Hub, principal: Principal, entity: str, record_id: str, *, association: str | None = None, account: str | None = None
) -> dict:
    """The stored version of one record, found by its natural key, within the token's scope.

    What an association's IT staff ask when a partner says "we never got R17": the key is the
    record's ``id`` plus the entity's other key fields (``association`` for most entities,
    ``account`` for bank lines). An association's token may leave ``association`` out: it reads
    its own. Not found, or not the token's to read, is a 404 that does not tell the two apart.
    """
    _check_read(principal, entity)
    fields = entity_key(entity)
    given = {"id": record_id, "association_id": association, "account": account}
    for field, param in KEY_PARAMS.items():
        if given[field] is not None and field not in fields:
            raise ApiProblem(422, f"{entity} records are keyed by {' and '.join(fields)}; {param} does not name one")
    if "association_id" in fields and not principal.is_platform:
        if association is not None and association != principal.association_id:
            raise ApiProblem(403, f"token {principal.name!r} reads only association {principal.association_id!r} records")
        given["association_id"] = principal.association_id
    missing = [KEY_PARAMS[f] for f in fields if f != "id" and not given[f]]
    if missing:
        raise ApiProblem(
            422,
            f"{entity} records are keyed by {' and '.join(fields)}: give ?{'&'.join(m + '=' for m in missing)} beside the id"
            + _whole_key_hint(entity, fields, record_id),
            errors=[{"path": m, "rule": "required", "message": f"{m} is part of a {entity}'s key"} for m in missing],
        )
    q = select(_r.c.key, _r.c.version, _r.c.source_version, _r.c.updated_at, _r.c.data).where(
        _r.c.entity == entity, _r.c.key == "|".join(given[f] for f in fields)
    )
    if not principal.is_platform:
        q = q.where(_r.c.association_id == principal.association_id)
    with hub.store.engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        of = "".join(f" of {KEY_PARAMS[f]} {given[f]!r}" for f in fields if f != "id")
        raise ApiProblem(404, f"no {entity} {record_id!r}{of} is stored here" + _whole_key_hint(entity, fields, record_id))
    return _item(row)


def _whole_key_hint(entity: str, fields: tuple[str, ...], record_id: str) -> str:
    """Where the id asked for is a listing's whole ``key`` (``assoc-amal|D1``): the address of that record.

    A listing names each record by its key, so a client asks for it as it is; the path takes
    the ``id`` alone, and the key's other parts as parameters.
    """
    parts = record_id.split("|")
    if len(fields) < 2 or len(parts) != len(fields) or not all(parts):
        return ""
    part = dict(zip(fields, parts, strict=True))
    query = "&".join(f"{KEY_PARAMS[f]}={quote(part[f], safe='')}" for f in fields if f != "id")
    return f"; {record_id!r} reads as a whole key ({'|'.join(fields)}): ask for /api/v1/{entity}/{quote(part['id'], safe='')}?{query}"


def changes(hub: Hub, principal: Principal, *, since: int = 0, entity: str | None = None, limit: int = 500, origin: str = "any") -> dict:
    """Record versions committed after change ``since``, oldest first; ``next_since`` to ask again.

    ``origin="others"`` leaves out versions written through a token of the reader's own scope
    (its association's tokens; the platform's, for a platform token): a hub that pushes and
    pulls gets back what others wrote, not an echo of its own pushes, which could be older than
    what it holds by the time it pulls. ``next_since`` then moves past what was left out too.
    """
    _check_read(principal, entity)
    q = select(_r.c.change_seq, _r.c.entity, _r.c.key, _r.c.version, _r.c.source_version, _r.c.updated_at, _r.c.data).where(
        _r.c.change_seq > since
    )
    if entity:
        q = q.where(_r.c.entity == entity)
    if not principal.is_platform:
        q = q.where(_r.c.association_id == principal.association_id)
    if origin == "others":
        own_tokens = select(_tokens.c.id).where(
            _tokens.c.association_id.is_(None) if principal.is_platform else _tokens.c.association_id == principal.association_id
        )
        q = q.where(or_(_r.c.api_token_id.is_(None), _r.c.api_token_id.not_in(own_tokens)))
    q = q.order_by(_r.c.change_seq).limit(limit + 1)
    with hub.store.engine.connect() as conn:
        # Read first: every change numbered up to it has committed, so the page below sees all
        # of them, and a page that is not full may move the reader past those it left out.
        committed = change_numbers.latest(conn)
        if since > committed:
            # Every next_since this hub gave is at most its newest change number, and that only
            # grows: a reader ahead of it pulled from another database, a restored or a new one.
            # An empty page would keep it waiting for changes it will never be given.
            raise ApiProblem(
                409,
                f"since={since} is past this hub's newest change ({committed}): it was restored from a backup or replaced"
                " since that cursor was given; pull again from a cursor at or before it (0 reads everything)",
            )
        rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1].change_seq if rows else since
    return {
        "changes": [{"seq": r.change_seq, "entity": r.entity, **_item(r)} for r in rows],
        "next_since": last if more else max(last, committed, since),
        "more": more,
    }
