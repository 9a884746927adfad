"""``kobo``: KoboToolbox form submissions, the way field teams record distributions.

Reads ``GET {url}/api/v2/assets/{form}/data/`` page by page (``limit``/``start``, following
``next``), incrementally on ``_submission_time``: each run asks only for submissions from the
last one committed on (that one again, found unchanged, so none of the same second is
missed).

A submission edited in Kobo (a household count corrected, a place spelt right) keeps its
``_submission_time``, and Kobo's data API names no time of edit (kobotoolbox/kpi#7259), so an
incremental read never sees the edit. Every ``reread_every_hours`` (24 by default) a run reads
every submission again, oldest first: an edited one is stored as its new version, the others
are found unchanged and cost nothing. The cursor keeps when that last began; a run stopped
half-way through it carries on from where it stopped. That reading meets every submission the
form still has, so a stream with ``report_deleted: true`` names, after it, the records whose
submissions were deleted in Kobo (or, with ``repeat:``, whose entries an edit removed).

Attachments and Kobo's bookkeeping fields (``_attachments``, ``_geolocation``,
``_notes``, ``_validation_status``...) are dropped; group paths (``group/field``) are kept as
column names for the mapping. Timeouts, connection errors, 5xx and 429 are retried with
backoff (``Retry-After`` honoured); other 4xx stop the run with the server's message.

Kobo writes its own times (``_submission_time``, ``_date_modified``) in UTC without saying
so (``2026-10-01T22:30:00``). Read as written, a mapping would take them in the connection's
zone, three hours off in Damascus and on another day near midnight, so they reach the mapping
with their offset (``2026-10-01T22:30:00+00:00``). The form's own times (``start``, ``end``)
carry the device's offset already and are left as they are.

With ``repeat: items`` (a repeat group's path), a submission gives one row per entry of that
repeat, its own columns beside the entry's (``items/item``, ``items/_index``): the form that
records a household once and each item it received in a repeat gives one distribution per
item (``hub.formrepeats``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime

from hub import CheckFailed, Connector, ConnectorError, Cursor, SourceRow, Stream, hookimpl
from hub.formrepeats import SETTING as REPEAT_SETTING
from hub.formrepeats import SubmissionRows
from hub.httpclient import HttpClient, HttpPolicy, Refused, Unavailable
from hub.rereads import began_whole_reading, reread_due

SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "token", "form"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://", "description": "The Kobo server, e.g. https://kf.kobotoolbox.org"},
        "token": {"type": "string", "writeOnly": True, "description": "API token; write ${KOBO_TOKEN}"},
        "form": {"type": "string", "minLength": 1, "description": "The form's asset uid"},
        "page_size": {"type": "integer", "minimum": 1, "maximum": 30000, "default": 1000},
        "timeout": {"type": "number", "minimum": 1, "default": 30},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 4},
        "reread_every_hours": {
            "type": "number",
            "minimum": 0,
            "default": 24,
            "description": "Read every submission again this often, so that edits made in Kobo arrive (0: never)",
        },
        "repeat": REPEAT_SETTING,
    },
}
_DROP = {
    "_attachments",
    "_geolocation",
    "_notes",
    "_validation_status",
    "_tags",
    "_status",
    "__version__",
    "meta/instanceID",
    "formhub/uuid",
}

_UTC_FIELDS = ("_submission_time", "_date_modified")
_NO_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?")


def _in_utc(row: dict) -> None:
    """Kobo's own times, which are UTC written without an offset, with theirs."""
    for name in _UTC_FIELDS:
        value = row.get(name)
        if isinstance(value, str) and _NO_OFFSET.fullmatch(value):
            row[name] = value + "+00:00"


def _position(value: object) -> tuple[str | None, str | None]:
    """(the last ``_submission_time`` read, when the last reading of every submission began) from a cursor.

    A cursor saved before re-reading existed is the bare submission time; it has never re-read.
    """
    if isinstance(value, dict):
        return value.get("submitted"), value.get("reread_at")
    return (value if isinstance(value, str) else None), None


class Submissions(Stream):
    """Form submissions, oldest first; the cursor is the last ``_submission_time`` read and when all were last read again."""

    name = "submissions"
    entity = "distribution"
    cursor_field = "_submission_time"
    cursor_schema = {
        "description": "the last _submission_time read, as Kobo writes it, and when every submission was last read again: "
        '{"submitted": "2026-03-01T10:00:00", "reread_at": "2026-03-02T02:00:00+00:00"} (or the bare time)',
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "additionalProperties": False,
                "properties": {"submitted": {"type": ["string", "null"]}, "reread_at": {"type": "string", "format": "date-time"}},
            },
        ],
    }
    may_sample = True  # reading submissions changes nothing on the server
    reads_whole = True  # when it reads every submission again: read_whole says which run did

    def read_whole(self, before: object, after: object) -> bool:
        """Whether this run read every submission from the first: it began a reading of all of them.

        A run that carried on with a reading an earlier run began (the same ``reread_at``) met
        only the rest, and an incremental run met only the new ones.
        """
        return began_whole_reading(_position(before)[1], _position(after)[1])

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        params = {"format": "json", "limit": self.connector.settings.get("page_size", 1000), "sort": json.dumps({"_submission_time": 1})}
        submitted, reread_at = _position(cursor.value)
        now = datetime.now(UTC)
        if reread_due(reread_at, self.connector.settings.get("reread_every_hours", 24), now):
            if submitted is not None:
                self.connector.context.log.info("kobo: reading every submission again, for edits made since they were first read")
            submitted, reread_at = None, now.isoformat(timespec="seconds")
        if submitted:
            # At or after (not after): submissions of one second may straddle a batch whose
            # cursor was committed before a crash; the one read again is found unchanged.
            params["query"] = json.dumps({"_submission_time": {"$gte": submitted}})
        url = self.connector.data_url()
        rows = SubmissionRows("kobo", self.connector.settings.get("repeat"), dict, self.connector.context.log)
        start = 0
        while url:
            page = self.connector.get(url, params)
            results = page.get("results") if isinstance(page, dict) else None
            if not isinstance(results, list):
                raise ConnectorError(f"kobo: {url} answered something other than a page of submissions (no results list)")
            for n, sub in enumerate(results, start=start + 1):
                if not isinstance(sub, dict):
                    yield SourceRow(sub, n)  # not a submission: the pipeline quarantines it, raw
                    continue
                row = {k: v for k, v in sub.items() if k not in _DROP}
                if row.get("_submission_time"):
                    # As the server writes it: the next query compares it so.
                    cursor.advance({"submitted": row["_submission_time"], "reread_at": reread_at} if reread_at else row["_submission_time"])
                _in_utc(row)
                yield from rows.of(row, n, row.get("_id", n))
            start += len(results)
            following = page.get("next")
            if following and following == url:
                raise ConnectorError(f"kobo: {url} names itself as the next page: it would be read forever")
            url = self.connector.http.same_site(following, where=url) if following else None
            params = None  # the next link carries its own query
        rows.done()


class KoboConnector(Connector):
    """Pulls submissions of one form."""

    name = "kobo"
    title = "KoboToolbox form"
    settings_schema = SETTINGS
    stream_class = Submissions

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self.http = HttpClient(
            settings["url"],
            policy=HttpPolicy(timeout=settings.get("timeout", 30), retries=settings.get("retries", 4)),
            headers={"Authorization": f"Token {settings['token']}"},
            name="kobo",
        )

    def streams(self):
        configured = list(self.context.streams)
        if not configured:
            return [Submissions(None, self)]
        return [Submissions(cfg, self) for cfg in configured]

    def data_url(self) -> str:
        return f"{self.settings['url'].rstrip('/')}/api/v2/assets/{self.settings['form']}/data/"

    def get(self, url: str, params: dict | None) -> dict:
        """One page; retries follow hub.httpclient; ConnectorError with the server's word when it refuses."""
        try:
            return self.http.json("GET", url, params=params)
        except (Unavailable, Refused) as exc:
            raise ConnectorError(str(exc)) from None

    def check(self) -> str:
        try:
            page = self.get(self.data_url(), {"format": "json", "limit": 1})
        except ConnectorError as exc:
            raise CheckFailed(str(exc)) from None
        return f"form {self.settings['form']}: {page.get('count', '?')} submission(s)"

    def close(self) -> None:
        self.http.close()


@hookimpl
def hub_register_connectors(registry):
    registry.add(KoboConnector)
