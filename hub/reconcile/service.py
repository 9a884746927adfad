"""Reconciliation services: over the store (a job the scheduler can run) and over files.

Store mode reads booked credits imported as ``bank_transaction`` records and the donations in
the store, records every decision in ``matches`` with its rule, score, evidence and who made
it, and writes the donations that were paid as new versions (so the platform learns of it
through the outbox like any other change). Files mode (``--statement`` / ``--donations``)
decides and reports without touching a store.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import func, insert, select, update

from hub.app import Hub
from hub.errors import HubError, InputError, NotFoundError
from hub.mapping import compile_mapping, identity_spec
from hub.pipeline.prepare import canonical
from hub.pipeline.run import destinations_for, drain_destinations
from hub.readers import JsonlFile, open_table
from hub.reconcile import convert
from hub.reconcile.amounts import to_donation_epoch
from hub.reconcile.engine import reconcile
from hub.reconcile.model import Candidate, Decision, OpenDonation, Settings
from hub.statements import read_statement
from hub.store import audit
from hub.store import outbox as outbox_store
from hub.store.bulk import insert_many
from hub.store.models import matches_table, payer_memory_table, records_table
from hub.store.records import Prepared, upsert_batch
from hub.store.types import utcnow
from hub.validation import validator_for

__all__ = ["confirm_match", "list_matches", "reconcile_files", "reconcile_store", "reject_match"]

_matches = matches_table
_payer_memory = payer_memory_table
_records = records_table


def _rules(hub_or_plugins):
    return hub_or_plugins.matchers.rules()


# ---------------------------------------------------------------- files mode


def _read_donations(path: Path) -> tuple[list[OpenDonation], list[str]]:
    reader = open_table(path)
    validator = validator_for("donation")
    mapping = None
    if not isinstance(reader, JsonlFile):
        spec = identity_spec("donation", reader.header)
        if not spec:
            raise InputError(
                f"{path}: no column is named like a donation field", hint="hub schema show donation --fields lists the columns it takes"
            )
        mapping = compile_mapping(spec, where="(columns)", keep_unmapped=False)
    out, problems = [], []
    for item in reader.rows():
        line, data = item[1], item[2]
        if len(item) > 3 and item[3]:
            problems.append(f"{path} line {line}: {item[3][0].message}")
            continue
        try:
            rec = mapping.apply(data) if mapping else data
        except HubError as exc:
            problems.append(f"{path} line {line}: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - RecordError: the row is reported, the rest goes on
            problems.append(f"{path} line {line}: {exc}")
            continue
        if not validator.is_valid(rec):
            first = validator.problems(rec)[0]
            problems.append(f"{path} line {line}: {first.path}: {first.message}")
            continue
        d = convert.open_donation(f"{rec['association_id']}|{rec['id']}", rec)
        if d is not None:
            out.append(d)
    return out, problems


def reconcile_files(plugins, settings: Settings, statements: list[Path], donations: Path) -> tuple[list[Decision], list[str]]:
    """Decide every line of the statements against the donations file; (decisions, warnings)."""
    warnings: list[str] = []
    txns = []
    validator = validator_for("bank_transaction")
    for path in statements:
        for st in read_statement(path):
            problem = st.balance_problem()
            if problem:
                warnings.append(f"{path}: {problem}")
            for rec in st.transactions:
                if not validator.is_valid(rec):
                    first = validator.problems(rec)[0]
                    warnings.append(f"{path}: transaction {rec.get('id')}: {first.path}: {first.message} (left out)")
                    continue
                txns.append(convert.txn(f"{rec['account']}|{rec['id']}", rec))
    open_donations, problems = _read_donations(donations)
    warnings += problems
    return reconcile(txns, open_donations, settings, _rules(plugins)), warnings


# ---------------------------------------------------------------- store mode


def _load(conn, entity: str) -> list[tuple[str, dict, str]]:
    rows = conn.execute(
        select(_records.c.key, _records.c.data, _records.c.connection).where(_records.c.entity == entity).order_by(_records.c.id)
    )
    return [(k, orjson.loads(d), c) for k, d, c in rows]


def _memory(conn) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    accounts: dict[str, list[str]] = defaultdict(list)
    names: dict[str, list[str]] = defaultdict(list)
    for donor, account, name in conn.execute(select(_payer_memory.c.donor_key, _payer_memory.c.account, _payer_memory.c.name)):
        if account and donor not in accounts[account]:
            accounts[account].append(donor)
        if name and name not in names[donor]:
            names[donor].append(name)
    return accounts, names


def _write_donations(hub: Hub, conn, donations: list[OpenDonation], paid_on: dict[str, date], now) -> None:
    """New versions of the donations whose payments changed, delivered like any other change."""
    tz = ZoneInfo(hub.config.timezone)
    validator = validator_for("donation")
    by_connection: dict[str, list[Prepared]] = defaultdict(list)
    for d in donations:
        rec = convert.donation_record_after(d, paid_on.get(d.key), tz)
        if not validator.is_valid(rec):
            raise HubError(f"donation {d.id}: the reconciled record does not validate: {validator.problems(rec)[0].message}")
        data, digest = canonical(rec)
        by_connection[d.connection or "reconcile"].append(Prepared(d.key, data, digest, rec.get("association_id")))
    for connection, items in by_connection.items():
        up = upsert_batch(conn, "donation", items, connection=connection, run_id=None, now=now, keep_owned=False)
        if connection in hub.config.connections:
            dests = destinations_for(hub, connection, "donation")
            if dests and up.versions:
                outbox_store.enqueue(conn, dests, "donation", up.versions, run_id=None, now=now)


def _match_row(decision: Decision, status: str, actor: str, now) -> dict[str, Any]:
    c = decision.candidate
    return {
        "transaction_key": decision.txn.key,
        "transaction_id": decision.txn.id,
        "donation_keys": orjson.dumps([d.key for d in c.donations]).decode(),
        "kind": c.kind,
        "rule": c.rule,
        "score": c.score,
        "status": status,
        "allocations": orjson.dumps([format(a, "f") for a in c.allocations]).decode(),
        "evidence": orjson.dumps(c.evidence, default=str).decode(),
        "decided_by": actor,
        "reason": None,
        "created_at": now,
        "decided_at": now if status == "confirmed" else None,
    }


def reconcile_store(hub: Hub, *, actor: str = "auto") -> list[Decision]:
    """Match the store's booked credits to its donations; record and apply every decision."""
    settings = convert.settings_from(hub.config.reconcile)
    engine = hub.store.engine
    with engine.connect() as conn:
        txn_rows = _load(conn, "bank_transaction")
        donation_rows = _load(conn, "donation")
        accounts, spellings = _memory(conn)
        match_rows = conn.execute(
            select(_matches).where(_matches.c.status.in_(("confirmed", "suggested", "rejected", "handled")))
        ).fetchall()
    donations = {}
    for key, rec, connection in donation_rows:
        d = convert.open_donation(key, rec, connection, spellings.get(convert.donor_key(rec)))
        if d is not None:
            donations[key] = d
    txns = {key: convert.txn(key, rec) for key, rec, _ in txn_rows}
    decided = {m.transaction_key for m in match_rows if m.status in ("confirmed", "suggested", "handled")}
    rejected = {(m.transaction_key, tuple(orjson.loads(m.donation_keys))) for m in match_rows if m.status == "rejected"}
    confirmed = {}
    for m in match_rows:
        if m.status == "confirmed" and m.transaction_key in txns:
            ds = [donations[k] for k in orjson.loads(m.donation_keys) if k in donations]
            cand = Candidate(m.rule, m.score, m.kind, ds, [Decimal(a) for a in orjson.loads(m.allocations)], orjson.loads(m.evidence))
            confirmed[m.transaction_key] = Decision(txns[m.transaction_key], "matched", cand)
            confirmed[m.transaction_key].match_id = m.id
    todo = [t for k, t in txns.items() if k not in decided]
    decisions = reconcile(
        todo, list(donations.values()), settings, _rules(hub.plugins), memory=accounts, rejected=rejected, confirmed=confirmed
    )
    now = utcnow()
    changed: dict[str, OpenDonation] = {}
    paid_on: dict[str, date] = {}
    recorded: list[dict[str, Any]] = []  # one executemany: a statement built per decision cost 12 s of 15 for 20,000
    with engine.begin() as conn:
        for dec in decisions:
            if dec.status in ("matched", "suggested"):
                status = "confirmed" if dec.status == "matched" else "suggested"
                recorded.append(_match_row(dec, status, f"auto:{dec.candidate.rule}", now))
                if status == "confirmed":
                    for d in dec.candidate.donations:
                        changed[d.key] = d
                        paid_on[d.key] = dec.txn.booking_date
            elif dec.status == "ignored" and dec.txn.reversal and dec.reason and dec.reason.startswith("reversal of"):
                recorded.append(
                    {
                        "transaction_key": dec.txn.key,
                        "transaction_id": dec.txn.id,
                        "donation_keys": "[]",
                        "kind": "reversal",
                        "rule": "reversal",
                        "score": 1.0,
                        "status": "handled",
                        "allocations": "[]",
                        "evidence": "{}",
                        "decided_by": actor,
                        "reason": dec.reason,
                        "created_at": now,
                        "decided_at": now,
                    }
                )
        insert_many(conn, _matches, recorded)
        for prior in confirmed.values():
            if prior.status == "unmatched":  # a reversal undid it during this run
                conn.execute(
                    update(_matches).where(_matches.c.id == prior.match_id).values(status="undone", reason=prior.reason, decided_at=now)
                )
                for d in prior.candidate.donations:
                    changed[d.key] = d
        if changed:
            _write_donations(hub, conn, list(changed.values()), paid_on, now)
        touched = sorted({d.connection for d in changed.values() if d.connection in hub.config.connections})
        audit.append(
            conn,
            actor=actor,
            action="reconcile.run",
            subject="reconcile",
            detail={
                "matched": sum(d.status == "matched" for d in decisions),
                "suggested": sum(d.status == "suggested" for d in decisions),
                "unmatched": sum(d.status == "unmatched" for d in decisions),
                "ignored": sum(d.status == "ignored" for d in decisions),
            },
            now=now,
        )
    _deliver(hub, touched)
    hub.plugins.hook.hub_reconcile_finished(
        summary={s: sum(d.status == s for d in decisions) for s in ("matched", "suggested", "unmatched", "ignored")}
    )
    return decisions


def _deliver(hub: Hub, connections: list[str]) -> None:
    """Send the donations reconciliation changed to where their connections deliver."""
    dests = sorted({d for c in connections for d in hub.config.connection(c).destinations})
    if dests:
        drain_destinations(hub, dests, None)


def _as_dict(m) -> dict[str, Any]:
    return {
        "id": m.id,
        "transaction": m.transaction_id,
        "transaction_key": m.transaction_key,
        "donations": [k.split("|", 1)[-1] for k in orjson.loads(m.donation_keys)],
        "donation_keys": orjson.loads(m.donation_keys),
        "kind": m.kind,
        "rule": m.rule,
        "score": m.score,
        "status": m.status,
        "allocations": orjson.loads(m.allocations),
        "evidence": orjson.loads(m.evidence),
        "decided_by": m.decided_by,
        "reason": m.reason,
        "created_at": m.created_at.isoformat(),
        "decided_at": m.decided_at.isoformat() if m.decided_at else None,
    }


def _touching(association: str):
    """Decisions that name a donation of ``association``, as the store can narrow them (see :func:`touches`).

    A donation's key starts with its association (``association|id``), and the decision keeps
    its keys as a JSON list, so each of them follows a quote there.
    """
    quoted = orjson.dumps(association + "|").decode()[:-1]  # '"assoc-amal|', as JSON writes it
    pattern = quoted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return _matches.c.donation_keys.like(f"%{pattern}%", escape="\\")


def touches(association: str | None, donation_keys: list[str]) -> bool:
    """Whether a decision on ``donation_keys`` concerns ``association`` (None: the platform, every one)."""
    return association is None or any(k.split("|", 1)[0] == association for k in donation_keys)


def list_matches(
    hub: Hub, *, status: str | None = "suggested", limit: int | None = 200, association: str | None = None
) -> list[dict[str, Any]]:
    """Decisions, oldest first (suggestions by default: what waits for a person); all of them with ``limit=None``.

    ``association``: only those touching its donations, chosen by the store, not by reading
    every decision (the review page read up to 100,000 to find the few waiting, and never saw
    a suggestion made after the 100,000th decision).
    """
    q = select(_matches).order_by(_matches.c.id)
    if limit is not None:
        q = q.limit(limit)
    if status:
        q = q.where(_matches.c.status == status)
    if association is not None:
        q = q.where(_touching(association))
    with hub.store.engine.connect() as conn:
        return [d for d in map(_as_dict, conn.execute(q)) if touches(association, d["donation_keys"])]


def count_matches(hub: Hub, *, association: str | None = None) -> dict[str, int]:
    """How many decisions there are of each status (``association``: touching its donations)."""
    with hub.store.engine.connect() as conn:
        if association is None:
            return dict(conn.execute(select(_matches.c.status, func.count()).group_by(_matches.c.status)).all())
        counts: dict[str, int] = defaultdict(int)
        for status, keys in conn.execute(select(_matches.c.status, _matches.c.donation_keys).where(_touching(association))):
            if touches(association, orjson.loads(keys)):
                counts[status] += 1
        return dict(counts)


def _one(conn, match_id: int):
    m = conn.execute(select(_matches).where(_matches.c.id == match_id)).first()
    if m is None:
        raise NotFoundError(f"no match {match_id}", hint="hub matches list shows the suggestions")
    return m


def show_match(hub: Hub, match_id: int) -> dict[str, Any]:
    """One decision with the bank line and its donations, for a reviewer."""
    with hub.store.engine.connect() as conn:
        m = _as_dict(_one(conn, match_id))
        keys = [m["transaction_key"], *m["donation_keys"]]
        rows = dict(conn.execute(select(_records.c.key, _records.c.data).where(_records.c.key.in_(keys))).fetchall())
    m["bank_line"] = orjson.loads(rows[m["transaction_key"]]) if m["transaction_key"] in rows else None
    m["donation_records"] = [orjson.loads(rows[k]) for k in m["donation_keys"] if k in rows]
    return m


def confirm_match(hub: Hub, match_id: int, *, actor: str = "cli", remember: bool = True) -> dict[str, Any]:
    """Confirm a suggestion: apply it to its donations; remember the payer's account and spelling."""
    settings = convert.settings_from(hub.config.reconcile)
    now = utcnow()
    with hub.store.engine.begin() as conn:
        m = _one(conn, match_id)
        if m.status != "suggested":
            raise HubError(f"match {match_id} is {m.status}, not a suggestion")
        keys = orjson.loads(m.donation_keys)
        tx_data = conn.execute(
            select(_records.c.data).where(_records.c.entity == "bank_transaction", _records.c.key == m.transaction_key)
        ).scalar()
        if tx_data is None:
            raise NotFoundError(f"match {match_id}: its bank transaction is no longer in the store")
        t = convert.txn(m.transaction_key, orjson.loads(tx_data))
        rows = conn.execute(
            select(_records.c.key, _records.c.data, _records.c.connection).where(_records.c.entity == "donation", _records.c.key.in_(keys))
        ).fetchall()
        ds = {k: convert.open_donation(k, orjson.loads(d), c) for k, d, c in rows}
        paid_on = {}
        for k, a in zip(keys, orjson.loads(m.allocations)):
            d = ds[k]
            d.paid += to_donation_epoch(d, Decimal(a), t.booking_date, settings)
            if t.key not in d.transactions:
                d.transactions.append(t.key)
            if d.paid >= d.amount - settings.tolerance(d.currency, d.amount):
                d.status = "received"
            paid_on[k] = t.booking_date
        _write_donations(hub, conn, list(ds.values()), paid_on, now)
        conn.execute(update(_matches).where(_matches.c.id == match_id).values(status="confirmed", decided_by=actor, decided_at=now))
        remembered = []
        if remember and (t.payer_account or t.payer_name):
            for d in ds.values():
                conn.execute(
                    insert(_payer_memory).values(
                        donor_key=d.donor_key,
                        account=t.payer_account,
                        # The bank's text as it came, but for a NUL, which PostgreSQL cannot hold
                        # outside JSON (a corrupt bank export); names are compared by letters anyway.
                        name=t.payer_name.replace("\x00", "") if t.payer_name else t.payer_name,
                        match_id=match_id,
                        actor=actor,
                        created_at=now,
                    )
                )
                remembered.append(d.donor_key)
        audit.append(conn, actor=actor, action="match.confirm", subject=f"match/{match_id}", detail={"remembered": remembered}, now=now)
    _deliver(hub, sorted({d.connection for d in ds.values() if d.connection in hub.config.connections}))
    return {"id": match_id, "status": "confirmed", "remembered_for": remembered}


def reject_match(hub: Hub, match_id: int, *, actor: str = "cli", reason: str | None = None) -> dict[str, Any]:
    """Reject a suggestion: the pair is never suggested again; the line is matched afresh next run."""
    now = utcnow()
    with hub.store.engine.begin() as conn:
        m = _one(conn, match_id)
        if m.status != "suggested":
            raise HubError(f"match {match_id} is {m.status}, not a suggestion")
        conn.execute(
            update(_matches).where(_matches.c.id == match_id).values(status="rejected", decided_by=actor, decided_at=now, reason=reason)
        )
        audit.append(conn, actor=actor, action="match.reject", subject=f"match/{match_id}", detail={"reason": reason}, now=now)
    return {"id": match_id, "status": "rejected"}
