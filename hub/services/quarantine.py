"""Quarantine services: look, replay after a fix, dismiss with a reason, export for correction.

Replay runs the raw payload through the stream's pipeline as the config is *now*, so fixing
a mapping (or the payload itself, with ``changes``) and replaying stores what was stuck. A
record a destination refused is sent to it again, once the destination is mended (a token of
the right association, a column made wider): running the source again would not resend it,
since the record has not changed.
Every decision is written to the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub import exactjson
from hub.app import Hub
from hub.connector_faults import streams_of
from hub.errors import ConfigError, HubError, NotFoundError
from hub.mapping import Mapping, identity_mapping
from hub.pipeline.batch import commit_batch
from hub.pipeline.prepare import Rejected, canonical
from hub.pipeline.run import build_preparer, destinations_for, drain_destinations
from hub.schema import load_schema
from hub.services.messages import plain_words
from hub.services.spreadsheet import write_table
from hub.store import audit
from hub.store import outbox as outbox_store
from hub.store import quarantine as q_store
from hub.store.records import Prepared
from hub.store.types import utcnow
from hub.text.nearest import did_you_mean

__all__ = ["SHEET_HEADS", "dismiss", "editable_text", "export", "list_open", "replay", "sheet_cell", "show"]


def list_open(
    hub: Hub, *, connection: str | None = None, status: str | None = "open", limit: int = 100, connections: list[str] | None = None
) -> list[dict[str, Any]]:
    """Entries, oldest first (``connections``: only theirs)."""
    with hub.store.engine.connect() as conn:
        return q_store.list_entries(conn, connection=connection, status=status, limit=limit, connections=connections)


def show(hub: Hub, entry_id: int) -> dict[str, Any]:
    """One entry with its raw payload and errors."""
    with hub.store.engine.connect() as conn:
        return q_store.get_entry(conn, entry_id)


def _stream_for(hub: Hub, entry: dict):
    connector = hub.open_connector(entry["connection"])
    for stream in streams_of(connector):
        if stream.name == entry["stream"]:
            return connector, stream
    cfg = hub.config.connection(entry["connection"])
    scfg = next((s for s in cfg.streams if s.name == entry["stream"]), None)
    if scfg is None:
        raise ConfigError(
            f"connections.{entry['connection']}: stream {entry['stream']!r} is no longer configured",
            hint="dismiss the entry, or configure the stream again",
        )
    stream_cls = type(connector).stream_class
    return connector, stream_cls(scfg, connector)


_SKIPPED_REASON = "the stream's skip rules name this row as not a record"


def editable_text(value: Any) -> str:
    """A raw value as a person correcting it sees and edits it: text as it is, anything else as JSON.

    What :func:`replay` reads back: an object or a list comes back as JSON (Arabic as written).
    """
    if value is None:
        return ""
    return value if isinstance(value, str) else exactjson.dumps(value).decode()


_AS_JSON = {
    dict: "{field} holds an object: write its new value as JSON, {{...}}, as it is shown",
    list: "{field} holds a list: write its new value as JSON, [...], as it is shown",
    bool: "{field} is true or false: write one of the two",
}


def _edited(raw: dict[str, Any], changes: dict[str, Any]) -> tuple[dict[str, Any], list[dict]]:
    """``raw`` with ``changes``; a field that held an object, a list or a yes/no takes its new value as JSON.

    A JSON source's record may hold its donor as an object, shown to the person correcting it
    as JSON (``{"name":"سارة"}``). Their edit comes back as text; stored as text, the donor
    would be a string and the record fail again for a reason they did not cause.
    """
    edited, problems = dict(raw), []
    for field, value in changes.items():
        was = raw.get(field)
        if isinstance(was, dict | list | bool) and isinstance(value, str):
            try:
                value = exactjson.loads(value)
            except exactjson.JSONDecodeError:
                problems.append({"path": field, "rule": "edit", "message": _AS_JSON[type(was)].format(field=field)})
                continue
        edited[field] = value
    return edited, problems


def _unread_edits(raw: dict[str, Any], changes: dict[str, Any], mapping: Mapping | None, entity: str) -> list[dict]:
    """Edits that name nothing the record is read from: each named, with what to write instead.

    An edit is applied to the row as the source sent it, before the mapping. The error names
    the schema's field (``amount``), so a person naturally writes ``--set amount=…``; set on
    a CSV row whose amount is read from ``المبلغ``, it would add a column nothing reads, and
    the record would fail again for the same reason, the edit silently lost.
    """
    if mapping is not None:
        readable: Iterable[str] = mapping.columns
    else:  # a JSON record without a mapping: its keys are the schema's fields
        readable = load_schema(entity).get("properties", {})
    read_from = {field: [c for c in cols if c in raw] for field, cols in (mapping.reads if mapping is not None else {}).items()}
    problems = []
    for name in changes:
        if name in raw or name in readable:
            continue
        if read_from.get(name):
            columns = read_from[name]
            message = (
                f"{name} is read from the column {' and '.join(map(repr, columns))}: correct that column"
                f" (--set '{columns[0]}=VALUE'), as it is written in the row"
            )
        else:
            known = [c for c in raw if isinstance(c, str)] + [field for field, cols in read_from.items() if cols]
            known += [] if mapping is not None else [field for field in readable if field not in raw]
            message = f"{name!r} is not a column of this row{did_you_mean(name, known)}"
        problems.append({"path": name, "rule": "unread", "message": message})
    return problems


def replay(
    hub: Hub,
    ids: list[int] | None = None,
    *,
    connection: str | None = None,
    changes: dict[str, Any] | None = None,
    edits: dict[int, dict[str, Any]] | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Replay entries (given ids, or every open one of a connection): stored ones close as replayed.

    ``changes`` corrects every entry alike (``--set``, one entry); ``edits`` gives each entry
    its own (a correction sheet), by entry id.
    """
    with hub.store.engine.connect() as conn:
        entries = [q_store.get_entry(conn, i) for i in ids] if ids else q_store.list_entries(conn, connection=connection, limit=None)
    replayed, still, skipped = [], [], []
    to_send: set[str] = set()
    preparers: dict[tuple[str, str], Any] = {}
    for entry in entries:
        edit = edits.get(entry["id"]) if edits is not None else changes
        if entry["status"] != "open":
            skipped.append({"id": entry["id"], "reason": f"already {entry['status']}"})
            continue
        if entry["stage"] == "deliver":
            if edit:
                skipped.append({"id": entry["id"], "reason": "a delivery goes as the hub stores the record: correct it at its source"})
                continue
            outcome = _deliver_again(hub, entry, actor)
            if isinstance(outcome, list):
                still.append({"id": entry["id"], "errors": outcome})
            elif isinstance(outcome, str):
                skipped.append({"id": entry["id"], "reason": outcome})
            else:
                replayed.append({"id": entry["id"], "key": outcome.key, "delivered_to": entry["connection"]})
            continue
        if entry["stage"] == q_store.API_STAGE:
            # Received over the API: the sender holds the record and its versions. Storing a
            # corrected copy here would fork it from the sender's; the sender fixes and resends.
            skipped.append(
                {
                    "id": entry["id"],
                    "reason": f"received over the API ({entry['connection']}): the sending hub fixes the record and sends it again;"
                    " dismiss this entry once it has",
                }
            )
            continue
        raw = entry["raw"]
        k = (entry["connection"], entry["stream"])
        if k not in preparers:
            connector, stream = _stream_for(hub, entry)
            prep = build_preparer(hub, entry["connection"], stream)
            if prep.mapping is None and stream.columns() is not None:
                prep.mapping = identity_mapping(stream.entity, stream.columns(), entry["connection"])
            preparers[k] = (prep, stream)
        prep, stream = preparers[k]
        if edit:
            if not isinstance(raw, dict):
                raise HubError(f"quarantine entry {entry['id']}: the raw payload is not an object; it cannot be edited field by field")
            problems = _unread_edits(raw, edit, prep.mapping, stream.entity)
            edited, more = _edited(raw, edit)
            if problems or more:
                still.append({"id": entry["id"], "errors": problems + more})
                continue
            raw = edited
        out = prep.prepare(raw, entry["line"])
        now = utcnow()
        if out is None:
            # A skip rule written since names this row (the totals row): not a record to mend.
            dismiss(hub, [entry["id"]], reason=_SKIPPED_REASON, actor=actor)
            skipped.append({"id": entry["id"], "reason": f"dismissed: {_SKIPPED_REASON}"})
        elif isinstance(out, Prepared):
            dest = destinations_for(hub, entry["connection"], stream.entity)
            commit_batch(
                hub.store,
                run_id=None,
                connection=entry["connection"],
                stream=stream.name,
                entity=stream.entity,
                read=1,
                prepared=[out],
                rejected=[],
                destinations=dest,
                cursor=None,
                save_cursor=False,
            )
            with hub.store.engine.begin() as conn:
                _close_replayed(
                    conn,
                    entry["id"],
                    "stored after replay",
                    {"key": out.key, "changes": sorted(edit or {})},
                    actor,
                    now,
                    raw if edit else None,
                )
            replayed.append({"id": entry["id"], "key": out.key})
            to_send.update(dest)
        else:
            assert isinstance(out, Rejected)
            errors = [p.as_dict() for p in out.problems]
            if not edit:
                # Judged again as it stands (the mapping or the schema may have changed since):
                # the entry shows why it fails now, not why it failed then. An edit that still
                # fails leaves the entry as it was: the raw payload is what the source sent.
                with hub.store.engine.begin() as conn:
                    q_store.set_errors(conn, entry["id"], errors, stage=out.stage)
            still.append({"id": entry["id"], "errors": errors})
    return {"replayed": replayed, "still_invalid": still, "skipped": skipped, "not_sent": _send(hub, sorted(to_send))}


def _send(hub: Hub, destinations: list[str]) -> str | None:
    """Deliver what the replay stored, once for all entries; why it waits in the outbox, if it could not go now.

    The records are stored and queued whatever happens here: a destination that cannot be
    reached or opened now (the platform away, a secret not set in this shell) must not turn
    a correction that worked into an error, nor stop the entries after it.
    """
    waiting = []
    for destination in destinations:  # one that cannot be opened does not hold back the others
        try:
            result = drain_destinations(hub, [destination], None)
        except HubError as exc:
            waiting.append(f"{destination}: {exc.message}")
            continue
        waiting += result["errors"]
    return f"stored, and waiting in the outbox for {'; '.join(waiting)}" if waiting else None


def _close_replayed(conn, entry_id: int, reason: str, detail: dict, actor: str, now, raw: Any = None) -> None:
    """Close an entry as replayed (with the corrected payload, if it was corrected), audited."""
    q_store.set_status(conn, entry_id, "replayed", reason=reason, now=now, raw=raw)
    audit.append(conn, actor=actor, action="quarantine.replay", subject=f"quarantine/{entry_id}", detail=detail, now=now)


@dataclass(frozen=True)
class _Resent:
    """A refused delivery sent again and taken: the record's key."""

    key: str


def _deliver_again(hub: Hub, entry: dict, actor: str) -> _Resent | list[dict] | str:
    """Send a record its destination refused once more, the destination being mended.

    ``_Resent`` when it was taken (the entry closes as replayed), the destination's errors when
    it was refused again (kept on the entry), or why it was not sent now.
    """
    destination, entity, record = entry["connection"], entry["entity"], entry["raw"]
    if destination not in hub.config.connections:
        return f"the destination {destination!r} is no longer in the config"
    if not isinstance(record, dict):
        return "the payload is not a record"
    with hub.store.engine.begin() as conn:
        # The refused version exactly as it went out: the outbox keeps its canonical JSON.
        found = outbox_store.requeue_rejected(conn, destination, entity, canonical(record)[0])
    if found is None:
        return f"no refused delivery of this record to {destination} is kept any more (retention): run its source after a change"
    row_id, key = found
    drain_destinations(hub, [destination], None)
    now = utcnow()
    with hub.store.engine.begin() as conn:
        status = outbox_store.status_of(conn, row_id)
        if status == "delivered":
            _close_replayed(
                conn, entry["id"], f"delivered to {destination} after replay", {"delivered_to": destination, "key": key}, actor, now
            )
            return _Resent(key)
        if status == "rejected":
            return q_store.get_entry(conn, entry["id"])["errors"]  # the new refusal's reasons, kept on the entry
    return f"queued for {destination} again; it could not take it just now, so it goes with the next run or drain"


def dismiss(hub: Hub, ids: list[int], *, reason: str, actor: str = "cli") -> list[int]:
    """Close entries without storing them; the reason is kept and audited."""
    if not reason.strip():
        raise HubError("a reason is needed to dismiss quarantined records", hint="--reason 'duplicate of row 12'")
    done = []
    with hub.store.engine.begin() as conn:
        for i in ids:
            entry = q_store.get_entry(conn, i)
            if entry["status"] != "open":
                raise NotFoundError(f"quarantine entry {i} is already {entry['status']}")
            now = utcnow()
            q_store.set_status(conn, i, "dismissed", reason=reason, now=now)
            audit.append(
                conn,
                actor=actor,
                action="quarantine.dismiss",
                subject=f"quarantine/{i}",
                detail={"reason": reason},
                now=now,
            )
            done.append(i)
    return done


# The correction sheet's own columns, before the rows' raw columns, in each language.
SHEET_HEADS = {"en": ("quarantine id", "connection", "line", "errors"), "ar": ("رقم", "الاتصال", "السطر", "الأخطاء")}


def export(hub: Hub, path: Path, *, connection: str | None = None, lang: str = "en", connections: list[str] | None = None) -> int:
    """Write open entries to XLSX/CSV: each rejected row's columns and its errors in plain words.

    ``connections``: only these connections' entries (a web user's, within their association).
    """
    entries = list_open(hub, connection=connection, limit=0, connections=connections)
    columns: list[str] = []
    for e in entries:
        if isinstance(e["raw"], dict):
            for k in e["raw"]:
                if k not in columns:
                    columns.append(k)
    heads = list(SHEET_HEADS[lang])
    rows = []
    for e in entries:
        errors = "; ".join(plain_words(p, lang) for p in e["errors"])
        raw = e["raw"] if isinstance(e["raw"], dict) else {"(raw)": e["raw"]}
        rows.append([e["id"], e["connection"], e["line"], errors, *[sheet_cell(raw.get(c)) for c in columns]])
    if any(not isinstance(e["raw"], dict) for e in entries) and "(raw)" not in columns:
        columns.append("(raw)")
        for row, e in zip(rows, entries):
            row.append(None if isinstance(e["raw"], dict) else sheet_cell(e["raw"]))
    return write_table(path, [*heads, *columns], rows, sheet="quarantine", rtl=lang == "ar")


def sheet_cell(v):
    """A raw value as the correction sheet holds it (hub.services.corrections reads it back)."""
    if v is None or isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)):
        return v
    return editable_text(v)  # an object or a list as JSON, as the web admin shows it and replay reads it
