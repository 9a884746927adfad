"""The public directory: what a donor reads without a token, and what it never shows.

Records are pushed over real HTTP to a platform hub; the directory is read back without a
token: active associations by governorate, sector and an Arabic name written another way,
their totals (Decimal sums), one association's account, and nothing of a donor or an account.
"""

from __future__ import annotations

import httpx

from tests.platform.test_reading import _push, _token

DONOR = "فاطمة علي الشامي"
ACCOUNT = "SY-LOCAL-0099-7731"


def _association(i: str, name_ar: str, name_en: str, *, status="active", governorate="SY01", served=(), sectors=()) -> dict:
    return {
        "id": i,
        "name_ar": name_ar,
        "name_en": name_en,
        "governorate": governorate,
        "governorates_served": list(served),
        "sectors": list(sectors),
        "status": status,
        "registration_number": f"REG-{i}",
        "bank_accounts": [{"scheme": "local", "value": ACCOUNT, "bank": "المصرف التجاري"}],
        "extra": {"contact_person": "أحمد"},
    }


def _gift(i: str, amount: str, status: str) -> dict:
    return {
        "id": i,
        "association_id": "amal",
        "amount": amount,
        "currency": "SYP",
        "donated_at": "2026-03-01T10:00:00+03:00",
        "channel": "bank_transfer",
        "status": status,
        "donor": {"name": DONOR, "account": ACCOUNT},
    }


def _load(api) -> dict:
    """Three associations (one suspended), amal's gifts, birr's distribution; the platform's token."""
    platform = _token(api)
    _push(
        api,
        platform,
        "association",
        [
            _association("amal", "جمعية الأمل الخيرية", "Al-Amal Charitable Association", served=["SY01", "SY02"], sectors=["orphan_care"]),
            _association("birr", "جمعية البر والإحسان", "Al-Birr Association", governorate="SY02", served=["SY07"], sectors=["health"]),
            _association("nour", "جمعية النور", "Al-Nour", status="suspended", served=["SY01"], sectors=["orphan_care"]),
        ],
    )
    _push(api, platform, "donation", [_gift("D1", "2500.25", "received"), _gift("D2", "0.75", "received"), _gift("D3", "100", "pledged")])
    _push(
        api,
        platform,
        "distribution",
        [
            {
                "id": "X1",
                "association_id": "birr",
                "sector": "health",
                "governorate": "SY07",
                "distributed_at": "2026-04-01T09:00:00+03:00",
                "households": 12,
                "individuals": 60,
                "value": "300000",
                "currency": "SYP",
            }
        ],
    )
    return platform


def _directory(api, path: str = "", **params) -> httpx.Response:
    return httpx.get(f"{api.url}/api/v1/public/associations{path}", params=params, timeout=30)  # no token


def test_a_donor_finds_active_associations_and_their_totals_without_a_token(api):
    _load(api)
    r = _directory(api)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "public, max-age=60"
    page = r.json()
    assert [a["id"] for a in page["items"]] == ["amal", "birr"], "a suspended association is not listed"
    amal = page["items"][0]
    assert amal["name_ar"] == "جمعية الأمل الخيرية" and amal["registration_number"] == "REG-amal"
    assert amal["totals"] == {
        "donations": 3,
        "given": {"SYP": "2601.00"},  # 2500.25 + 0.75 + 100, exactly
        "received": {"SYP": "2501.00"},
        "distributions": 0,
        "households": None,
        "individuals": None,
        "value": {},
    }
    assert page["items"][1]["totals"]["households"] == 12 and page["items"][1]["totals"]["value"] == {"SYP": "300000"}
    # What a donor never reads: a donor, an account number, an association's extra fields.
    for text in (r.text, _directory(api, "/amal").text):
        assert DONOR not in text and ACCOUNT not in text and "bank_accounts" not in text and "أحمد" not in text

    # Where, in what, and a name written with another hamza and without "ال".
    assert [a["id"] for a in _directory(api, governorate="SY02").json()["items"]] == ["amal", "birr"]  # amal serves SY02
    assert [a["id"] for a in _directory(api, sector="health").json()["items"]] == ["birr"]
    assert [a["id"] for a in _directory(api, name="امل").json()["items"]] == ["amal"]
    assert [a["id"] for a in _directory(api, name="BIRR").json()["items"]] == ["birr"]
    first = _directory(api, limit=1).json()
    assert [a["id"] for a in first["items"]] == ["amal"] and first["next"] == "amal"
    assert [a["id"] for a in _directory(api, limit=1, after=first["next"]).json()["items"]] == ["birr"]


def test_one_associations_page_gives_its_account_and_says_when_it_is_suspended(api):
    _load(api)
    amal = _directory(api, "/amal").json()
    assert amal["account"]["money_in"]["received"] == {"SYP": "2501.00"}
    assert amal["account"]["association"] == "amal" and amal["sectors"] == ["orphan_care"]
    nour = _directory(api, "/nour")
    assert nour.status_code == 200 and nour.json()["status"] == "suspended", "a donor given its id learns it is suspended"
    missing = _directory(api, "/amla")
    assert missing.status_code == 404 and missing.json()["detail"] == "no association 'amla' in this directory"
    assert _directory(api, "/D1").status_code == 404, "a donation's id is not an association"


def test_the_totals_follow_what_is_pushed(api):
    _load(api)
    assert _directory(api).json()["items"][0]["totals"]["donations"] == 3
    _push(api, _token(api, "amal"), "donation", [_gift("D4", "1000", "received")])
    after = _directory(api).json()["items"][0]["totals"]
    assert after["donations"] == 4 and after["received"] == {"SYP": "3501.00"}


def test_the_directory_is_off_unless_the_platform_publishes_it_and_each_address_has_its_rate(platform):
    platform.folder.write("hub.yaml", "store: sqlite:///hub.db\n")
    platform.start()
    off = httpx.get(f"{platform.url}/api/v1/public/associations", timeout=10)
    assert off.status_code == 404 and "api.public_directory is off" in off.json()["detail"]
    platform.stop()

    platform.folder.write(
        "hub.yaml", "store: sqlite:///hub.db\napi:\n  public_directory: true\n  rate_limit: {per_second: 0.01, burst: 2}\n"
    )
    platform.start()
    answers = [httpx.get(f"{platform.url}/api/v1/public/associations", timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert (
        answers[2].json()["detail"].startswith("client 127.0.0.1 sent more than 0.01 requests a second")
        and answers[2].headers["retry-after"]
    )


def test_a_donor_finds_the_programs_still_open_with_their_target_and_what_they_had(api):
    platform = _load(api)
    programs = [
        {
            "id": "P-WINTER",
            "association_id": "amal",
            "title_ar": "كسوة الشتاء",
            "title_en": "Winter clothing",
            "sector": "winterization",
            "governorates": ["SY02"],
            "status": "implementation",
            "start_date": "2026-01-10",
            "target_amount": "5000000",
            "currency": "SYP",
        },
        {"id": "P-OLD", "association_id": "amal", "title_ar": "رمضان ٢٠٢٥", "sector": "food_security", "status": "closed"},
        {"id": "P-NOUR", "association_id": "nour", "title_ar": "كفالة", "sector": "orphan_care", "status": "implementation"},
    ]
    assert _push(api, platform, "program", programs)["accepted"] == 3
    _push(api, platform, "donation", [{**_gift("D9", "250000", "received"), "program_id": "P-WINTER"}])

    page = httpx.get(f"{api.url}/api/v1/public/programs", timeout=30).json()  # no token
    assert [p["id"] for p in page["items"]] == ["P-WINTER"], "a closed program, or one of a suspended association, is not offered"
    winter = page["items"][0]
    assert winter["title_ar"] == "كسوة الشتاء" and winter["association_name_ar"] == "جمعية الأمل الخيرية"
    assert winter["target"] == {"SYP": "5000000"}
    assert winter["donations"] == {"count": 1, "given": {"SYP": "250000"}, "received": {"SYP": "250000"}}
    assert winter["distributions"]["count"] == 0
    assert DONOR not in str(page) and ACCOUNT not in str(page)

    def ids(**params) -> list[str]:
        return [p["id"] for p in httpx.get(f"{api.url}/api/v1/public/programs", params=params, timeout=30).json()["items"]]

    assert ids(governorate="SY02") == ["P-WINTER"] and ids(governorate="SY07") == []
    assert ids(sector="winterization") == ["P-WINTER"] and ids(sector="health") == []
    assert ids(name="الشتاء") == ["P-WINTER"] and ids(name="winter") == ["P-WINTER"] and ids(name="رمضان") == []
    assert ids(association="amal") == ["P-WINTER"] and ids(association="birr") == []
    bad = httpx.get(f"{api.url}/api/v1/public/programs", params={"sector": "winter"}, timeout=30)
    assert bad.status_code == 422 and "is not a sector of the common schema" in bad.json()["detail"]
