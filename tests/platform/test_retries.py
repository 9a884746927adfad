"""The ``wasl`` connector against a scripted platform: what is retried, what is not, and how; a feed that stalls."""

from __future__ import annotations

import dataclasses
import gzip
import json
import threading
import time

import pytest

from hub.testing.server import Response, TestServer


def _inflated(req):
    """A gzip request as the platform reads it: its body inflated."""
    return dataclasses.replace(req, body=gzip.decompress(req.body))


def _batches(server):
    """The batches the pusher posted (before each push it also asks, with a GET, which store the platform keeps)."""
    return [q for q in server.requests if q.method == "POST"]


def _accept_all(req):
    body = req.json()
    return Response(
        200,
        {
            "entity": "donation",
            "accepted": len(body["records"]),
            "unchanged": 0,
            "rejected": 0,
            "results": [{"index": i, "status": "accepted", "key": "k", "version": 1} for i in range(len(body["records"]))],
        },
    )


def test_429_5xx_and_timeouts_are_retried_with_the_same_key_then_delivered(association):
    script = [
        lambda req: Response(429, {"detail": "slow down"}, {"Retry-After": "1"}),
        lambda req: Response(503, {"detail": "restarting"}),
        lambda req: (time.sleep(1.5), Response(200, {}))[1],  # longer than the pusher's timeout
        _accept_all,
    ]
    with TestServer() as server:
        seen = []

        def handler(req):
            seen.append(time.monotonic())
            return script[min(len(seen), len(script)) - 1](req)

        server.route("POST", "/api/v1/donation/batch", handler)
        association.configure(server.url, "wh_scripted-token", rows=3, timeout=0.5, retries=5)
        r = association.hub("run", "amal")
        assert r.code == 0, r.err
        posts = [q for q in _batches(server) if q.method == "POST"]
        assert len(posts) == 4
        assert len({q.headers["Idempotency-Key"] for q in posts}) == 1
        assert len({q.body for q in posts}) == 1
        assert seen[1] - seen[0] >= 1.0, "Retry-After: 1 was not honoured"
        assert posts[0].json()["versions"] == [1, 1, 1]
        assert posts[0].headers["Authorization"] == "Bearer wh_scripted-token"
        assert association.outbox() == {"delivered": 3}


def test_a_platform_too_busy_to_say_which_store_it_keeps_is_asked_once_and_still_sent_the_batch(association):
    with TestServer() as server:
        server.route("GET", "/api/v1/token", lambda req: Response(429, {"detail": "slow down"}, {"Retry-After": "3600"}))
        server.route("POST", "/api/v1/donation/batch", _accept_all)
        association.configure(server.url, "wh_t", rows=3, retries=5)
        r = association.hub("run", "amal", "--json")
        assert r.code == 0, r.err
        assert [q.method for q in server.requests] == ["GET", "POST"], "asked once, not after the hour it was told to wait"
        assert association.outbox() == {"delivered": 3}
        assert association.sql("select count(*) from destination_stores") == [(0,)], "no store named, none kept"


def test_a_platform_that_stays_down_defers_the_batch_to_the_next_run(association):
    with TestServer() as server:
        tries = []

        def down(req):
            tries.append(req)
            # The last try of the run hears when to come back: in an hour, longer than this test.
            return Response(503, {"detail": "down"}, {"Retry-After": "3600"} if len(tries) == 3 else {})

        server.route("POST", "/api/v1/donation/batch", down)
        association.configure(server.url, "wh_t", rows=3, retries=2)
        r = association.hub("run", "amal", "--json")
        run = json.loads(r.out)["runs"][0]
        assert run["status"] == "partial" and any("deferred" in f for f in run["flags"])
        assert len(_batches(server)) == 3  # the first try and two retries
        assert association.outbox() == {"pending": 3}
        # `hub status` says what waits for the platform, since when, and why the last try failed.
        status = {r["connection"]: r for r in json.loads(association.hub("status", "--json").out)}
        waiting = status["platform"]["waiting"]
        assert waiting["pending"] == 3 and "503" in waiting["last_error"] and waiting["next_attempt_at"] > waiting["oldest"]
        assert status["amal"]["waiting"] is None
        table = association.hub("status").out
        assert "waiting to send" in table and "3 since" in table
        server.route("POST", "/api/v1/donation/batch", _accept_all)
        assert association.hub("run", "amal").code == 0
        assert len(_batches(server)) == 3 and association.outbox() == {"pending": 3}  # the next try is in an hour
        # The platform is back: a person need not wait out the backoff.
        again = association.hub("run", "amal", "--retry-now")
        assert again.code == 0, again.err
        assert "3 deliveries to platform that waited for a retry go now" in again.err
        assert association.outbox() == {"delivered": 3}
        assert {r["connection"]: r["waiting"] for r in json.loads(association.hub("status", "--json").out)}["platform"] is None


def test_a_4xx_is_not_retried_and_the_records_go_to_quarantine_with_the_servers_errors(association):
    with TestServer() as server:
        server.route(
            "POST",
            "/api/v1/donation/batch",
            lambda req: Response(
                422,
                {
                    "title": "Unprocessable",
                    "status": 422,
                    "detail": "versions must be positive\u0000\u001b[2J",  # a NUL (PostgreSQL keeps none in text) and an ESC
                    "errors": [{"path": "versions", "rule": "type", "message": "one positive integer per record"}],
                },
            ),
        )
        association.configure(server.url, "wh_t", rows=4, retries=5)
        r = association.hub("run", "amal")
        assert r.code == 1
        assert len(_batches(server)) == 1
        assert association.outbox() == {"rejected": 4}
        q = json.loads(association.hub("quarantine", "list", "--json").out)
        assert len(q) == 4
        entry = json.loads(association.hub("quarantine", "show", str(q[0]["id"]), "--json").out)
        messages = " ".join(e["message"] for e in entry["errors"])
        assert "422" in messages and "versions must be positive" in messages and "one positive integer" in messages
        assert entry["raw"]["id"].startswith("D")
        # The partner's words are kept as text: control characters written out, in the store and on the terminal.
        assert "versions must be positive\\x00\\x1b[2J" in messages
        assert "\x1b" not in association.hub("quarantine", "show", str(q[0]["id"])).out


def test_a_refusal_of_the_token_in_a_partners_own_words_fails_the_run_in_those_words_as_text(association):
    # A NUL, which PostgreSQL cannot store in the run's error, and an ESC, which a terminal acts on.
    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", lambda req: Response(401, {"detail": "token\u0000 unknown\u001b[2J"}))
        association.configure(server.url, "wh_t", rows=2)
        r = association.hub("run", "amal")
        assert r.code == 2 and "token\\x00 unknown\\x1b[2J" in r.err and "Traceback" not in r.err, r.err
        (error,) = association.sql("select error from runs")[0]
        assert "refused the request (401): token\\x00 unknown\\x1b[2J" in error
        assert association.outbox() == {"pending": 2}


def test_an_answer_that_cannot_be_read_fails_the_run_and_leaves_the_batch_pending(association):
    answers = [
        (Response(200, b"<html>a login page</html>", {"Content-Type": "text/html"}), "JSONDecodeError"),
        (Response(200, {"results": [{"index": 99, "status": "rejected"}]}), "result index 99 is not one of the batch's 3 records"),
        (Response(200, {"results": "all good"}), "AttributeError"),
    ]
    with TestServer() as server:
        association.configure(server.url, "wh_t", rows=3)
        for answer, word in answers:
            server.route("POST", "/api/v1/donation/batch", lambda req, answer=answer: answer)
            r = association.hub("run", "amal")
            assert r.code != 0 and "cannot read" in r.err and word in r.err and "Traceback" not in r.err, r.err
            assert association.outbox() == {"pending": 3}
        server.route("POST", "/api/v1/donation/batch", _accept_all)
        assert association.hub("run", "amal").code == 0 and association.outbox() == {"delivered": 3}


def test_check_against_something_that_is_not_a_wasl_hub_says_so(association):
    with TestServer() as server:
        association.configure(server.url, "wh_t", rows=1)
        for answer in ([], {"status": "ok"}):
            server.route("GET", "/api/v1/token", lambda req, answer=answer: Response(200, answer))
            r = association.hub("check", "platform")
            assert r.code != 0 and "not as a Wasl hub does" in r.err and "Traceback" not in r.err, r.err


def test_per_record_rejections_quarantine_only_those_records(association):
    def half(req):
        n = len(req.json()["records"])
        return Response(
            200,
            {
                "entity": "donation",
                "accepted": n - 1,
                "unchanged": 0,
                "rejected": 1,
                "results": [
                    {"index": i, "status": "rejected", "errors": [{"path": "amount", "rule": "minimum", "message": "must be positive"}]}
                    if i == 0
                    else {"index": i, "status": "accepted"}
                    for i in range(n)
                ],
            },
        )

    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", half)
        association.configure(server.url, "wh_t", rows=5)
        assert association.hub("run", "amal").code == 1
        assert association.outbox() == {"delivered": 4, "rejected": 1}
        q = json.loads(association.hub("quarantine", "list", "--json").out)
        assert len(q) == 1


def test_a_413_splits_the_batch_and_quarantines_only_a_record_too_large_on_its_own(association):
    def limited(req):
        ids = _ids(req)
        if len(ids) > 2 or "D0000005" in ids:
            return Response(413, {"status": 413, "detail": f"{len(ids)} records or their bytes are over the limit"})
        return _accept_all(req)

    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", limited)
        association.configure(server.url, "wh_t", rows=8, batch_size=8)
        assert association.hub("run", "amal").code == 1
        delivered = sorted(i for q in _batches(server) if len(_ids(q)) <= 2 and "D0000005" not in _ids(q) for i in _ids(q))
        assert delivered == [f"D{i:07d}" for i in range(8) if i != 5]
        assert association.outbox() == {"delivered": 7, "rejected": 1}
        q = json.loads(association.hub("quarantine", "list", "--json").out)
        assert len(q) == 1 and q[0]["raw"]["id"] == "D0000005"
        keys = [q.headers["Idempotency-Key"] for q in _batches(server)]
        assert len(keys) == len(set(keys)), "every part of a split batch goes under its own key"


B = {n: [f"D{2 * n - 2:07d}", f"D{2 * n - 1:07d}"] for n in (1, 2, 3, 4)}  # the ids of batch n, two rows each


def _ids(req) -> list[str]:
    return [r["id"] for r in req.json()["records"]]


def test_two_batches_are_on_the_wire_at_once_and_never_more(association):
    """The platform only answers a batch once a second one has arrived beside it."""
    both_here = threading.Barrier(2, timeout=20)
    lock, active, most = threading.Lock(), [0], [0]

    def paired(req):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            both_here.wait()
            return _accept_all(req)
        except threading.BrokenBarrierError:
            return Response(503, {"detail": "alone on the wire"})
        finally:
            with lock:
                active[0] -= 1

    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", paired)
        association.configure(server.url, "wh_t", rows=8, batch_size=2, retries=0)
        r = association.hub("run", "amal")
        assert r.code == 0, r.err
        assert association.outbox() == {"delivered": 8}
        assert most[0] == 2
        sent = [i for q in _batches(server) for i in _ids(q)]
        assert sorted(sent) == sorted(set(sent)) and len(sent) == 8  # each record sent once


def test_a_batch_that_fails_while_the_next_is_in_flight_is_retried_and_the_next_is_kept(association):
    def second_fails(req):
        return Response(503, {"detail": "restarting"}) if "D0000002" in _ids(req) else _accept_all(req)

    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", second_fails)
        association.configure(server.url, "wh_t", rows=8, batch_size=2, retries=1)
        association.hub("run", "amal")
        batches = [_ids(q) for q in _batches(server)]
        # Batches 1 and 2 go out together; 3 follows once 1 is marked; 2 fails (tried twice), so the
        # drain stops: 3 is still marked delivered, 4 is never sent.
        assert sorted(batches) == [B[1], B[2], B[2], B[3]]
        delivered = {k for (k,) in association.sql("select key from outbox where status = 'delivered'")}
        assert {k.split("|")[-1] for k in delivered} == {*B[1], *B[3]}
        assert association.outbox() == {"delivered": 4, "pending": 4}
        server.route("POST", "/api/v1/donation/batch", _accept_all)
        again = association.hub("run", "amal", "--retry-now")  # batch 2 waited out a backoff; batch 4 was never tried
        assert again.code == 0, again.err
        assert "2 deliveries to platform that waited for a retry go now" in again.err
        assert association.outbox() == {"delivered": 8}
        assert sorted(_ids(q) for q in _batches(server)[4:]) == [B[2], B[4]]


def test_one_batch_at_a_time_when_the_connection_says_so(association):
    def alone(req):
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return _accept_all(req)

    lock, active, most = threading.Lock(), [0], [0]
    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", alone)
        association.configure(server.url, "wh_t", rows=8, batch_size=2, extra="      in_flight: 1\n")
        assert association.hub("run", "amal").code == 0
        assert association.outbox() == {"delivered": 8} and most[0] == 1


def test_compress_sends_gzip_and_the_same_bytes_on_every_retry(association):
    bodies = []

    def flaky(req):
        assert req.headers["Content-Encoding"] == "gzip"
        bodies.append(req.body)
        if len(bodies) == 1:
            return Response(503, {"detail": "restarting"})
        return _accept_all(_inflated(req))

    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", flaky)
        association.configure(server.url, "wh_t", rows=3, extra="      compress: true\n")
        assert association.hub("run", "amal").code == 0
    assert len(bodies) == 2 and bodies[0] == bodies[1]
    assert [r["id"] for r in json.loads(gzip.decompress(bodies[0]))["records"]] == ["D0000000", "D0000001", "D0000002"]
    assert association.outbox() == {"delivered": 3}


def _puller(server, tmp_path):
    """A wasl connection pulling donations from the scripted platform."""
    from connectors.wasl import WaslConnector
    from hub.sdk import ConnectorContext, StreamConfig

    streams = (StreamConfig("donations", "donation", options={}),)
    return WaslConnector({"url": server.url, "token": "wh_t"}, ConnectorContext(connection="p", base_dir=tmp_path, streams=streams))


def test_a_change_feed_of_the_wrong_shape_fails_the_pull_in_words(tmp_path):
    from hub import ConnectorError
    from hub.sdk import Cursor

    with TestServer() as server:
        conn = _puller(server, tmp_path)
        for page in ([1, 2], {"changes": [{"record": {}}]}, {"changes": [{"seq": "7", "record": {}}]}, {"items": []}):
            server.route("GET", "/api/v1/changes", lambda req, page=page: Response(200, page))
            with pytest.raises(ConnectorError, match="something other than a page of changes"):
                list(conn.streams()[0].read(Cursor(None)))
        conn.close()


def test_a_change_feed_that_says_more_but_moves_no_further_fails_the_pull(tmp_path):
    from hub import ConnectorError
    from hub.sdk import Cursor

    with TestServer() as server:
        server.route("GET", "/api/v1/changes", lambda req: Response(200, {"changes": [], "next_since": 7, "more": True}))
        conn = _puller(server, tmp_path)
        with pytest.raises(ConnectorError, match="more changes follow 7 but gave none"):
            list(conn.streams()[0].read(Cursor("7")))
        assert [q.path for q in server.requests if q.path != "/api/v1/token"] == ["/api/v1/changes"]  # one page, not asked again
        conn.close()
