"""The ``wasl`` destination against a scripted platform: what is retried, what is not, and how."""

from __future__ import annotations

import json
import time

from hub.testing.server import Response, TestServer


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
        posts = [q for q in server.requests if q.method == "POST"]
        assert len(posts) == 4
        assert len({q.headers["Idempotency-Key"] for q in posts}) == 1
        assert len({q.body for q in posts}) == 1
        assert seen[1] - seen[0] >= 1.0, "Retry-After: 1 was not honoured"
        assert posts[0].json()["versions"] == [1, 1, 1]
        assert posts[0].headers["Authorization"] == "Bearer wh_scripted-token"
        assert association.outbox() == {"delivered": 3}


def test_a_platform_that_stays_down_defers_the_batch_to_the_next_run(association):
    with TestServer() as server:
        server.route("POST", "/api/v1/donation/batch", lambda req: Response(503, {"detail": "down"}))
        association.configure(server.url, "wh_t", rows=3, retries=2)
        r = association.hub("run", "amal", "--json")
        run = json.loads(r.out)["runs"][0]
        assert run["status"] == "partial" and any("deferred" in f for f in run["flags"])
        assert len(server.requests) == 3  # the first try and two retries
        assert association.outbox() == {"pending": 3}
        server.route("POST", "/api/v1/donation/batch", _accept_all)
        association.execute("update outbox set next_attempt_at = null")  # skip the wait for the backoff
        assert association.hub("run", "amal").code == 0
        assert association.outbox() == {"delivered": 3}


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
                    "detail": "versions must be positive",
                    "errors": [{"path": "versions", "rule": "type", "message": "one positive integer per record"}],
                },
            ),
        )
        association.configure(server.url, "wh_t", rows=4, retries=5)
        r = association.hub("run", "amal")
        assert r.code == 1
        assert len(server.requests) == 1
        assert association.outbox() == {"rejected": 4}
        q = json.loads(association.hub("quarantine", "list", "--json").out)
        assert len(q) == 4
        entry = json.loads(association.hub("quarantine", "show", str(q[0]["id"]), "--json").out)
        messages = " ".join(e["message"] for e in entry["errors"])
        assert "422" in messages and "versions must be positive" in messages and "one positive integer" in messages
        assert entry["raw"]["id"].startswith("D")


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
