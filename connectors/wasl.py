"""``wasl``: another Wasl hub's API, the national platform's above all. Push and pull.

As a destination it sends outbox batches to ``POST /api/v1/{entity}/batch``, each with the
sender's record versions and an ``Idempotency-Key`` made from the record versions it holds,
so a batch retried after a timeout, a crash before the answer arrived or a platform restart
is applied once. Records the platform refuses (invalid, or outside the token's association)
come back with the platform's errors and go to quarantine here; a batch refused as too large
(413) is sent again in halves, and only a single record too large for the platform is
quarantined. 429/5xx/timeouts are retried
with backoff; if the platform stays away, the batch waits in the outbox for the next run.
A refused token (401/403) fails the run without touching the records: fix the token, and
everything pending goes out.

As a source it pulls ``GET /api/v1/changes`` for each configured stream's entity,
incrementally on the change sequence the other hub gives, leaving out (``skip_own``) what
this token's own association pushed: an echo of its own push could be older than what this
hub holds by the time it is pulled.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import orjson

from hub import (
    CheckFailed,
    Connector,
    ConnectorError,
    Cursor,
    Delivery,
    SourceRow,
    Stream,
    TransientDeliveryError,
    WriteResult,
    exactjson,
    hookimpl,
)
from hub.errors import RecordProblem
from hub.httpclient import POLICY_SETTINGS, HttpClient, HttpPolicy, Refused, Unavailable, batch_key, send_groups, send_in_halves

log = logging.getLogger(__name__)

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "token"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "description": "The other hub's API, e.g. https://platform.example.org"},
        "token": {
            "type": "string",
            "writeOnly": True,
            "description": "A token from `hub tokens create` on the other hub; write ${PLATFORM_TOKEN}",
        },
        "batch_size": {"type": "integer", "minimum": 1, "maximum": 100000, "default": 500, "description": "Records per request"},
        "in_flight": {
            "type": "integer",
            "minimum": 1,
            "maximum": 8,
            "default": 2,
            "description": "Batches sent at once: the next is on the wire while the other hub stores the one before",
        },
        "compress": {
            "type": "boolean",
            "default": False,
            "description": "gzip each batch (about a seventh of the bytes): for slow links, at some CPU on both sides",
        },
        "page_size": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 500, "description": "Changes per page when pulling"},
        "skip_own": {
            "type": "boolean",
            "default": True,
            "description": "When pulling, leave out what this token's own association pushed (false: take everything back, e.g. to rebuild a lost store)",
        },
        **POLICY_SETTINGS,
    },
}


def _body(chunk: Sequence[Delivery]) -> bytes:
    """The request body; records the store holds as canonical JSON are sent as they are."""
    records = b",".join(d.raw.encode() if d.raw is not None else orjson.dumps(d.record) for d in chunk)
    versions = b",".join(str(d.version).encode() for d in chunk)
    return b'{"records":[' + records + b'],"versions":[' + versions + b"]}"


def _changes_of(page, url: str) -> list[tuple[int, object]]:
    """(seq, record) of each change of a /changes page; ConnectorError if the page is not one.

    The record itself is not checked here: the pipeline validates it like any source row, and
    a bad one goes to quarantine with its raw payload.
    """
    changes = page.get("changes") if isinstance(page, dict) else None
    if not isinstance(changes, list) or not all(isinstance(c, dict) and isinstance(c.get("seq"), int) and "record" in c for c in changes):
        raise ConnectorError(f"wasl: {url}/api/v1/changes answered something other than a page of changes (seq and record each)")
    return [(c["seq"], c["record"]) for c in changes]


class Changes(Stream):
    """Changes of one entity on the other hub; the cursor is its change sequence number."""

    name = "changes"
    entity = "donation"
    cursor_field = "seq"
    cursor_schema = {
        "description": "the other hub's change number read last: a whole number, or {seq, store_epoch} naming the store it was read from",
        "oneOf": [
            {"type": "integer", "minimum": 0},
            {
                "type": "object",
                "required": ["seq"],
                "additionalProperties": False,
                "properties": {"seq": {"type": "integer", "minimum": 0}, "store_epoch": {"type": "string", "minLength": 1}},
            },
        ],
    }
    may_sample = True  # reading changes moves no cursor on the other hub

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        position = cursor.value if isinstance(cursor.value, dict) else {"seq": cursor.value}
        since, read_from = int(position["seq"] or 0), position.get("store_epoch")
        try:
            epoch = self.connector.store_epoch()
        except TransientDeliveryError:
            epoch = None  # the first page meets the same trouble, and says so
        if read_from is not None and epoch is not None and epoch != read_from:
            # Restored from a backup or replaced: its change numbers since then name other
            # changes than the ones this cursor counted. Read from the start; what is unchanged stores nothing.
            log.warning(
                "%s/%s: the other hub's store is not the one this cursor was read from (restored from a backup or replaced): "
                "reading its changes from the start",
                self.connector.context.connection,
                self.name,
            )
            since = 0

        def at(seq: int):
            return {"seq": seq, "store_epoch": epoch} if epoch is not None else seq

        size = self.connector.settings.get("page_size", 500)
        params = {"entity": self.entity, "limit": size}
        if self.connector.settings.get("skip_own", True):
            params["origin"] = "others"
        while True:
            # 409: the other hub's feed is behind this cursor, the hub restored from a backup or replaced.
            rewind = f"`hub state rewind {self.connector.context.connection} --stream {self.name}` pulls everything again"
            page = self.connector.call(
                "GET", "/api/v1/changes", params={"since": since, **params}, hints={409: f"{rewind} (what is unchanged stores nothing)"}
            )
            asked = since
            for seq, record in _changes_of(page, self.connector.settings["url"]):
                since = seq
                cursor.advance(at(since))
                yield SourceRow(record, since)
            following = page.get("next_since")
            if isinstance(following, int) and following > since:
                since = following  # past what the feed left out (our own pushes, other entities)
                cursor.advance(at(since))
            if not page.get("more"):
                return
            if since <= asked:
                raise ConnectorError(f"wasl: the other hub says more changes follow {asked} but gave none after it")

    def cursor_note(self, before, after) -> str | None:
        """Say on the run that a restored hub's changes were read again from the start (the cursor names another store)."""
        was, now = (c.get("store_epoch") if isinstance(c, dict) else None for c in (before, after))
        if was and now and was != now:
            return (
                "the other hub's store is not the one the cursor was read from (restored from a backup or replaced): "
                "its changes were read again from the start"
            )
        return None


RENEW_WITHIN = timedelta(days=14)
EPOCH_LENGTH = 120  # at most what this hub keeps of another's store epoch (hub.store.models.destination_stores_table)


def _expiry(expires_at: object) -> datetime | None:
    """When the token stops working, from the other hub's answer; None when it does not say."""
    if not isinstance(expires_at, str):
        return None
    try:
        when = datetime.fromisoformat(expires_at)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def _renew_soon(when: datetime) -> str | None:
    """``in N day(s): ask the other hub for a new token`` once the token lapses within RENEW_WITHIN."""
    left = when - datetime.now(UTC)
    return f"in {max(left.days, 0)} day(s): ask the other hub for a new token" if left <= RENEW_WITHIN else None


def _lapses(expires_at: object) -> str:
    """When the token stops working, as ``hub check`` says it; a warning once it is near."""
    when = _expiry(expires_at)
    if when is None:
        return ""
    soon = _renew_soon(when)
    return f", until {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC" + (f" ({soon})" if soon else "")


class WaslConnector(Connector):
    """Push to and pull from another Wasl hub."""

    name = "wasl"
    title = "Wasl hub (the national platform)"
    settings_schema = SETTINGS
    stream_class = Changes
    max_in_flight = 2  # the other hub applies versions, not arrival order; the ``in_flight`` setting overrides

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self.batch_size = settings.get("batch_size", 500)
        self.max_in_flight = settings.get("in_flight", type(self).max_in_flight)
        self._told_too_large = False
        self._token: dict | None = None  # what GET /api/v1/token answered last (store_epoch asks it)
        self.compress = settings.get("compress", False)
        self.http = HttpClient(
            settings["url"],
            policy=HttpPolicy.from_settings(settings),
            headers={"Authorization": f"Bearer {settings['token']}"},
            name="wasl",
        )

    def call(self, method: str, path: str, *, hints: dict[int, str] | None = None, **kwargs):
        """One API call; ConnectorError (the run fails, nothing is lost) when it cannot be made.

        ``hints``: what to do, by the HTTP status of a refusal.
        """
        try:
            return self.http.json(method, path, **kwargs)
        except Refused as exc:
            raise ConnectorError(str(exc), hint=(hints or {}).get(exc.status)) from None
        except Unavailable as exc:
            raise ConnectorError(str(exc)) from None

    def check(self) -> str:
        try:
            me = self.http.json("GET", "/api/v1/token")
        except (Unavailable, Refused) as exc:
            raise CheckFailed(str(exc)) from None
        if not isinstance(me, dict) or "write" not in me:
            raise CheckFailed(f"{self.settings['url']}/api/v1/token answered, but not as a Wasl hub does: is the url the other hub's API?")
        scope = f"association {me.get('association_id')}" if me.get("association_id") else "the platform"
        rights = "+".join(r for r in ("read", "write") if me.get(r))
        said = f"{self.settings['url']}: token {me.get('name')!r} for {scope}, {rights}"
        # What this hub will ask of the token: a reachable hub is no use to a push it refuses.
        lacking = []
        if self.context.delivered_from and not me.get("write"):
            lacking.append(
                f"it may not write, and {', '.join(self.context.delivered_from)} deliver(s) here: every batch would be refused (403)"
            )
        theirs = me.get("association_id")
        others = [a for a in self.context.delivered_associations if theirs and a != theirs]
        if me.get("write") and others:
            lacking.append(
                f"it writes only association {theirs}'s records, and {', '.join(others)}'s are delivered here: "
                "each would be refused and quarantined"
            )
        if self.context.streams and not me.get("read"):
            lacking.append("it may not read, and this connection's streams read the other hub's changes: every page would be refused (403)")
        if lacking:
            raise CheckFailed(
                f"{said}; {'; '.join(lacking)}",
                hint="ask the other hub for a token with the rights this connection needs (hub tokens create NAME --association A --read --write)",
            )
        return f"{said}{_lapses(me.get('expires_at'))}"

    def held(self, entity: str) -> Iterator[tuple[str, int | None]]:
        """The other hub's ``entity`` records this token may read, page by page: (key, the version this hub sent)."""
        after, url = 0, self.settings["url"]
        refused = {
            403: "the token needs read rights to say what the other hub holds: `hub tokens create NAME --association A --read --write` there"
        }
        while True:
            page = self.call("GET", f"/api/v1/versions/{entity}", params={"after": after}, hints=refused)
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in items):
                raise ConnectorError(f"wasl: {url}/api/v1/versions/{entity} answered something other than a page of keys and versions")
            for item in items:
                version = item.get("source_version")
                yield item["key"], version if isinstance(version, int) else None
            following = page.get("next")
            if following is None:
                return
            if not str(following).isdigit() or int(following) <= after:
                raise ConnectorError(f"wasl: {url}/api/v1/versions/{entity} gave a next page ({following!r}) that does not move on")
            after = int(following)

    def store_epoch(self) -> str | None:
        """The other hub's store epoch (``GET /api/v1/token``); a new one means it was restored or replaced."""
        try:
            # One try: a hub away or busy (a 429 may say to come back in an hour) is not waited
            # for here; the drain after it has that patience, and the next run asks again.
            me = self.http.json("GET", "/api/v1/token", retries=0)
        except Unavailable as exc:
            raise TransientDeliveryError(str(exc)) from None
        except Refused:
            return None  # the drain's first batch meets the same refusal and says what to do about it
        self._token = me if isinstance(me, dict) else None
        epoch = me.get("store_epoch") if isinstance(me, dict) else None
        return epoch if isinstance(epoch, str) and 0 < len(epoch) <= EPOCH_LENGTH else None  # a hub before epochs says none

    def notices(self) -> list[str]:
        """The token's coming expiry, from what :meth:`store_epoch` was told (no request of its own)."""
        when = _expiry((self._token or {}).get("expires_at"))
        soon = _renew_soon(when) if when is not None else None
        if soon is None:
            return []
        name = (self._token or {}).get("name")
        return [f"the token {name!r} for {self.settings['url']} stops working at {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC, {soon}"]

    def write(self, entity: str, deliveries: Sequence[Delivery]) -> WriteResult:
        result = WriteResult()
        chunks = [deliveries[start : start + self.batch_size] for start in range(0, len(deliveries), self.batch_size)]
        return send_groups(chunks, lambda chunk: self._send(entity, chunk, result), result)

    def _send(self, entity: str, chunk: Sequence[Delivery], result: WriteResult) -> None:
        """POST one chunk; per-record refusals land in ``result``; a chunk too large goes in halves."""
        url = self.settings["url"]

        def post(part: Sequence[Delivery]) -> None:
            body, headers = (
                _body(part),
                {"Content-Type": "application/json", "Idempotency-Key": batch_key("wasl", entity, [d.idempotency_key for d in part])},
            )
            if self.compress:
                body, headers["Content-Encoding"] = gzip.compress(body, compresslevel=5, mtime=0), "gzip"
            response = self.http.request("POST", f"/api/v1/{entity}/batch", content=body, headers=headers)
            result.rejected.update(_rejections(response, part, url))

        def refused(part: Sequence[Delivery], exc: Refused) -> None:
            problems = _problems(exc.body, str(exc))
            result.rejected.update((d.idempotency_key, problems) for d in part)

        # Over the other hub's api.max_batch_records or max_body_bytes (413): said once per push.
        send_in_halves(
            chunk, post, refused=refused, too_large=self._too_large, auth_hint="check the token (hub tokens list on the other hub)"
        )

    def _too_large(self, size: int) -> None:
        if not self._told_too_large:
            self._told_too_large = True
            log.warning("%s refused %d records in one request (413); sending smaller batches: lower batch_size", self.settings["url"], size)

    def close(self) -> None:
        self.http.close()


def _rejections(response, chunk: Sequence[Delivery], url: str) -> dict[str, list[RecordProblem]]:
    """The records the other hub's answer rejects, with its errors, by idempotency key.

    An answer this hub cannot read fails the run (ConnectorError): the batch stays pending and
    goes again under the same key, so nothing is lost and nothing is marked on a guess.
    """
    try:
        answer = exactjson.loads_answer(response.content)
        out = {}
        for item in answer.get("results", []):
            if item.get("status") == "rejected":
                index = item["index"]
                if not isinstance(index, int) or not 0 <= index < len(chunk):
                    raise ValueError(f"result index {index!r} is not one of the batch's {len(chunk)} records")
                if not all(isinstance(e, dict) for e in item.get("errors") or []):
                    raise ValueError(f"the errors of result {index} are not objects")
                out[chunk[index].idempotency_key] = _as_problems(item.get("errors"), "(record)") or [
                    RecordProblem("(record)", "platform", "refused by the platform")
                ]
        return out
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ConnectorError(
            f"wasl: {url} answered {response.status_code} with a body this hub cannot read ({type(exc).__name__}: {exc})",
            hint="is the url another Wasl hub's API? the batch stays pending",
        ) from None


def _problems(body, message: str) -> list[RecordProblem]:
    """A refusal of the whole batch: the status line, then the errors the other hub listed."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return [RecordProblem("(batch)", "platform", message), *_as_problems(errors, "(batch)")]


def _as_problems(errors, where: str) -> list[RecordProblem]:
    """The other hub's ``{"path", "rule", "message"}`` errors as problems; anything else is left out."""
    return [
        RecordProblem(str(e.get("path", where)), str(e.get("rule", "platform")), str(e.get("message", "")))
        for e in errors or []
        if isinstance(e, dict)
    ]


@hookimpl
def hub_register_connectors(registry):
    registry.add(WaslConnector)
