"""The account an association gives: where the money came from and what aid it became.

Records are pushed over real HTTP to a platform hub, then read back added up, through
``GET /api/v1/report`` and ``hub report``: Decimal sums, the redenominated pound's two epochs
kept apart, counts nobody made left null, the token's scope, and the filters.
"""

from __future__ import annotations

import json
import re

import httpx

from tests.platform.test_reading import _push as _post
from tests.platform.test_reading import _token

OLD = "SYP before 2026-01-01"


def _gift(i: str, day: str, amount: str, status: str, *, association="amal", currency="SYP", channel="cash", **more) -> dict:
    return {
        "id": i,
        "association_id": association,
        "amount": amount,
        "currency": currency,
        "donated_at": f"{day}T10:00:00+03:00",
        "channel": channel,
        "status": status,
        **more,
    }


def _aid(i: str, day: str, governorate: str, sector: str, value: str, **more) -> dict:
    return {
        "id": i,
        "association_id": "amal",
        "sector": sector,
        "governorate": governorate,
        "distributed_at": f"{day}T09:00:00+03:00",
        "value": value,
        "currency": "SYP",
        **more,
    }


def _load(api) -> dict:
    """amal: a program begun in 2025, gifts in both epochs and in dollars, two distributions; birr: one gift."""
    amal, birr = _token(api, "amal"), _token(api, "birr")
    program = {
        "id": "P-WINTER",
        "association_id": "amal",
        "title_ar": "كسوة الشتاء",
        "status": "implementation",
        "start_date": "2025-11-01",
        "target_amount": "5000000",
        "currency": "SYP",
    }
    _push(api, amal, "program", [program])
    _push(
        api,
        amal,
        "donation",
        [
            _gift("D1", "2025-12-20", "250000", "pledged", program_id="P-WINTER", channel="bank_transfer"),
            _gift("D2", "2026-02-01", "2500", "received", received_amount="2500", channel="bank_transfer"),
            _gift("D3", "2026-03-01", "0.10", "received"),
            _gift("D4", "2026-03-02", "0.20", "received"),
            _gift("D5", "2026-03-03", "100", "pledged", currency="USD", received_amount="40", channel="bank_transfer"),
            _gift("D6", "2026-03-04", "999", "cancelled"),
        ],
    )
    _push(
        api,
        amal,
        "distribution",
        [
            _aid("X1", "2026-04-01", "SY01", "food_security", "1000.50", households=10, individuals=50, program_id="P-WINTER"),
            _aid("X2", "2025-11-15", "SY02", "health", "300000", households=5),
        ],
    )
    _push(api, birr, "donation", [_gift("E1", "2026-05-01", "7", "received", association="birr")])
    return {"amal": amal, "birr": birr, "platform": _token(api, write=False)}


def _push(api, headers, entity, records) -> None:
    answer = _post(api, headers, entity, records)
    assert answer["accepted"] == len(records), answer


def _report(api, headers, **params) -> httpx.Response:
    return httpx.get(f"{api.url}/api/v1/report", params=params, headers=headers, timeout=30)


def test_an_association_accounts_for_its_money_and_aid_in_decimals_and_in_each_epoch(api, folder):
    tokens = _load(api)
    r = _report(api, tokens["amal"])
    assert r.status_code == 200, r.text
    account = r.json()
    assert account["association"] == "amal"
    money = account["money_in"]
    # Six gifts of amal's, none of birr's. Given: pledged and received, the cancelled one not;
    # 0.10 + 0.20 is 0.30 exactly, and the 2025 pledge is old pounds, apart from the new ones.
    assert money["count"] == 6
    assert money["given"] == {"SYP": "2500.30", OLD: "250000", "USD": "100"}
    # Received: a received gift's amount (cash) or what reconciliation matched (the dollars' 40 of 100).
    assert money["received"] == {"SYP": "2500.30", "USD": "40"}
    statuses = {row["status"]: row for row in money["by_status"]}
    assert statuses["cancelled"] == {"status": "cancelled", "count": 1, "given": {}, "received": {}}
    assert statuses["pledged"]["given"] == {OLD: "250000", "USD": "100"}
    channels = {row["channel"]: row["count"] for row in money["by_channel"]}
    assert channels == {"bank_transfer": 3, "cash": 3}
    assert [row["association_id"] for row in money["by_association"]] == ["amal"]

    aid = account["aid_out"]
    assert aid["count"] == 2 and aid["households"] == 15
    assert aid["individuals"] == 50  # only X1 counts people
    assert aid["female"] is None and aid["male"] is None  # no record counts them: not 0
    assert aid["value"] == {"SYP": "1000.50", OLD: "300000"}
    assert {row["governorate"]: row["households"] for row in aid["by_governorate"]} == {"SY01": 10, "SY02": 5}
    health = next(row for row in aid["by_sector"] if row["sector"] == "health")
    assert health["individuals"] is None and health["value"] == {OLD: "300000"}

    programs = {p["id"]: p for p in account["programs"]}
    winter = programs["P-WINTER"]
    assert winter["stored"] and winter["title_ar"] == "كسوة الشتاء"  # Arabic as written
    assert winter["target"] == {OLD: "5000000"}  # the target is in the pounds of its start
    assert winter["donations"] == {"count": 1, "given": {OLD: "250000"}, "received": {}}
    assert winter["distributions"]["count"] == 1 and winter["distributions"]["value"] == {"SYP": "1000.50"}
    assert programs[None]["donations"]["count"] == 5 and not programs[None]["stored"]

    # The filters: a date range, one program; the listing API takes the program too.
    this_year = _report(api, tokens["amal"], **{"from": "2026-01-01"}).json()
    assert this_year["money_in"]["given"] == {"SYP": "2500.30", "USD": "100"}
    assert this_year["aid_out"]["value"] == {"SYP": "1000.50"}
    assert this_year["programs"][0]["target"] == {OLD: "5000000"}  # listed whatever its start
    one = _report(api, tokens["amal"], program="P-WINTER").json()
    assert one["money_in"]["count"] == 1 and one["aid_out"]["count"] == 1
    assert [p["id"] for p in one["programs"]] == ["P-WINTER"]
    listed = httpx.get(f"{api.url}/api/v1/donation", params={"program": "P-WINTER"}, headers=tokens["amal"]).json()
    assert [i["key"] for i in listed["items"]] == ["amal|D1"]


def test_the_account_keeps_to_the_tokens_scope_and_the_cli_gives_the_same(api, folder):
    tokens = _load(api)
    refused = _report(api, tokens["amal"], association="birr")
    assert refused.status_code == 403 and "reads only association 'amal'" in refused.json()["detail"]
    birr = _report(api, tokens["birr"]).json()
    assert birr["money_in"]["count"] == 1 and birr["aid_out"]["count"] == 0 and birr["programs"][0]["id"] is None

    everyone = _report(api, tokens["platform"])
    assert everyone.status_code == 200
    whole = everyone.json()
    assert whole["association"] is None
    assert {row["association_id"]: row["count"] for row in whole["money_in"]["by_association"]} == {"amal": 6, "birr": 1}
    assert whole["money_in"]["given"]["SYP"] == "2507.30"
    assert _report(api, tokens["platform"], association="birr").json()["money_in"] == birr["money_in"]

    nonsense = _report(api, tokens["platform"], **{"from": "2026-05-01", "to": "2026-01-01"})
    assert nonsense.status_code == 422 and "the range would hold nothing" in nonsense.json()["detail"]
    misspelt = _report(api, tokens["platform"], governorate="SY01")
    assert misspelt.status_code == 422 and "unknown query parameter(s) governorate" in misspelt.json()["detail"]
    unread = _report(api, _token(api, "amal", read=False))
    assert unread.status_code == 403

    # The hub's admin at its console reads the very same account.
    cli = folder.hub("report", "--json")
    assert cli.code == 0, cli.err
    assert json.loads(cli.out) == whole
    shown = folder.hub("report", "--association", "amal")
    assert shown.code == 0, shown.err
    flat = " ".join(re.sub("[│┃]", " ", shown.out).split())
    assert "2,500.3 SYP" not in flat and "2,500.30 SYP" in flat and f"250,000 {OLD}" in flat
    assert "كسوة الشتاء" in flat and "P-WINTER" in flat and "warning" not in shown.err
    # A mistyped association would add up to nothing, read as an association given nothing.
    mistyped = folder.hub("report", "--association", "amla")
    assert mistyped.code == 0 and "no record in this store belongs to association 'amla'; did you mean 'amal'?" in mistyped.err
    backwards = folder.hub("report", "--from", "2026-05-01", "--to", "2026-01-01")
    assert backwards.code != 0 and "the range would hold nothing" in backwards.err and "Traceback" not in backwards.err
