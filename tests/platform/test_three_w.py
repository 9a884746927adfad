"""The 3W (who does what where) of the distributions, HXL-tagged, as coordination reads it.

Distributions are pushed over real HTTP to a platform hub, then read back as CSV through the
token API, the public directory and ``hub report --3w``: one row per association, sector,
governorate and month, people added up (a count nobody made left empty), value per currency
and per epoch of the redenominated pound, HXL hashtags under the headers.
"""

from __future__ import annotations

import csv
import io

import httpx

from tests.platform.test_reading import _push, _token


def _aid(i: str, association: str, day: str, governorate: str, value: str, **people) -> dict:
    return {
        "id": i,
        "association_id": association,
        "sector": "food_security",
        "governorate": governorate,
        "distributed_at": f"{day}T09:00:00+03:00",
        "item": "سلة غذائية",
        "value": value,
        "currency": "SYP",
        **people,
    }


def _load(api) -> None:
    platform = _token(api)
    _push(
        api,
        platform,
        "association",
        [
            {"id": "amal", "name_ar": "جمعية الأمل", "name_en": "=1+1 Relief", "governorate": "SY02", "status": "active"},
            {"id": "birr", "name_ar": "جمعية البر", "governorate": "SY07", "status": "active"},
        ],
    )
    _push(
        api,
        platform,
        "distribution",
        [
            _aid("X1", "amal", "2025-11-20", "SY02", "300000", households=5),  # old pounds
            _aid("X2", "amal", "2026-02-03", "SY02", "1000.50", households=10, individuals=50, female=30, male=20, location="SY0200"),
            _aid("X3", "amal", "2026-02-27", "SY02", "99.50", households=2, location="SY020001"),  # a subdistrict of the same district
            _aid("X4", "birr", "2026-02-10", "SY07", "500", households=7),
        ],
    )


def _table(text: str) -> tuple[list[str], list[str], list[dict]]:
    headers, tags, *rows = list(csv.reader(io.StringIO(text)))
    return headers, tags, [dict(zip(headers, row, strict=True)) for row in rows]


def test_the_3w_adds_up_by_association_sector_governorate_and_month_with_hxl_tags(api):
    _load(api)
    reader, birr = _token(api, write=False), _token(api, "birr")
    r = httpx.get(f"{api.url}/api/v1/report/3w.csv", headers=reader, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    headers, tags, rows = _table(r.text)
    tag = dict(zip(headers, tags, strict=True))
    assert tag["Organisation code"] == "#org+impl+code" and tag["Governorate P-code"] == "#adm1+code"
    assert tag["Households reached"] == "#reached+hh" and tag["Value (SYP)"] == "#value+syp"
    assert tag["Value (SYP before 2026-01-01)"] == "#value+syp+before_2026_01_01", "the old pounds are a unit of their own"
    assert [(x["Organisation code"], x["From"], x["To"]) for x in rows] == [
        ("amal", "2025-11-01", "2025-11-30"),
        ("amal", "2026-02-01", "2026-02-28"),
        ("birr", "2026-02-01", "2026-02-28"),
    ]
    old, feb, birr_feb = rows
    assert old["Value (SYP before 2026-01-01)"] == "300000" and old["Value (SYP)"] == ""
    assert feb["Distributions"] == "2" and feb["Households reached"] == "12" and feb["Value (SYP)"] == "1100.00"
    assert feb["People reached"] == "50" and feb["Women and girls reached"] == "30", "only X2 counts people"
    assert birr_feb["People reached"] == "", "nobody counted is not nobody reached"
    assert feb["Organisation"] == "جمعية الأمل" and feb["Governorate"] == "Aleppo" and feb["Governorate (Arabic)"] == "حلب"
    assert feb["Cluster"] == "Food Security"
    assert (tag["District P-code"], feb["District P-code"], old["District P-code"]) == ("#adm2+code", "SY0200", ""), (
        "no location: no district"
    )
    assert feb["Organisation (English)"] == "'=1+1 Relief", "a name a spreadsheet would run as a formula is written as text"

    # An association's token: its own rows; another's are refused, not answered empty.
    own = httpx.get(f"{api.url}/api/v1/report/3w.csv", headers=birr, timeout=30)
    assert [x["Organisation code"] for x in _table(own.text)[2]] == ["birr"]
    other = httpx.get(f"{api.url}/api/v1/report/3w.csv", params={"association": "amal"}, headers=birr, timeout=30)
    assert other.status_code == 403
    # From and to narrow by the day distributed.
    this_year = httpx.get(f"{api.url}/api/v1/report/3w.csv", params={"from": "2026-01-01"}, headers=reader, timeout=30)
    assert [x["From"] for x in _table(this_year.text)[2]] == ["2026-02-01", "2026-02-01"]
    assert "Value (SYP before 2026-01-01)" not in _table(this_year.text)[0]


def test_the_public_3w_and_the_cli_give_the_same_table(api, folder):
    _load(api)
    tokened = httpx.get(f"{api.url}/api/v1/report/3w.csv", headers=_token(api, write=False), timeout=30).text
    public = httpx.get(f"{api.url}/api/v1/public/3w.csv", timeout=30)  # no token: the platform publishes its directory
    assert public.status_code == 200 and public.text == tokened
    assert public.headers["content-disposition"] == 'attachment; filename="3w.csv"'
    r = folder.hub("report", "--3w", "3w.csv")
    assert r.code == 0, r.err
    assert "wrote 3w.csv: 3 row(s) of who does what where" in r.out
    written = (folder.path / "3w.csv").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf"), "the mark Excel needs to read Arabic as UTF-8"
    assert written[3:].decode("utf-8") == tokened

    # Arabic headers for the association's staff; the hashtags and the rows are the same.
    arabic = httpx.get(f"{api.url}/api/v1/public/3w.csv", params={"lang": "ar"}, timeout=30).text
    headers, tags, rows = _table(arabic)
    assert headers[:2] == ["الجمعية", "الجمعية (بالإنجليزية)"] and "القيمة (SYP before 2026-01-01)" in headers
    assert arabic.splitlines()[1:] == tokened.splitlines()[1:]
    assert folder.hub("report", "--3w", "3w-ar.csv", "--lang", "ar").code == 0
    assert (folder.path / "3w-ar.csv").read_bytes()[3:].decode("utf-8") == arabic
