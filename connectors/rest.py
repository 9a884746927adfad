"""``rest``: any other JSON API (a CRM, a donation form service, a bank's open API). Pull and push.

Auth: ``bearer`` (a token), ``basic`` (user and password) or ``header`` (an API key in a
header of the API's choosing). Each stream reads ``path`` (settings, or per stream in
``options``), takes the records at ``record_path`` (dotted; empty when the answer is the list
itself) and follows one of four paginations:

- ``page``: ``?page=1,2,...`` (``page_param``, ``size_param``, ``page_size``, ``start``)
- ``offset``: ``?offset=0,100,...`` (``offset_param``, ``size_param``, ``page_size``)
- ``cursor``: the answer names the next cursor at ``cursor_path``, sent back as ``cursor_param``
- ``next_link``: the answer names the next page's URL at ``next_path`` (or an RFC 8288 ``Link: rel=next`` header)

A stream reads incrementally when ``incremental`` names the record field that grows
(``field``) and the query parameter that asks for records after a value (``param``). As a
destination it sends each batch to ``write.path`` (``mode: batch``: one request holding the
list, under ``body_key``; ``mode: each``: one request per record). ``rate_limit`` caps
requests per second; retries follow :mod:`hub.httpclient`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from hub import CheckFailed, Connector, ConnectorError, Cursor, Delivery, SourceRow, Stream, WriteResult, exactjson, hookimpl
from hub.errors import ConfigError, RecordProblem
from hub.httpclient import POLICY_SETTINGS, HttpClient, HttpPolicy, Refused, Unavailable, batch_key, not_json, send_groups, send_in_halves
from hub.schemacheck import problems_of

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

_PAGINATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type"],
    "properties": {
        "type": {"enum": ["none", "page", "offset", "cursor", "next_link"]},
        "page_param": {"type": "string", "default": "page"},
        "offset_param": {"type": "string", "default": "offset"},
        "size_param": {"type": "string", "default": "limit"},
        "page_size": {"type": "integer", "minimum": 1, "default": 100},
        "start": {"type": "integer", "minimum": 0, "default": 1, "description": "The first page number"},
        "cursor_param": {"type": "string", "default": "cursor"},
        "cursor_path": {"type": "string", "description": "Dotted path of the next cursor in the answer"},
        "next_path": {"type": "string", "description": "Dotted path of the next page's URL (default: the Link header)"},
    },
}
_READ = {
    "path": {"type": "string", "description": "The endpoint to read, relative to url"},
    "record_path": {"type": "string", "default": "", "description": "Dotted path of the record list in the answer"},
    "params": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    "pagination": _PAGINATION,
    "incremental": {
        "type": "object",
        "additionalProperties": False,
        "required": ["field", "param"],
        "properties": {"field": {"type": "string"}, "param": {"type": "string"}},
    },
}
SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://"},
        "auth": {
            "oneOf": [
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type", "token"],
                    "properties": {"type": {"const": "bearer"}, "token": {"type": "string", "writeOnly": True}},
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type", "username", "password"],
                    "properties": {
                        "type": {"const": "basic"},
                        "username": {"type": "string"},
                        "password": {"type": "string", "writeOnly": True},
                    },
                },
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["type", "name", "value"],
                    "properties": {"type": {"const": "header"}, "name": {"type": "string"}, "value": {"type": "string", "writeOnly": True}},
                },
            ]
        },
        **_READ,
        "write": {
            "type": "object",
            "additionalProperties": False,
            "required": ["path"],
            "properties": {
                "path": {"type": "string"},
                "method": {"enum": ["POST", "PUT", "PATCH"], "default": "POST"},
                "mode": {"enum": ["batch", "each"], "default": "batch"},
                "body_key": {
                    "type": ["string", "null"],
                    "default": "records",
                    "description": "Key holding the list (null: the body is the list)",
                },
                "batch_size": {"type": "integer", "minimum": 1, "default": 100},
            },
        },
        "check_path": {"type": "string", "description": "A cheap GET that proves the API and credentials work (default: path)"},
        **POLICY_SETTINGS,
    },
}
OPTIONS = {"type": "object", "additionalProperties": False, "properties": _READ}


def dig(data: Any, path: str | None) -> Any:
    """The value at a dotted path (``data.items``; ``""``: the data itself); None when absent."""
    return _walk(data, path)[0]


def _walk(data: Any, path: str | None) -> tuple[Any, tuple[str, list[str]] | None]:
    """The value at a dotted ``path``, and where the path breaks off if it does.

    The break is the part the data lacks and the keys there instead (the value is then None);
    None when every part is there, its value null or not.
    """
    for part in (path or "").split(".") if path else ():
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None, (part, sorted(map(str, data))[:10] if isinstance(data, dict) else [])
    return data, None


class Endpoint(Stream):
    """Records of one endpoint, page after page."""

    name = "records"
    entity = "donation"
    cursor_schema = {"description": "the last value of the incremental field read (text or a number)", "type": ["string", "number"]}
    may_sample = True  # GETs change nothing; hub check reads a few pages, as its own check reads one

    def _option(self, name: str, default=None):
        opts = self.config.options if self.config else {}
        return opts.get(name, self.connector.settings.get(name, default))

    def read(self, cursor: Cursor) -> Iterator[SourceRow]:
        path = self._option("path")
        if not path:
            raise ConfigError(f"connections.{self.connector.context.connection}: give settings.path or streams.{self.name}.options.path")
        params = dict(self._option("params", {}) or {})
        incremental = self._option("incremental")
        if incremental and cursor.value is not None:
            params[incremental["param"]] = cursor.value
        pag = {"type": "none", **(self._option("pagination") or {})}
        kind, size = pag["type"], pag.get("page_size", 100)
        page_no, offset, line = pag.get("start", 1), 0, 0
        url: str | None = path
        previous: bytes | None = None
        while url:
            if kind == "page":
                params.update({pag.get("page_param", "page"): page_no, pag.get("size_param", "limit"): size})
            elif kind == "offset":
                params.update({pag.get("offset_param", "offset"): offset, pag.get("size_param", "limit"): size})
            current, resp = url, self.connector.get(url, params)
            if kind in ("page", "offset") and resp.content == previous:
                # An API that ignores the page parameter, or repeats its last page past the end,
                # would otherwise be read forever. (A cursor or link that does not move is caught below.)
                log.warning("rest: %s answered the same page twice running; taking that as the end", path)
                break
            previous = resp.content
            body = _json(resp, url)
            record_path = self._option("record_path", "")
            records, broken = _walk(body, record_path)
            if records is None:
                if broken is not None:
                    # The API answered in another shape (a renamed key): reading on would take
                    # every run for an empty source, and nothing new would ever arrive.
                    missing, there = broken
                    raise ConnectorError(
                        f"rest: the answer of {path} has no {missing!r} on the way to record_path {record_path!r}"
                        f" (it has {', '.join(map(repr, there)) or 'nothing there'})"
                    )
                records = []  # the path is there and null: no records
            if not isinstance(records, list):
                raise ConnectorError(f"rest: the answer of {path} has no list at record_path {record_path!r}")
            for rec in records:
                line += 1
                if incremental and isinstance(rec, dict) and rec.get(incremental["field"]) is not None:
                    value = rec[incremental["field"]]
                    if _later(value, cursor.value):
                        cursor.advance(value)
                yield SourceRow(rec, line)
            url = None
            if not records:
                break
            if kind == "page":
                page_no += 1
                url = path
            elif kind == "offset":
                offset += len(records)
                url = path if len(records) >= size else None
            elif kind == "cursor":
                nxt = dig(body, pag.get("cursor_path"))
                if nxt and nxt == params.get(pag.get("cursor_param", "cursor")):
                    raise ConnectorError(
                        f"rest: {path} gave the cursor it was asked with ({nxt!r}) as the next one: it would be read forever"
                    )
                if nxt:
                    params[pag.get("cursor_param", "cursor")] = nxt
                    url = path
            elif kind == "next_link":
                nxt = dig(body, pag["next_path"]) if pag.get("next_path") else resp.links.get("next", {}).get("url")
                if nxt and nxt == current:
                    raise ConnectorError(f"rest: {path} gave the page it was on ({nxt}) as the next one: it would be read forever")
                if nxt:
                    self.connector.http.same_site(str(nxt), where=path)
                    url, params = nxt, {}  # the link carries its own query


def _later(value: Any, current: Any) -> bool:
    """Whether ``value`` moves the cursor past ``current``.

    Numbers (or whole numbers written as text: ids) compare by value, so 10 comes after 9;
    anything else compares as text, which orders ISO 8601 times.
    """
    if current is None:
        return True

    def whole(v: Any) -> int | float | None:
        if isinstance(v, bool):
            return None
        if isinstance(v, int | float):
            return v
        return int(v) if isinstance(v, str) and v.isascii() and v.isdigit() else None

    a, b = whole(value), whole(current)
    if a is not None and b is not None:
        return a > b
    return str(value) > str(current)


def _json(resp: httpx.Response, where: str) -> Any:
    try:
        return exactjson.loads_answer(resp.content)
    except ValueError as exc:
        raise ConnectorError(not_json(resp, f"rest: {where}", exc)) from None


class RestConnector(Connector):
    """Pull from and push to a JSON API."""

    name = "rest"
    title = "JSON REST API"
    settings_schema = SETTINGS
    stream_class = Endpoint

    def __init__(self, settings, context):
        super().__init__(settings, context)
        for s in context.streams:
            problems = problems_of(OPTIONS, s.options, prefix=f"connections.{context.connection}.streams.{s.name}.options")
            if problems:
                raise ConfigError(f"connection {context.connection!r}: stream {s.name!r} has invalid options", problems=problems)
        auth, headers = settings.get("auth") or {}, {}
        basic = None
        if auth.get("type") == "bearer":
            headers["Authorization"] = f"Bearer {auth['token']}"
        elif auth.get("type") == "basic":
            import httpx  # only when a client is built: see hub/httpclient.py

            basic = httpx.BasicAuth(auth["username"], auth["password"])
        elif auth.get("type") == "header":
            headers[auth["name"]] = auth["value"]
        self.write_settings = {"method": "POST", "mode": "batch", "body_key": "records", "batch_size": 100, **(settings.get("write") or {})}
        self.batch_size = self.write_settings["batch_size"]
        self.http = HttpClient(settings["url"], policy=HttpPolicy.from_settings(settings), headers=headers, auth=basic, name="rest")

    def streams(self):
        if not self.context.streams and self.settings.get("path"):
            return [Endpoint(None, self)]
        return super().streams()

    def get(self, url: str, params: dict) -> httpx.Response:
        try:
            return self.http.request("GET", url, params=params or None)  # a next link keeps its own query
        except (Unavailable, Refused) as exc:
            raise ConnectorError(str(exc)) from None

    def check(self) -> str:
        path = self.settings.get("check_path") or self.settings.get("path") or "/"
        try:
            resp = self.http.request("GET", path)
        except (Unavailable, Refused) as exc:
            raise CheckFailed(str(exc)) from None
        return f"{self.settings['url']}: {path} answered {resp.status_code}"

    def write(self, entity: str, deliveries: Sequence[Delivery]) -> WriteResult:
        if not self.settings.get("write"):
            raise ConfigError(f"connections.{self.context.connection}.settings.write: say where records are sent (write.path)")
        w, result = self.write_settings, WriteResult()
        groups = (
            [[d] for d in deliveries]
            if w["mode"] == "each"
            else [deliveries[i : i + self.batch_size] for i in range(0, len(deliveries), self.batch_size)]
        )
        return send_groups(groups, lambda group: self._send(entity, group, result), result)

    def _send(self, entity: str, group: Sequence[Delivery], result: WriteResult) -> None:
        """Send one request; a batch refused as too large (413) goes again in halves."""
        w = self.write_settings

        def post(part: Sequence[Delivery]) -> None:
            if w["mode"] == "each":
                body: Any = part[0].record
            else:
                records = [d.record for d in part]
                body = {w["body_key"]: records} if w["body_key"] else records
            key = part[0].idempotency_key if len(part) == 1 else batch_key("rest", entity, [d.idempotency_key for d in part])
            self.http.request(w["method"], w["path"], json=body, headers={"Idempotency-Key": key})

        def refused(part: Sequence[Delivery], exc: Refused) -> None:
            result.rejected.update((d.idempotency_key, [RecordProblem("(record)", "destination", str(exc))]) for d in part)

        def too_large(size: int) -> None:
            log.warning(
                "rest: %s refused %d records in one request (413); sending smaller batches: lower write.batch_size", w["path"], size
            )

        send_in_halves(group, post, refused=refused, too_large=too_large, auth_hint="check the credentials in settings.auth")

    def close(self) -> None:
        self.http.close()


@hookimpl
def hub_register_connectors(registry):
    registry.add(RestConnector)
