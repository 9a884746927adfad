"""The ``rest`` connector's auth, pagination, rate limit and write modes against a local API."""

from __future__ import annotations

import base64
import json
import time

import pytest

from connectors.rest import RestConnector
from hub.errors import ConfigError, ConnectorError, TransientDeliveryError
from hub.sdk import ConnectorContext, Cursor, Delivery, StreamConfig
from hub.testing import Response, TestServer

ROWS = [{"n": i} for i in range(1, 8)]


def _open(tmp_path, settings, options=None):
    streams = (StreamConfig("s", "donation", options=options or {}),) if options is not None else ()
    return RestConnector(settings, ConnectorContext(connection="c", base_dir=tmp_path, streams=streams))


def _read(conn):
    out = []
    for stream in conn.streams():
        out += [row.data["n"] for row in stream.read(Cursor(None))]
    return out


@pytest.fixture
def server():
    with TestServer() as s:
        yield s


def test_offset_pagination_and_bearer_auth(server, tmp_path):
    def page(req):
        assert req.headers["Authorization"] == "Bearer t0k"
        off, lim = int(req.arg("skip")), int(req.arg("take"))
        return Response(200, ROWS[off : off + lim])

    server.route("GET", "/rows", page)
    conn = _open(
        tmp_path,
        {
            "url": server.url,
            "path": "/rows",
            "auth": {"type": "bearer", "token": "t0k"},
            "pagination": {"type": "offset", "offset_param": "skip", "size_param": "take", "page_size": 3},
        },
    )
    assert _read(conn) == list(range(1, 8))
    assert [r.arg("skip") for r in server.requests] == ["0", "3", "6"]


def test_cursor_pagination_and_basic_auth(server, tmp_path):
    def page(req):
        assert req.headers["Authorization"] == "Basic " + base64.b64encode(b"amal:p@ss").decode()
        start = int(req.arg("after", "0"))
        chunk = ROWS[start : start + 3]
        return Response(200, {"results": chunk, "meta": {"next": str(start + 3) if start + 3 < len(ROWS) else None}})

    server.route("GET", "/rows", page)
    conn = _open(
        tmp_path,
        {"url": server.url, "auth": {"type": "basic", "username": "amal", "password": "p@ss"}},
        {"path": "/rows", "record_path": "results", "pagination": {"type": "cursor", "cursor_param": "after", "cursor_path": "meta.next"}},
    )
    assert _read(conn) == list(range(1, 8))
    assert len(server.requests) == 3


def test_next_link_from_the_body_and_from_the_link_header(server, tmp_path):
    def body_link(req):
        n = int(req.arg("p", "0"))
        nxt = f"{server.url}/a?p={n + 1}" if n < 2 else None
        return Response(200, {"items": ROWS[n * 3 : n * 3 + 3], "links": {"next": nxt}})

    def header_link(req):
        n = int(req.arg("p", "0"))
        headers = {"Link": f'<{server.url}/b?p={n + 1}>; rel="next"'} if n < 2 else {}
        return Response(200, ROWS[n * 3 : n * 3 + 3], headers)

    server.route("GET", "/a", body_link)
    server.route("GET", "/b", header_link)
    a = _open(
        tmp_path,
        {"url": server.url},
        {"path": "/a", "record_path": "items", "pagination": {"type": "next_link", "next_path": "links.next"}},
    )
    b = _open(tmp_path, {"url": server.url}, {"path": "/b", "pagination": {"type": "next_link"}})
    assert _read(a) == list(range(1, 8)) and _read(b) == list(range(1, 8))


def test_a_next_link_to_another_site_stops_the_read_and_the_token_never_goes_there(server, tmp_path):
    with TestServer() as elsewhere:
        elsewhere.route("GET", "/steal", lambda req: Response(200, {"items": [{"n": 99}]}))
        server.route("GET", "/a", lambda req: Response(200, {"items": ROWS[:3], "next": f"{elsewhere.url}/steal?p=2"}))
        conn = _open(
            tmp_path,
            {"url": server.url, "auth": {"type": "bearer", "token": "t0k-secret"}},
            {"path": "/a", "record_path": "items", "pagination": {"type": "next_link", "next_path": "next"}},
        )
        with pytest.raises(ConnectorError, match="gave a next page on another site") as refused:
            _read(conn)
        assert "the connection's credentials are not sent there" in str(refused.value)
        assert elsewhere.requests == [], "nothing, and no token, went to the other site"


def test_an_answer_in_another_shape_fails_the_read_instead_of_reading_as_empty(server, tmp_path):
    # The partner renamed "items" to "results": every run read nothing, said nothing, and no
    # new gift ever arrived. A null there is still an empty page.
    server.route("GET", "/renamed", lambda req: Response(200, {"results": ROWS[:3], "meta": {}}))
    server.route("GET", "/null", lambda req: Response(200, {"items": None}))
    renamed = _open(tmp_path, {"url": server.url}, {"path": "/renamed", "record_path": "items"})
    with pytest.raises(ConnectorError) as exc:
        _read(renamed)
    assert "has no 'items' on the way to record_path 'items' (it has 'meta', 'results')" in str(exc.value)
    assert _read(_open(tmp_path, {"url": server.url}, {"path": "/null", "record_path": "items"})) == []


def test_the_rate_limit_spaces_requests(server, tmp_path):
    server.route("GET", "/rows", lambda req: Response(200, ROWS[int(req.arg("page")) - 1 : int(req.arg("page"))]))
    conn = _open(tmp_path, {"url": server.url, "path": "/rows", "rate_limit": 5, "pagination": {"type": "page", "page_size": 1}})
    started = time.monotonic()
    assert _read(conn) == list(range(1, 8))
    # Eight requests (seven pages and the empty one that ends them) at 5 a second: the client
    # waits at least 0.2 s before each after the first. A lower bound on its own clock, which a
    # sleep never undercuts: the partner's clock sees the same spacing blurred by the network,
    # as a busy CI machine showed.
    assert len([r for r in server.requests if r.path == "/rows"]) == 8
    assert time.monotonic() - started >= 7 * 0.2


def test_write_each_sends_one_request_per_record_with_its_key(server, tmp_path):
    got = []
    server.route("PUT", "/gift", lambda req: (got.append((req.headers["Idempotency-Key"], req.json())), Response(200, {}))[1])
    conn = _open(tmp_path, {"url": server.url, "write": {"path": "/gift", "method": "PUT", "mode": "each"}})
    result = conn.write("donation", [Delivery(f"k{i}", "donation", str(i), 1, {"id": i}) for i in range(3)])
    assert not result.rejected and got == [("k0", {"id": 0}), ("k1", {"id": 1}), ("k2", {"id": 2})]


def test_a_batch_key_names_every_record_version_it_carries(server, tmp_path):
    # The key was the first version's and the count: [k0, k1] and then [k0, k2] shared one, so
    # a partner honouring it answered the second batch with the first's answer, and k2 was lost.
    got = []
    server.route("POST", "/gifts", lambda req: (got.append((req.headers["Idempotency-Key"], req.json())), Response(200, {}))[1])
    conn = _open(tmp_path, {"url": server.url, "write": {"path": "/gifts"}})
    deliveries = {k: Delivery(k, "donation", k, 1, {"id": k}) for k in ("k0", "k1", "k2")}
    conn.write("donation", [deliveries["k0"], deliveries["k1"]])
    conn.write("donation", [deliveries["k0"], deliveries["k2"]])
    conn.write("donation", [deliveries["k0"], deliveries["k1"]])  # the first again, as after a crash: its own key
    keys = [k for k, _body in got]
    assert keys[0] != keys[1] and keys[0] == keys[2] and all(k.startswith("rest-") for k in keys)


def test_a_refused_record_is_reported_not_retried(server, tmp_path):
    server.route("POST", "/gifts", lambda req: Response(400, {"detail": "amount missing"}))
    conn = _open(tmp_path, {"url": server.url, "write": {"path": "/gifts", "mode": "each"}, "retries": 3})
    result = conn.write("donation", [Delivery("k1", "donation", "1", 1, {"id": 1})])
    assert "amount missing" in result.rejected["k1"][0].message and len(server.requests) == 1


def test_a_batch_too_large_goes_again_in_halves(server, tmp_path):
    def limited(req):
        records = req.json()["records"]
        return Response(413, {"detail": "too large"}) if len(records) > 2 or {"id": 5} in records else Response(200, {})

    server.route("POST", "/gifts", limited)
    conn = _open(tmp_path, {"url": server.url, "write": {"path": "/gifts", "batch_size": 8}})
    result = conn.write("donation", [Delivery(f"k{i}", "donation", str(i), 1, {"id": i}) for i in range(8)])
    taken = sorted(
        r["id"]
        for q in server.requests
        for r in q.json()["records"]
        if len(q.json()["records"]) <= 2 and {"id": 5} not in q.json()["records"]
    )
    assert taken == [0, 1, 2, 3, 4, 6, 7] and list(result.rejected) == ["k5"]


def test_bad_stream_options_name_their_key(tmp_path):
    with pytest.raises(ConfigError) as exc:
        _open(tmp_path, {"url": "http://127.0.0.1:9"}, {"path": "/x", "pagination": {"type": "pages"}})
    assert "connections.c.streams.s.options.pagination.type" in str(exc.value)


def test_an_api_that_repeats_itself_is_not_read_forever(server, tmp_path):
    # Page numbers ignored: the same page comes back, and reading stops after it.
    server.route("GET", "/same", lambda req: Response(200, ROWS[:3]))
    pages = _open(tmp_path, {"url": server.url}, {"path": "/same", "pagination": {"type": "page"}})
    assert _read(pages) == [1, 2, 3] and len(server.requests) == 2
    # A cursor or a next link that points back where it was is an error, not an endless run.
    server.route("GET", "/stuck", lambda req: Response(200, {"rows": ROWS[:2], "next": "c1"}, {"Link": f'<{server.url}/loop>; rel="next"'}))
    server.route("GET", "/loop", lambda req: Response(200, ROWS[:2], {"Link": f'<{server.url}/loop>; rel="next"'}))
    stuck = _open(
        tmp_path, {"url": server.url}, {"path": "/stuck", "record_path": "rows", "pagination": {"type": "cursor", "cursor_path": "next"}}
    )
    with pytest.raises(ConnectorError, match="gave the cursor it was asked with"):
        _read(stuck)
    loop = _open(tmp_path, {"url": server.url}, {"path": "/loop", "pagination": {"type": "next_link"}})
    with pytest.raises(ConnectorError, match="gave the page it was on"):
        _read(loop)


def test_an_incremental_number_field_moves_the_cursor_by_value_not_as_text(server, tmp_path):
    rows = [{"n": i, "seq": i} for i in range(1, 13)]  # 9 < 10 < 12, though "9" > "12" as text
    server.route("GET", "/rows", lambda req: Response(200, [r for r in rows if r["seq"] > int(req.arg("after_seq", "0"))]))
    conn = _open(tmp_path, {"url": server.url}, {"path": "/rows", "incremental": {"field": "seq", "param": "after_seq"}})
    cursor = Cursor(None)
    assert [row.data["n"] for row in conn.streams()[0].read(cursor)] == list(range(1, 13))
    assert cursor.value == 12
    rows.append({"n": 13, "seq": 13})
    assert [row.data["n"] for row in conn.streams()[0].read(cursor)] == [13]
    assert server.requests[-1].arg("after_seq") == "12"


def test_an_answer_with_a_byte_order_mark_or_in_utf16_is_read_and_a_bottomless_nesting_is_refused_in_words(server, tmp_path):
    # JSON is UTF-8, but older systems put a BOM before it or send UTF-16: the standard library
    # reads those, and so must the hub. A 100,000-deep nesting made the run end in an internal error.
    server.route("GET", "/bom", lambda req: Response(200, b"\xef\xbb\xbf" + json.dumps(ROWS[:2]).encode()))
    server.route("GET", "/utf16", lambda req: Response(200, json.dumps(ROWS[:3]).encode("utf-16")))
    server.route("GET", "/deep", lambda req: Response(200, b"[" * 100_000 + b"]" * 100_000))
    assert _read(_open(tmp_path, {"url": server.url}, {"path": "/bom"})) == [1, 2]
    assert _read(_open(tmp_path, {"url": server.url}, {"path": "/utf16"})) == [1, 2, 3]
    with pytest.raises(ConnectorError, match="rest: /deep did not answer JSON"):
        _read(_open(tmp_path, {"url": server.url}, {"path": "/deep"}))


def test_a_page_where_json_was_expected_is_named_for_what_it_is(server, tmp_path):
    # A CRM whose session lapsed answers its login page with a 200: "did not answer JSON" told
    # the author nothing of why; the content type does.
    login = b"<!doctype html><html><body><form action=/login>...</form></body></html>"
    server.route("GET", "/gifts", lambda req: Response(200, login, {"Content-Type": "text/html; charset=utf-8"}))
    server.route("GET", "/text", lambda req: Response(200, b"maintenance until 10:00", {"Content-Type": "text/plain"}))
    with pytest.raises(ConnectorError) as page:
        _read(_open(tmp_path, {"url": server.url}, {"path": "/gifts"}))
    assert str(page.value) == (
        "rest: /gifts answered an HTML page (status 200), not JSON: a login or error page? check the url and the credentials"
    )
    with pytest.raises(ConnectorError) as text:
        _read(_open(tmp_path, {"url": server.url}, {"path": "/text"}))
    assert str(text.value).startswith("rest: /text did not answer JSON (text/plain, 23 bytes): ")


def test_an_incremental_id_past_64_bits_is_kept_whole_as_the_cursor(server, folder):
    """A CRM whose gift numbers are 22-digit integers: the cursor was written as a float, or the run failed."""
    base = 1234567890123456789012
    gifts = [{"ref": f"G{i}", "seq": base + i, "sum": "100"} for i in range(3)]

    def page(req):
        after = int(req.arg("after_seq") or 0)
        body = "[" + ",".join(json.dumps(g) for g in gifts if g["seq"] > after) + "]"
        return Response(200, body.encode(), {"Content-Type": "application/json"})

    server.route("GET", "/gifts", page)
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  crm:\n    connector: rest\n"
        f"    settings: {{url: '{server.url}'}}\n"
        "    streams:\n      gifts:\n        entity: donation\n"
        "        options: {path: /gifts, incremental: {field: seq, param: after_seq}}\n"
        "        mapping:\n          id: ref\n          association_id: {const: assoc-amal}\n"
        "          amount: {column: sum, type: decimal}\n          currency: {const: SYP}\n"
        "          donated_at: {const: '2026-11-01T10:00:00+03:00'}\n          channel: {const: platform}\n          status: {const: received}\n",
    )
    first = folder.hub("run", "crm", "--json")
    assert first.code == 0, first.out + first.err
    assert json.loads(first.out)["runs"][0]["inserted"] == 3
    (state,) = json.loads(folder.hub("state", "show", "crm", "--json").out)
    assert state["cursor"] == base + 2
    gifts.append({"ref": "G3", "seq": base + 3, "sum": "100"})
    second = folder.hub("run", "crm", "--json")
    assert second.code == 0 and json.loads(second.out)["runs"][0]["inserted"] == 1
    assert server.requests[-1].arg("after_seq") == str(base + 2)
    # Set by hand, and audited, whole too.
    assert folder.hub("state", "set", "crm", str(base)).code == 0
    (entry,) = json.loads(folder.hub("audit", "list", "--json").out)
    assert entry["action"] == "state.set" and entry["detail"]["new"] == base
    shown = folder.hub("audit", "show", str(entry["id"]))
    assert shown.code == 0 and f'"new": {base}' in shown.out, shown.err
    assert folder.hub("audit", "verify").code == 0


def test_write_each_failing_part_way_says_what_the_partner_already_took(server, tmp_path):
    answers = iter([Response(200, {}), Response(422, {"detail": "no donor"}), Response(200, {}), Response(503, {})])
    server.route("POST", "/gift", lambda req: next(answers))
    conn = _open(tmp_path, {"url": server.url, "write": {"path": "/gift", "mode": "each"}, "retries": 0})
    with pytest.raises(TransientDeliveryError) as exc:
        conn.write("donation", [Delivery(f"k{i}", "donation", str(i), 1, {"id": i}) for i in range(5)])
    assert exc.value.delivered == ("k0", "k2")
    assert list(exc.value.rejected) == ["k1"] and "no donor" in exc.value.rejected["k1"][0].message
    assert len(server.requests) == 4, "k4 was not tried after the partner became unavailable"


def test_a_push_interrupted_part_way_sends_only_the_rest_to_a_partner_that_ignores_keys(server, folder):
    # The partner keeps every request it takes, Idempotency-Key or not, and is away for a while
    # from its third request on: the records it took before must not reach it twice.
    taken, away = [], {"from": 3, "until": 5}

    def gift(req):
        n = len(server.requests)
        if away["from"] <= n < away["until"]:
            # The last answer of its away time says when to come back: in an hour, longer than this test.
            return Response(503, {"detail": "maintenance"}, {"Retry-After": "3600"} if n == away["until"] - 1 else {})
        taken.append(req.json()["id"])
        return Response(201, {})

    server.route("POST", "/gifts", gift)
    folder.write_csv(
        "donations.csv",
        ["id", "association_id", "amount", "currency", "donated_at", "channel", "status"],
        [[f"D{i}", "assoc-amal", "100", "SYP", "2026-11-01T10:00:00+03:00", "cash", "received"] for i in range(5)],
    )
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n"
        "  gifts:\n    connector: csv\n    settings: {path: donations.csv}\n"
        "    streams:\n      s: {entity: donation}\n    destinations: [crm]\n"
        f"  crm:\n    connector: rest\n    settings: {{url: '{server.url}', retries: 1, backoff: 0, write: {{path: /gifts, mode: each}}}}\n",
    )
    first = folder.hub("run", "gifts", "--json")
    assert first.code == 75, first.err  # try again later: three records wait for the partner
    run = json.loads(first.out)["runs"][0]
    assert run["delivered"] == 2 and run["status"] == "partial"
    assert any("maintenance" in f or "503" in f for f in run["flags"]), run["flags"]
    assert sorted(taken) == ["D0", "D1"]
    # The partner is back: its own run, without waiting out the backoff.
    second = folder.hub("run", "crm", "--retry-now", "--json")
    assert second.code == 0, second.err
    assert "3 deliveries to crm that waited for a retry go now" in second.err
    assert json.loads(second.out)["runs"][0]["delivered"] == 3
    assert sorted(taken) == ["D0", "D1", "D2", "D3", "D4"], "each record reached the partner once"


def test_check_tries_an_apis_first_rows_through_the_mapping(server, folder):
    # The CRM's gifts, as its API lists them: the check shows, before any run, that one has its
    # amount as a number of another shape (a comma decimal) that the mapping would not read.
    gifts = [
        {"ref": "G1", "sum": "1500", "on": "2026-11-01T10:00:00+03:00"},
        {"ref": "G2", "sum": "1500,75", "on": "2026-11-02T10:00:00+03:00"},
        {"ref": "G3", "sum": "300", "on": "2026-11-03T10:00:00+03:00"},
    ]

    def page(req):
        start = int(req.arg("offset") or 0)
        return Response(200, gifts[start : start + 2])

    server.route("GET", "/gifts", page)
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  crm:\n    connector: rest\n"
        f"    settings: {{url: '{server.url}', check_path: /gifts}}\n"
        "    streams:\n      gifts:\n        entity: donation\n"
        "        options: {path: /gifts, pagination: {type: offset, page_size: 2}}\n"
        "        mapping:\n          id: ref\n          association_id: {const: assoc-amal}\n"
        "          amount: {column: sum, type: decimal}\n          currency: {const: SYP}\n"
        "          donated_at: {column: on, type: datetime}\n          channel: {const: platform}\n          status: {const: received}\n",
    )
    r = folder.hub("check", "crm", "--json")
    assert r.code == 1, r.err
    trial = json.loads(r.out)["streams"][0]["trial"]
    assert (trial["tried"], trial["would_store"]) == (3, 2), trial
    assert "'1500,75'" in trial["would_quarantine"][0]["errors"][0]["message"]


def test_a_batch_halved_after_a_413_says_which_half_arrived_when_the_other_fails(server, tmp_path):
    answers = iter([Response(413, {"detail": "too large"}), Response(200, {}), Response(503, {"detail": "maintenance"})])
    server.route("POST", "/gifts", lambda req: next(answers))
    conn = _open(tmp_path, {"url": server.url, "write": {"path": "/gifts", "batch_size": 4}, "retries": 0})
    with pytest.raises(TransientDeliveryError) as exc:
        conn.write("donation", [Delivery(f"k{i}", "donation", str(i), 1, {"id": i}) for i in range(4)])
    assert exc.value.delivered == ("k0", "k1"), "the first half arrived; only k2 and k3 are sent again"
