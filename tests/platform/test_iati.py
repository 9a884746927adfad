"""The programs as IATI activities (2.03 XML), as funders' tools read them.

Programs, donations and distributions are pushed over real HTTP to a platform hub, then read
back through the token API, the public directory and ``hub report --iati``. Every file is
checked against the IATI 2.03 activities schema as IATI publishes it (the pyIATI package's
copy), then read: transactions added up per month, per currency and per epoch of the
redenominated pound, each dated in its own epoch; never a donor.
"""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import httpx
import xmlschema

from tests.platform.test_reading import _push, _token

DONOR = "فاطمة الحسن"
EN = {"{http://www.w3.org/XML/1998/namespace}lang": "en"}


@cache
def iati_schema() -> xmlschema.XMLSchema:
    """IATI's own 2.03 activities schema, from the pyIATI package's resources (its code is not imported)."""
    spec = importlib.util.find_spec("iati")
    assert spec is not None, "the tests need pyIATI's schema files: make installs them (pip install --no-deps pyIATI)"
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources" / "standard" / "2-03" / "schemas"
    return xmlschema.XMLSchema(str(folder / "iati-activities-schema.xsd"))


def _valid(xml: bytes) -> ET.Element:
    errors = [str(e.reason) for e in iati_schema().iter_errors(xml.decode("utf-8"))]
    assert errors == [], errors
    return ET.fromstring(xml)


def _donation(i: str, program: str | None, day: str, amount: str, status: str, **more) -> dict:
    record = {
        "id": i,
        "association_id": "amal",
        "donor": {"name": DONOR},
        "amount": amount,
        "currency": "SYP",
        "donated_at": f"{day}T10:00:00+03:00",
        "channel": "bank_transfer",
        "status": status,
        **more,
    }
    if program:
        record["program_id"] = program
    return record


def _store(api, headers, entity, records) -> None:
    answer = _push(api, headers, entity, records)
    assert answer["accepted"] == len(records), answer


def _load(api) -> None:
    platform = _token(api)
    _store(
        api,
        platform,
        "association",
        [
            {
                "id": "amal",
                "registration_number": "1234",
                "name_ar": "جمعية الأمل",
                "name_en": "Amal",
                "org_type": "22",
                "governorate": "SY02",
                "status": "active",
            },
            {"id": "birr", "name_ar": "جمعية البر", "governorate": "SY07", "status": "active"},
        ],
    )
    _store(
        api,
        platform,
        "program",
        [
            {
                "id": "WINTER",
                "association_id": "amal",
                "title_ar": "كسوة الشتاء",
                "title_en": "Winter clothing",
                "description": "ملابس شتوية للأطفال في حلب وإدلب",
                "sector": "nfi",
                "governorates": ["SY02", "SY07"],
                "status": "implementation",
                "start_date": "2025-10-01",
                "end_date": "2026-03-31",
                "target_amount": "50000",
                "currency": "SYP",
            },
            {"id": "WELLS", "association_id": "amal", "title_ar": "حفر الآبار", "status": "pipeline"},  # no date: from its first gift
            {"id": "SCHOOL", "association_id": "amal", "title_en": "School kits", "status": "pipeline"},  # no date, no gift
            {"id": "BREAD", "association_id": "birr", "title_ar": "الخبز", "status": "implementation", "start_date": "2026-01-01"},
        ],
    )
    _store(
        api,
        platform,
        "donation",
        [
            _donation("D1", "WINTER", "2025-11-20", "250000", "pledged"),  # old pounds, still a pledge
            _donation("D2", "WINTER", "2026-02-03", "2500", "received"),
            _donation("D3", "WINTER", "2026-02-10", "1000", "pledged", received_amount="400"),  # part of it came in
            _donation("D4", "WINTER", "2026-02-12", "700", "refunded"),  # given back: in no sum
            _donation("D5", "WELLS", "2026-03-05", "300", "received"),
            _donation("D6", "GHOST", "2026-03-05", "300", "received"),  # a program not stored
            _donation("D7", None, "2026-03-05", "900", "received"),  # to the association: no program's
        ],
    )
    _store(
        api,
        platform,
        "distribution",
        [
            {
                "id": "X1",
                "association_id": "amal",
                "program_id": "WINTER",
                "sector": "nfi",
                "governorate": "SY02",
                "distributed_at": "2026-02-20T09:00:00+03:00",
                "value": "1800.50",
                "currency": "SYP",
            }
        ],
    )


def _activities(root: ET.Element) -> dict[str, ET.Element]:
    return {a.findtext("iati-identifier"): a for a in root.findall("iati-activity")}


def _transactions(activity: ET.Element) -> list[tuple[str, str, str, str, str]]:
    return [
        (
            t.find("transaction-type").get("code"),
            t.find("transaction-date").get("iso-date"),
            *(t.find("value").get(k) for k in ("currency", "value-date")),
            t.findtext("value"),
        )
        for t in activity.findall("transaction")
    ]


def test_each_program_is_an_iati_activity_with_its_money_by_month_and_epoch(api):
    _load(api)
    r = httpx.get(f"{api.url}/api/v1/report/iati.xml", headers=_token(api, write=False), timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/xml"
    root = _valid(r.content)
    assert root.get("version") == "2.03"
    found = _activities(root)
    assert sorted(found) == ["ZZ-REG-1234-WELLS", "ZZ-REG-1234-WINTER", "birr-BREAD"], (
        "the registration agency's code, or the platform's id"
    )

    winter = found["ZZ-REG-1234-WINTER"]
    assert winter.find("reporting-org").get("ref") == "ZZ-REG-1234" and winter.find("reporting-org").get("type") == "22"
    assert [n.text for n in winter.find("title")] == ["كسوة الشتاء", "Winter clothing"], "Arabic as written, English marked"
    assert winter.find("title")[1].attrib == EN
    assert winter.find("participating-org").get("role") == "4"
    assert winter.find("activity-status").get("code") == "2"
    assert [(d.get("type"), d.get("iso-date")) for d in winter.findall("activity-date")] == [("2", "2025-10-01"), ("3", "2026-03-31")]
    assert [(loc.get("ref"), loc.find("name")[1].text) for loc in winter.findall("location")] == [("SY02", "Aleppo"), ("SY07", "Idleb")]
    assert [(s.get("vocabulary"), s.get("code")) for s in winter.findall("sector")] == [("1", "72010"), ("99", "nfi")]
    budget = winter.find("budget/value")
    assert (budget.text, budget.get("currency"), budget.get("value-date")) == ("50000", "SYP", "2025-10-01")
    assert _transactions(winter) == [
        ("13", "2025-11-20", "SYP", "2025-11-20", "250000"),  # old pounds, dated in their epoch
        ("1", "2026-02-10", "SYP", "2026-02-10", "2900"),  # 2,500 received and 400 of the 1,000 pledged
        ("13", "2026-02-10", "SYP", "2026-02-10", "600"),  # what is still a pledge
        ("4", "2026-02-20", "SYP", "2026-02-20", "1800.50"),
    ]
    said = [t.find("description")[1].text for t in winter.findall("transaction")]
    assert said[1] == "Donations received: 2 (2026-02)"

    wells = found["ZZ-REG-1234-WELLS"]
    assert [(d.get("type"), d.get("iso-date")) for d in wells.findall("activity-date")] == [("1", "2026-03-05")], (
        "a program in the pipeline starts when planned"
    )
    assert [n.text for n in wells.find("description")] == ["حفر الآبار"], "the schema wants a description: the title stands in"
    assert DONOR.encode() not in r.content, "sums, never a donor"


def test_an_association_reads_its_own_programs_and_a_date_range_narrows_the_money(api):
    _load(api)
    amal, birr = _token(api, "amal"), _token(api, "birr")
    mine = _activities(_valid(httpx.get(f"{api.url}/api/v1/report/iati.xml", headers=amal, timeout=30).content))
    assert sorted(mine) == ["ZZ-REG-1234-WELLS", "ZZ-REG-1234-WINTER"]
    other = httpx.get(f"{api.url}/api/v1/report/iati.xml", params={"association": "amal"}, headers=birr, timeout=30)
    assert other.status_code == 403, other.text

    r = httpx.get(f"{api.url}/api/v1/report/iati.xml", params={"from": "2026-01-01"}, headers=amal, timeout=30)
    winter = _activities(_valid(r.content))["ZZ-REG-1234-WINTER"]
    assert [t[0] for t in _transactions(winter)] == ["1", "13", "4"], "the 2025 pledge is outside the range; the program is not"

    none = httpx.get(f"{api.url}/api/v1/report/iati.xml", params={"program": "SCHOOL"}, headers=amal, timeout=30)
    assert none.status_code == 404 and "no start date, and no donation or distribution yet" in none.json()["detail"], none.text


def test_the_public_directory_and_the_command_line_give_the_same_activities(api, folder):
    _load(api)
    public = httpx.get(f"{api.url}/api/v1/public/iati.xml", timeout=30)
    assert public.status_code == 200 and public.headers["cache-control"] == "public, max-age=60"
    assert sorted(_activities(_valid(public.content))) == ["ZZ-REG-1234-WELLS", "ZZ-REG-1234-WINTER", "birr-BREAD"]
    assert DONOR.encode() not in public.content

    r = folder.hub("report", "--iati", "iati.xml")
    assert r.code == 0, r.err
    assert "wrote iati.xml: 3 program(s) as IATI activities" in r.out
    assert "left out: program 'GHOST' of 'amal': named by donations or distributions, but not stored" in r.err
    assert "left out: program 'SCHOOL' of 'amal': no start date" in r.err
    assert sorted(_activities(_valid((folder.path / "iati.xml").read_bytes()))) == sorted(_activities(ET.fromstring(public.content)))

    nothing = folder.hub("report", "--iati", "none.xml", "--association", "nobody")
    assert nothing.code == 1 and "no stored program to write as an IATI activity" in nothing.err and "Traceback" not in nothing.err
    assert not (folder.path / "none.xml").exists()
