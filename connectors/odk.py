"""``odk``: form submissions from ODK Central, with their edits, through its OData feed.

Field teams that record distributions in ODK Collect or Enketo send them to an ODK Central
server. This reads ``GET {url}/v1/projects/{project}/forms/{form}.svc/Submissions``: the
current version of each submission, groups flattened to ``group/field`` column names (as
ODK writes paths, and as the ``kobo`` connector names them), ``__id`` as the submission's
lasting id (an edit gives the submission a new ``meta/instanceID``, never a new ``__id``),
geopoints as WKT text, and ``__system/submissionDate``, ``__system/updatedAt``,
``__system/submitterName``, ``__system/reviewState``, ``__system/formVersion`` as columns.
One submission is one row; with ``repeat: items`` (a repeat group's path), one row per entry
of that repeat instead: Central sends the entries inline (``$expand=*``), and each row holds
the submission's columns beside the entry's (``items/item``, ``items/__id``, ``items/_index``),
so the form that records a household once and each item it received gives one distribution
per item (``hub.formrepeats``).

Central, unlike Kobo, stamps every edit and review with ``__system/updatedAt``, so a run
reads in two passes, each oldest first on one of Central's own times and each with its own
place in the cursor: submissions sent since the last one read (``submissionDate``), then
submissions edited or reviewed since the last edit read (``updatedAt``). An edit made in
Central arrives on the next run, with no need to read everything again. A run stopped
half-way carries on from the last submission it committed.

Pages follow the read's own position (the time reached, and how many of that instant were
read), not a bare ``$skip``: a submission edited during a read moves to the end of the
edited pass, and a ``$skip`` would step over the one behind it. Each run asks again from
``lookback_seconds`` before its cursor, since Central stamps a submission when its
transaction begins, and one that takes longer to store can become visible after a later
one was already read. What is read again is found unchanged.

Central names no deletion: a submission deleted there (a test sent from a phone, a duplicate)
is simply gone from the feed. With ``reread_every_hours``, a run that often reads every
submission again from the first, so a stream with ``report_deleted: true`` names the records
whose submissions were deleted (or, with ``repeat:``, whose entries an edit removed).

A submission a reviewer rejected is still a submission: leave it out with the stream's skip
rule ``{column: __system/reviewState, equals: rejected}``. The sorting (``$orderby``) came in
Central v2024.1: an older server answers 501, and ``hub check`` says so.

Central's sessions: the email and password log in (``POST /v1/sessions``) once per
connection, and again if the session lapses during a run. Timeouts, connection errors, 5xx
and 429 are retried (``Retry-After`` honoured); other 4xx stop the run with Central's message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import CheckFailed, Connector, ConnectorError, Cursor, SourceRow, Stream, hookimpl
from hub.formrepeats import SETTING as REPEAT_SETTING
from hub.formrepeats import SubmissionRows
from hub.httpclient import HttpClient, HttpPolicy, Refused, Unavailable
from hub.rereads import began_whole_reading, reread_due

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "project", "form", "email", "password"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "description": "The Central server, e.g. https://central.example.org"},
        "project": {"type": "integer", "minimum": 1, "description": "The project's number, as in the address /projects/7"},
        "form": {"type": "string", "minLength": 1, "description": "The form's ID (xmlFormId), as in the address /forms/distribution"},
        "email": {
            "type": "string",
            "minLength": 1,
            "description": "A web user with a role that reads submissions (Project Viewer or Manager)",
        },
        "password": {"type": "string", "writeOnly": True, "description": "That user's password; write ${ODK_PASSWORD}"},
        "page_size": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1000},
        "lookback_seconds": {
            "type": "number",
            "minimum": 0,
            "default": 120,
            "description": "Ask again from this long before the last time read, for submissions stored late",
        },
        "timeout": {"type": "number", "minimum": 1, "default": 30},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 4},
        "repeat": REPEAT_SETTING,
        "reread_every_hours": {
            "type": "number",
            "minimum": 0,
            "default": 0,
            "description": "Read every submission again this often, so that report_deleted can name those deleted in Central (0: never)",
        },
    },
}

# The two passes of a read: the cursor's place, and the Central time it orders and filters on.
_PASSES = (("submitted", "__system/submissionDate"), ("updated", "__system/updatedAt"))
_SYSTEM_KEPT = ("submissionDate", "updatedAt", "submitterName", "reviewState", "formVersion")
_DROPPED = {"meta/instanceID", "meta/deprecatedID"}  # the version's ids; __id is the submission's
_TOO_OLD = "reading oldest first ($orderby) came in ODK Central v2024.1: this server is older; upgrade it"
_NO_EDIT_BEFORE = "1970-01-01T00:00:00.000Z"  # "updatedAt ge" this: every submission ever edited, none never edited


def _flatten(values: dict, prefix: str = "") -> dict:
    """A submission as columns: groups to ``group/field``, repeats' links and version ids left out."""
    out: dict = {}
    for name, value in values.items():
        if name.endswith("@odata.navigationLink"):
            continue  # a repeat, served as a table of its own
        if name == "__system" and not prefix and isinstance(value, dict):
            out.update({f"__system/{k}": value[k] for k in _SYSTEM_KEPT if k in value})
        elif isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{name}/"))
        elif f"{prefix}{name}" not in _DROPPED:
            out[f"{prefix}{name}"] = value
    return out


def _entry_columns(entry: dict, repeat: str) -> dict:
    """One repeat entry as columns under the repeat's path; its link back to the submission left out."""
    return {k: v for k, v in _flatten(entry, f"{repeat}/").items() if not k.startswith(f"{repeat}/__Submissions")}


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _time_of(sub: object, field: str) -> datetime | None:
    """A submission's ``__system/...`` time, as it comes (before flattening)."""
    system = sub.get("__system") if isinstance(sub, dict) else None
    return _moment(system.get(field.removeprefix("__system/"))) if isinstance(system, dict) else None


def _literal(moment: datetime) -> str:
    """A time as Central's $filter takes it: UTC, milliseconds, no quotes."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _position(value: object) -> dict:
    """The cursor's places, and when the last reading of every submission began (absent: never)."""
    position = {key: value.get(key) if isinstance(value, dict) else None for key, _ in _PASSES}
    if isinstance(value, dict) and value.get("reread_at"):
        position["reread_at"] = value["reread_at"]
    return position


class Submissions(Stream):
    """A form's submissions: those sent since the cursor, then those edited or reviewed since it."""

    name = "submissions"
    entity = "distribution"
    cursor_field = "__system/submissionDate"
    cursor_schema = {
        "description": "the last submission time and the last edit time read, as Central writes them, and when every "
        'submission was last read again: {"submitted": "2026-10-01T08:00:00.000Z", "updated": "2026-10-03T12:30:00.000Z", '
        '"reread_at": "2026-10-04T02:00:00+00:00"} (null: from the start)',
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "submitted": {"type": ["string", "null"]},
            "updated": {"type": ["string", "null"]},
            "reread_at": {"type": "string", "format": "date-time"},
        },
    }
    may_sample = True  # reading submissions changes nothing on the server

    @property
    def reads_whole(self) -> bool:  # with reread_every_hours: the run that begins a reading of them all
        return bool(self.connector.settings.get("reread_every_hours", 0))

    def read_whole(self, before: object, after: object) -> bool:
        """Whether this run began a reading of every submission (and so met each one Central still has)."""
        return began_whole_reading(_position(before).get("reread_at"), _position(after).get("reread_at"))

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        position = _position(cursor.value)
        if reread_due(position.get("reread_at"), self.connector.settings.get("reread_every_hours", 0), datetime.now(UTC)):
            if position["submitted"] is not None:
                self.connector.context.log.info("odk: reading every submission again, to meet those deleted in Central")
            position = {**position, "submitted": None, "reread_at": datetime.now(UTC).isoformat(timespec="seconds")}
        lookback = timedelta(seconds=self.connector.settings.get("lookback_seconds", 120))
        repeat = self.connector.settings.get("repeat")
        rows = SubmissionRows("odk", repeat, lambda entry: _entry_columns(entry, repeat), self.connector.context.log)
        line = 0
        for place, field in _PASSES:
            since = _moment(position[place])
            start = since - lookback if since else (_moment(_NO_EDIT_BEFORE) if place == "updated" else None)
            for sub in self._pass(field, start):
                line += 1
                if not isinstance(sub, dict):
                    yield SourceRow(sub, line)  # not a submission: the pipeline quarantines it, raw
                    continue
                row = _flatten(sub)
                seen = _moment(row.get(field))
                if seen is not None and (since is None or seen > since):
                    since = seen
                    position = {**position, place: row[field]}
                    cursor.advance(position)
                yield from rows.of(row, line, row.get("__id", line))
        rows.done()

    def _pass(self, field: str, start: datetime | None) -> Iterator[Any]:
        """Every submission with ``field`` at or after ``start``, oldest first, page by page.

        Each page asks from the last time read, skipping only the submissions of that very
        instant already read: a submission that moves (edited now) cannot shift the pages.
        """
        size = self.connector.settings.get("page_size", 1000)
        at, read_at = start, 0
        while True:
            params = {"$top": size, "$skip": read_at, "$orderby": f"{field} asc", "$wkt": "true"}
            if self.connector.settings.get("repeat"):
                params["$expand"] = "*"  # the repeats' entries inline, not as tables of their own
            if at is not None:
                params["$filter"] = f"{field} ge {_literal(at)}"
            page = self.connector.get(self.connector.data_path(), params)
            values = page.get("value") if isinstance(page, dict) else None
            if not isinstance(values, list):
                raise ConnectorError(
                    f"odk: {self.connector.data_path()} answered something other than a page of submissions (no value list)"
                )
            for sub in values:
                seen = _time_of(sub, field)
                if seen is None or seen == at:
                    read_at += 1
                else:
                    at, read_at = seen, 1
                yield sub
            # The last page: fewer than asked for, and no next link. A server that gives fewer per
            # page than asked (a cap of its own, a proxy's) names the next page; stopping at its
            # first short page would leave the rest unread behind a cursor already past them.
            if not values or (len(values) < size and "@odata.nextLink" not in page):
                return


class OdkCentral(Connector):
    """Pulls the submissions of one form of an ODK Central project."""

    name = "odk"
    title = "ODK Central form"
    settings_schema = SETTINGS
    stream_class = Submissions

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self.http = HttpClient(
            settings["url"], policy=HttpPolicy(timeout=settings.get("timeout", 30), retries=settings.get("retries", 4)), name="odk"
        )
        self._session: str | None = None

    def streams(self):
        configured = list(self.context.streams)
        if not configured:
            return [Submissions(None, self)]
        return [Submissions(cfg, self) for cfg in configured]

    def data_path(self) -> str:
        return f"/v1/projects/{self.settings['project']}/forms/{self.settings['form']}.svc/Submissions"

    def _log_in(self) -> str:
        try:
            answer = self.http.json("POST", "/v1/sessions", json={"email": self.settings["email"], "password": self.settings["password"]})
        except Refused as exc:
            raise ConnectorError(
                f"odk: {self.settings['url']} refused the log-in of {self.settings['email']!r} ({exc.status}): {_said(exc)}",
                hint="check the connection's email and password (a web user of Central, not an app user)",
            ) from None
        except Unavailable as exc:
            raise ConnectorError(str(exc)) from None
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise ConnectorError(
                f"odk: {self.settings['url']}/v1/sessions answered without a session token: is this an ODK Central server?"
            )
        return token

    def get(self, path: str, params: dict) -> Any:
        """One page; logs in first, and once more if the session lapsed; ConnectorError with Central's words."""
        for attempt in (1, 2):
            if self._session is None:
                self._session = self._log_in()
            try:
                return self.http.json("GET", path, params=params, headers={"Authorization": f"Bearer {self._session}"})
            except Refused as exc:
                if exc.status == 401 and attempt == 1:
                    self._session = None  # the session lapsed: log in again
                    continue
                raise ConnectorError(self._refusal(exc)) from None
            except Unavailable as exc:
                older = "answered 501" in str(exc)  # Central's word for a query feature it lacks: $orderby
                raise ConnectorError(str(exc), hint=_TOO_OLD if older else None) from None
        raise AssertionError("unreachable")  # pragma: no cover - the second attempt returns or raises

    def _refusal(self, exc: Refused) -> str:
        form = f"form {self.settings['form']!r} of project {self.settings['project']}"
        why = {
            403: f"the user {self.settings['email']!r} may not read the submissions of {form}: give it the Project Viewer or Manager role",
            404: f"{self.settings['url']} has no {form} (the form's ID is in its settings, as in the address /forms/ID)",
        }.get(exc.status, f"reading {form}")
        return f"odk: {why} ({exc.status}: {_said(exc)})"

    def check(self) -> str:
        try:
            page = self.get(self.data_path(), {"$top": 1, "$count": "true", "$orderby": "__system/submissionDate asc"})
        except ConnectorError as exc:
            raise CheckFailed(str(exc)) from None
        count = page.get("@odata.count", "?") if isinstance(page, dict) else "?"
        return f"form {self.settings['form']} of project {self.settings['project']}: {count} submission(s)"

    def close(self) -> None:
        self.http.close()


def _said(exc: Refused) -> str:
    """Central's own message from its error body ``{"code": 404.1, "message": ...}``."""
    body = exc.body
    return str(body.get("message")) if isinstance(body, dict) and body.get("message") else str(exc)


@hookimpl
def hub_register_connectors(registry):
    registry.add(OdkCentral)
