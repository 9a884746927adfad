"""Reading the platform: filters, pagination, the change feed, token scope, health and metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from hub.services import tokens


def _donation(i: int, association: str, day: int) -> dict:
    return {
        "id": f"D{i}",
        "association_id": association,
        "amount": f"{100 + i}.00",
        "currency": "SYP",
        "donated_at": f"2026-10-{day:02d}T10:00:00+03:00",
        "channel": "cash",
        "status": "received",
    }


def _distribution(i: int, association: str, governorate: str, sector: str) -> dict:
    return {
        "id": f"B{i}",
        "association_id": association,
        "sector": sector,
        "governorate": governorate,
        "distributed_at": "2026-10-05T09:00:00+03:00",
        "households": 3,
    }


def _token(api, association=None, *, read=True, write=True):
    t = tokens.create(
        api.hub, f"t-{association}-{read}-{write}", association=association, platform=association is None, read=read, write=write
    )
    return {"Authorization": f"Bearer {t['token']}"}


def _push(api, headers, entity, records):
    r = httpx.post(f"{api.url}/api/v1/{entity}/batch", json={"records": records}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_pages_follow_next_and_an_association_sees_only_its_own(api):
    amal, birr, platform = _token(api, "amal"), _token(api, "birr"), _token(api, write=False)
    _push(api, amal, "donation", [_donation(i, "amal", 1 + i % 28) for i in range(25)])
    _push(api, birr, "donation", [_donation(i, "birr", 3) for i in range(5)])
    seen, after = [], 0
    while True:
        page = httpx.get(f"{api.url}/api/v1/donation", params={"limit": 10, "after": after}, headers=platform).json()
        seen += [item["key"] for item in page["items"]]
        if page["next"] is None:
            break
        after = page["next"]
    assert len(seen) == 30 and len(set(seen)) == 30
    own = httpx.get(f"{api.url}/api/v1/donation", params={"limit": 100}, headers=birr).json()["items"]
    assert {i["record"]["association_id"] for i in own} == {"birr"} and len(own) == 5
    # Asking for another association's records by filter is refused in words, not answered empty.
    other = httpx.get(f"{api.url}/api/v1/donation", params={"association": "amal"}, headers=birr)
    assert other.status_code == 403 and "reads only association 'birr'" in other.json()["detail"]
    mine = httpx.get(f"{api.url}/api/v1/donation", params={"association": "birr"}, headers=birr).json()["items"]
    assert len(mine) == 5
    changes = httpx.get(f"{api.url}/api/v1/changes", params={"entity": "donation"}, headers=birr).json()
    assert len(changes["changes"]) == 5
    # Keys and versions alone, as a pushing hub compares them: the same scope, pages of their own.
    held = httpx.get(f"{api.url}/api/v1/versions/donation", params={"limit": 3}, headers=birr).json()
    assert [i["key"] for i in held["items"]] == ["birr|D0", "birr|D1", "birr|D2"] and held["next"] is not None
    assert held["items"][0] == {"key": "birr|D0", "version": 1, "source_version": None}
    rest = httpx.get(f"{api.url}/api/v1/versions/donation", params={"after": held["next"]}, headers=birr).json()
    assert [i["key"] for i in rest["items"]] == ["birr|D3", "birr|D4"] and rest["next"] is None
    refused = httpx.get(f"{api.url}/api/v1/versions/donation", params={"association": "amal"}, headers=birr)
    assert refused.status_code == 403


def test_filters_by_governorate_sector_and_dates(api):
    amal, platform = _token(api, "amal"), _token(api, write=False)
    _push(
        api,
        amal,
        "distribution",
        [
            _distribution(1, "amal", "SY01", "food_security"),
            _distribution(2, "amal", "SY02", "health"),
            _distribution(3, "amal", "SY01", "health"),
        ],
    )
    _push(api, amal, "donation", [_donation(1, "amal", 2), _donation(2, "amal", 10), _donation(3, "amal", 20)])

    def keys(entity, **params):
        r = httpx.get(f"{api.url}/api/v1/{entity}", params=params, headers=platform)
        assert r.status_code == 200, r.text
        return sorted(i["record"]["id"] for i in r.json()["items"])

    assert keys("distribution", governorate="SY01") == ["B1", "B3"]
    assert keys("distribution", sector="health") == ["B2", "B3"]
    assert keys("distribution", governorate="SY01", sector="health") == ["B3"]
    assert keys("donation", **{"from": "2026-10-05", "to": "2026-10-15"}) == ["D2"]
    assert keys("donation", **{"from": "2026-10-10"}) == ["D2", "D3"]
    r = httpx.get(f"{api.url}/api/v1/donation", params={"governorate": "SY01"}, headers=platform)
    assert r.status_code == 422 and "no governorate" in r.json()["detail"]
    r = httpx.get(f"{api.url}/api/v1/donation", params={"from": "2026-10-15", "to": "2026-10-05"}, headers=platform)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "from"
    # A governorate or sector no record can hold is named, not answered with an empty page.
    r = httpx.get(f"{api.url}/api/v1/distribution", params={"governorate": "SY15"}, headers=platform)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "governorate", r.text
    # In the schema's words, not as the regular expression it is checked with; the detail names it.
    assert r.json()["errors"][0]["message"] == "'SY15' is not a P-code from SY01 to SY14", r.text
    assert r.json()["detail"] == "the request's parameters are not valid: governorate: 'SY15' is not a P-code from SY01 to SY14"
    r = httpx.get(f"{api.url}/api/v1/donation", params={"association": " amal", "limit": 0}, headers=platform)
    assert r.status_code == 422 and r.json()["detail"].endswith("(and 1 more)"), r.text
    assert "' amal': expected 1 to 120 characters, no space at either end" in r.json()["detail"], r.text
    r = httpx.get(f"{api.url}/api/v1/distribution", params={"sector": "helth"}, headers=platform)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "sector" and "food_security" in r.json()["errors"][0]["message"]


def test_a_filtered_page_of_distributions_is_read_through_the_index_on_its_field(api):
    # Without one, a rare governorate read every distribution's JSON for one page (0.7 to 1.3 s
    # for 200,000 on PostgreSQL). The plan is the proof: an index is used only when the query
    # spells its expression exactly, and nothing else would notice one that does not.
    from hub.pipeline.prepare import canonical
    from hub.services.browse import Filters, page_query
    from hub.store.models import records_table
    from hub.store.records import Prepared, upsert_batch
    from hub.store.types import utcnow

    hub, dialect = api.hub, api.hub.store.dialect
    rows = []
    for i in range(6000):
        aid = _distribution(i, "amal", "SY14" if i % 1000 == 3 else f"SY{1 + i % 13:02d}", ["health", "wash"][i % 2])
        aid |= {"program_id": f"P{i % 30}", "distributed_at": f"2026-{1 + i % 12:02d}-05T09:00:00+03:00"}
        data, digest = canonical(aid)
        rows.append(Prepared(f"amal|{aid['id']}", data, digest, "amal"))
    with hub.store.engine.begin() as conn:
        upsert_batch(conn, "distribution", rows, connection="test", run_id=None, now=utcnow())
        if dialect == "postgresql":
            conn.exec_driver_sql("ANALYZE records")
    platform = tokens.Principal(0, "platform", None, can_read=True, can_write=False)
    asked = {
        "governorate": Filters(governorate="SY14"),
        "sector": Filters(sector="shelter"),
        "program_id": Filters(program="P99"),
    }
    explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
    for field, filters in asked.items():
        # Planned as the API's query is run: its parameters bound, and on PostgreSQL as a
        # prepared statement's generic plan, which knows none of their values.
        query = page_query(dialect, platform, "distribution", filters, [records_table.c.data], 0, 100)
        compiled = query.compile(hub.store.engine)
        params = tuple(compiled.params[k] for k in compiled.positiontup) if compiled.positiontup else compiled.params
        with hub.store.engine.connect() as conn:
            if dialect == "postgresql":
                conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + compiled.string, params))
        assert f"ix_records_distribution_{field}" in plan, (field, plan)
    # And the pages hold what the filters name.
    page = httpx.get(f"{api.url}/api/v1/distribution", params={"governorate": "SY14"}, headers=_token(api, write=False)).json()
    assert sorted(i["record"]["id"] for i in page["items"]) == sorted(f"B{i}" for i in range(3, 6000, 1000))


def test_a_record_with_a_nul_in_its_text_is_stored_and_found_by_every_filter(api):
    # JSON keeps a NUL as \u0000, which PostgreSQL refuses to read from JSON text: a filtered
    # listing of a table holding one such record failed whole, and with the filter indexes
    # the record's own insert would have.
    amal, platform = _token(api, "amal"), _token(api, write=False)
    aid = _distribution(1, "amal", "SY05", "health") | {"location_name": "حي\u0000الميدان", "program_id": "P1"}
    seat = {"id": "amal", "name_ar": "جمعية\u0000الأمل", "governorate": "SY01", "governorates_served": ["SY05"], "sectors": ["health"]}
    seat["status"] = "active"
    assert _push(api, amal, "distribution", [aid, _distribution(2, "amal", "SY01", "wash")])["accepted"] == 2
    assert _push(api, amal, "association", [seat])["accepted"] == 1

    def ids(entity, **params):
        r = httpx.get(f"{api.url}/api/v1/{entity}", params=params, headers=platform)
        assert r.status_code == 200, r.text
        return [i["record"]["id"] for i in r.json()["items"]]

    assert ids("distribution", governorate="SY05") == ids("distribution", sector="health") == ["B1"]
    assert ids("distribution", program="P1", **{"from": "2026-10-05", "to": "2026-10-05"}) == ["B1"]
    assert ids("association", governorate="SY05") == ids("association", sector="health") == ["amal"]
    [item] = httpx.get(f"{api.url}/api/v1/distribution", params={"governorate": "SY05"}, headers=platform).json()["items"]
    assert item["record"]["location_name"] == "حي\u0000الميدان", "the text is kept as written"


def test_a_misspelt_filter_is_refused_rather_than_ignored(api):
    amal = _token(api, "amal")
    _push(api, amal, "distribution", [_distribution(1, "amal", "SY01", "health"), _distribution(2, "amal", "SY02", "health")])
    r = httpx.get(f"{api.url}/api/v1/distribution", params={"governate": "SY01", "cursor": "5"}, headers=amal)
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["cursor", "governate"]
    assert "governorate" in r.json()["detail"] and "after" in r.json()["detail"]  # it says what the endpoint does take
    r = httpx.get(f"{api.url}/api/v1/changes", params={"after": "3"}, headers=amal)
    assert r.status_code == 422 and "since" in r.json()["detail"]
    r = httpx.post(f"{api.url}/api/v1/donation/batch?dry_run=1", json={"records": [_donation(1, "amal", 1)]}, headers=amal)
    assert r.status_code == 422 and "dry_run" in r.json()["detail"]
    with api.hub.store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from records").scalar() == 2  # the refused push stored nothing
    # A key parameter is the schema's identifier: a control character in it is named, never sent to the store.
    r = httpx.get(f"{api.url}/api/v1/donation", params={"association": "amal\x1b"}, headers=amal)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "association", r.text
    r = httpx.get(f"{api.url}/api/v1/donation/D%1b1", headers=amal)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "record_id", r.text
    # Operations endpoints stay lenient: a probe or scraper may add its own parameters.
    assert httpx.get(f"{api.url}/healthz", params={"probe": "1"}).status_code == 200


def test_associations_filter_on_the_governorates_they_serve(api):
    platform = _token(api)
    base = {"org_type": "22", "status": "active"}
    answer = _push(
        api,
        platform,
        "association",
        [
            {
                **base,
                "id": "amal",
                "name_ar": "جمعية الأمل",
                "governorate": "SY01",
                "governorates_served": ["SY01", "SY07"],
                "sectors": ["health"],
            },
            {**base, "id": "birr", "name_ar": "جمعية البر", "governorate": "SY02", "sectors": ["food_security"]},
        ],
    )
    assert answer["accepted"] == 2, answer
    got = httpx.get(f"{api.url}/api/v1/association", params={"governorate": "SY07"}, headers=platform).json()["items"]
    assert [i["record"]["name_ar"] for i in got] == ["جمعية الأمل"]
    got = httpx.get(f"{api.url}/api/v1/association", params={"sector": "food_security"}, headers=platform).json()["items"]
    assert [i["key"] for i in got] == ["birr"]
    # An association's token may write its own register entry, not another's.
    amal = _token(api, "amal")
    answer = _push(api, amal, "association", [{**base, "id": "birr", "name_ar": "تعديل", "governorate": "SY02"}])
    assert answer["rejected"] == 1 and answer["results"][0]["errors"][0]["rule"] == "scope"
    # Bank lines name an account, not an association: only the platform's own token writes them.
    line = {
        "id": "T1",
        "account": "SY0000000000000000000000001",
        "booking_date": "2026-10-01",
        "amount": "5.00",
        "currency": "SYP",
        "direction": "credit",
        "status": "booked",
    }
    answer = _push(api, amal, "bank_transaction", [line])
    assert (
        answer["results"][0]["errors"][0]["message"]
        == "bank_transaction records name no association, so only a platform token may write them"
    )
    assert _push(api, platform, "bank_transaction", [line])["accepted"] == 1


def test_one_record_is_read_by_its_key_within_the_tokens_scope(api):
    amal, birr, platform = _token(api, "amal"), _token(api, "birr"), _token(api, write=False)
    receipt = dict(_donation(0, "amal", 1), id="إيصال/٢٠٢٦/17")  # ids as associations write them: Arabic, slashes
    _push(api, amal, "donation", [_donation(1, "amal", 1), receipt])
    # The sender numbers its versions its own way (here 3); the platform keeps its own count.
    corrected = {"records": [dict(_donation(1, "amal", 1), amount="999.00")], "versions": [3]}
    assert httpx.post(f"{api.url}/api/v1/donation/batch", json=corrected, headers=amal).json()["accepted"] == 1
    _push(api, birr, "donation", [_donation(2, "birr", 1)])

    def get(path, headers, **params):
        return httpx.get(f"{api.url}/api/v1/{path}", params=params, headers=headers)

    mine = get("donation/D1", amal)  # an association's token reads its own: no association to name
    assert mine.status_code == 200, mine.text
    got = mine.json()
    assert (got["key"], got["version"], got["source_version"], got["record"]["amount"]) == ("amal|D1", 2, 3, "999.00")
    assert get("donation/D2", birr).json()["source_version"] is None  # sent without versions
    encoded = get("donation/" + quote(receipt["id"], safe=""), amal)
    assert encoded.status_code == 200 and encoded.json()["record"]["id"] == "إيصال/٢٠٢٦/17"
    # Another association's record: 404 to a token that may not read it, in the same words as a
    # record that does not exist, so ids cannot be probed; naming that association is a 403.
    assert get("donation/D1", birr).json()["detail"] == "no donation 'D1' of association 'birr' is stored here"
    assert get("donation/D1", birr).status_code == 404
    assert get("donation/D1", birr, association="amal").status_code == 403
    # A platform token reads any association's, and must say which: ids are per association.
    unnamed = get("donation/D1", platform)
    assert unnamed.status_code == 422 and "give ?association=" in unnamed.json()["detail"]
    assert get("donation/D2", platform, association="birr").json()["record"]["association_id"] == "birr"
    assert get("donation/D404", platform, association="amal").status_code == 404
    # Asked for by the key a listing names it with, it is told the address that reads it.
    whole = get("donation/" + quote("amal|D1", safe=""), platform)
    assert whole.status_code == 422 and whole.json()["detail"].endswith(
        "'amal|D1' reads as a whole key (association_id|id): ask for /api/v1/donation/D1?association=amal"
    )
    assert get("donation/" + quote("amal|D1", safe=""), amal).json()["detail"].endswith("ask for /api/v1/donation/D1?association=amal")
    misnamed = get("donations", platform)
    assert misnamed.status_code == 404 and misnamed.json()["detail"].startswith("unknown entity 'donations'; did you mean 'donation'?")
    # Bank lines are keyed by account; an association is keyed by its id alone.
    line = {"id": "T1", "account": "SY01", "booking_date": "2026-10-01", "amount": "5.00", "currency": "SYP", "direction": "credit"}
    assert _push(api, _token(api), "bank_transaction", [{**line, "status": "booked"}])["accepted"] == 1
    assert get("bank_transaction/T1", platform).status_code == 422
    assert get("bank_transaction/T1", platform, account="SY01").json()["record"]["amount"] == "5.00"
    assert get("bank_transaction/T1", amal, account="SY01").status_code == 404
    base = {"org_type": "22", "status": "active", "governorate": "SY01"}
    _push(api, amal, "association", [{**base, "id": "amal", "name_ar": "جمعية الأمل"}])
    assert get("association/amal", amal).json()["record"]["name_ar"] == "جمعية الأمل"
    assert get("association/amal", platform, association="amal").status_code == 422  # not part of its key
    assert get("association/amal", birr).status_code == 404


def test_the_change_feed_returns_each_version_once_in_commit_order(api):
    amal, reader = _token(api, "amal"), _token(api, write=False)
    _push(api, amal, "donation", [_donation(i, "amal", 1) for i in range(6)])
    feed = httpx.get(f"{api.url}/api/v1/changes", params={"limit": 4}, headers=reader).json()
    assert len(feed["changes"]) == 4 and feed["more"] is True
    rest = httpx.get(f"{api.url}/api/v1/changes", params={"since": feed["next_since"]}, headers=reader).json()
    assert len(rest["changes"]) == 2 and rest["more"] is False
    _push(api, amal, "donation", [dict(_donation(0, "amal", 1), amount="999.00")])
    later = httpx.get(f"{api.url}/api/v1/changes", params={"since": rest["next_since"]}, headers=reader).json()
    assert [(c["key"], c["version"], c["record"]["amount"]) for c in later["changes"]] == [("amal|D0", 2, "999.00")]


def test_rights_are_enforced(api):
    read_only = _token(api, "amal", write=False)
    write_only = _token(api, "amal", read=False)
    r = httpx.post(f"{api.url}/api/v1/donation/batch", json={"records": [_donation(1, "amal", 1)]}, headers=read_only)
    assert r.status_code == 403 and "no write right" in r.json()["detail"]
    r = httpx.get(f"{api.url}/api/v1/donation", headers=write_only)
    assert r.status_code == 403
    assert httpx.get(f"{api.url}/api/v1/token", headers=write_only).json()["write"] is True


def test_a_token_tells_its_expiry_and_a_revoked_one_is_not_told_apart_from_an_unknown_one(api):
    lapsing = tokens.create(api.hub, "lapsing", association="amal", platform=False, read=True, write=False, expires_in=timedelta(days=30))
    headers = {"Authorization": f"Bearer {lapsing['token']}"}
    me = httpx.get(f"{api.url}/api/v1/token", headers=headers).json()
    assert me["expires_at"] == lapsing["expires_at"]
    assert datetime.fromisoformat(me["expires_at"]) - datetime.now(UTC) > timedelta(days=29)
    assert httpx.get(f"{api.url}/api/v1/token", headers=_token(api, "amal")).json()["expires_at"] is None
    tokens.revoke(api.hub, lapsing["id"])
    refused = httpx.get(f"{api.url}/api/v1/token", headers=headers)
    assert refused.status_code == 401 and refused.json()["detail"] == "the token is unknown or has been revoked"
    unknown = httpx.get(f"{api.url}/api/v1/token", headers={"Authorization": "Bearer wh_not-a-token"})
    assert unknown.json()["detail"] == refused.json()["detail"]


def test_a_token_is_given_a_grace_period_renewed_or_made_lasting_from_the_cli(api, folder):
    old = tokens.create(api.hub, "amal-old", association="amal", platform=False, read=True, write=False)
    headers = {"Authorization": f"Bearer {old['token']}"}
    # Rotation: the hub moves to a new token; the old one keeps working a week, then lapses.
    r = folder.hub("tokens", "expire", str(old["id"]), "--in", "7")
    assert r.code == 0 and "is accepted until" in r.out, r.err
    lapses = datetime.fromisoformat(httpx.get(f"{api.url}/api/v1/token", headers=headers).json()["expires_at"])
    assert timedelta(days=6, hours=23) < lapses - datetime.now(UTC) <= timedelta(days=7)
    assert folder.hub("tokens", "expire", str(old["id"]), "--never").code == 0
    assert httpx.get(f"{api.url}/api/v1/token", headers=headers).json()["expires_at"] is None
    for wrong in ((), ("--in", "7", "--never"), ("--in", "0")):
        refused = folder.hub("tokens", "expire", str(old["id"]), *wrong)
        assert refused.code == 2 and "Traceback" not in refused.err, refused.err
    tokens.revoke(api.hub, old["id"])
    revived = folder.hub("tokens", "expire", str(old["id"]), "--in", "30")
    assert revived.code == 2 and "is revoked; create a new one instead" in revived.err
    assert httpx.get(f"{api.url}/api/v1/token", headers=headers).status_code == 401
    trail = [a["detail"] for a in json.loads(folder.hub("audit", "list", "--json").out) if a["action"] == "token.expire"]
    assert [(d["expires_at"] is None, d["was"] is None) for d in trail] == [(True, False), (False, True)]  # newest first


def test_health_readiness_and_metrics(api):
    amal = _token(api, "amal")
    _push(api, amal, "donation", [_donation(1, "amal", 1), {"id": "broken"}])
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{api.url}/readyz").json() == {"status": "ready"}
    text = httpx.get(f"{api.url}/metrics").text
    assert 'wasl_records{entity="donation"} 1.0' in text
    assert 'wasl_ingested_records_total{entity="donation",status="accepted"} 1.0' in text
    assert 'wasl_ingested_records_total{entity="donation",status="rejected"} 1.0' in text
    assert 'wasl_quarantine_open{connection="api:t-amal-True-True"} 1.0' in text
    assert 'wasl_http_request_seconds_count{route="/api/v1/{entity}/batch"}' in text
    # Requests are counted by route template and status, refused ones and unknown paths too.
    assert httpx.get(f"{api.url}/api/v1/donation").status_code == 401
    assert httpx.get(f"{api.url}/no/such/path/42").status_code == 404
    text = httpx.get(f"{api.url}/metrics").text
    assert 'wasl_http_requests_total{method="POST",route="/api/v1/{entity}/batch",status="200"} 1.0' in text
    assert 'wasl_http_requests_total{method="GET",route="/api/v1/{entity}",status="401"} 1.0' in text
    assert 'wasl_http_requests_total{method="GET",route="(unmatched)",status="404"} 1.0' in text
    doc = httpx.get(f"{api.url}/openapi.json").json()
    assert "/api/v1/{entity}/batch" in doc["paths"] and "/api/v1/changes" in doc["paths"]


def test_a_store_kept_busy_by_another_writer_answers_503_then_takes_the_retry(tmp_path, monkeypatch):
    """SQLite: a long writer (a big sync) holds the store past the wait; the request is not held without end."""
    from hub.app import Hub
    from tests.platform.conftest import ApiThread

    monkeypatch.delenv("HUB_STORE", raising=False)
    (tmp_path / "hub.yaml").write_text("store: sqlite:///hub.db\n", encoding="utf-8")
    hub = Hub.from_path(tmp_path / "hub.yaml")
    hub.store.write_wait = 0.3
    served = ApiThread(hub)
    try:
        headers = _token(served, "amal")
        with hub.store.writing("records:donation"):
            r = httpx.post(f"{served.url}/api/v1/donation/batch", json={"records": [_donation(1, "amal", 1)]}, headers=headers)
            assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
            # Readers are not held either: the token's last-used hint is skipped, not waited for.
            r = httpx.get(f"{served.url}/api/v1/donation", headers=headers, timeout=5)
            assert r.status_code == 200 and r.json()["items"] == []
        assert _push(served, headers, "donation", [_donation(1, "amal", 1)])["accepted"] == 1
        assert tokens.list_tokens(hub)[0]["last_used_at"] is not None  # recorded once the store was free
    finally:
        served.stop()
        hub.close()
