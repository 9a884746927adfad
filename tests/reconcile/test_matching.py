"""Matching, as an accountant would check it: exact sets of matched, suggested, unmatched and ignored lines."""

from __future__ import annotations

import json

import pytest

from tests.reconcile.builders import Line, camt053, camt054, mt940


def donation(id, amount, ccy, date, ref=None, name=None, account=None, status="pledged", assoc="A1"):
    d = {
        "id": id,
        "association_id": assoc,
        "amount": amount,
        "currency": ccy,
        "donated_at": f"{date}T10:00:00+03:00",
        "channel": "bank_transfer",
        "status": status,
    }
    if ref:
        d["reference"] = ref
    donor = {k: v for k, v in (("name", name), ("account", account)) if v}
    if donor:
        d["donor"] = donor
    return d


DONATIONS = [
    donation("D-REF", "100", "USD", "2026-10-01", ref="AMAL-1001", name="Sami Haddad"),
    donation("D-FEE", "200", "USD", "2026-10-01", ref="AMAL-1002"),
    donation("D-M1", "50", "USD", "2026-09-01", ref="AMAL-1003"),
    donation("D-M2", "70", "USD", "2026-09-15", ref="AMAL-1004"),
    donation("D-PART", "300", "USD", "2026-10-01", ref="AMAL-1005"),
    donation("D-OVER", "100", "USD", "2026-10-01", ref="AMAL-1006"),
    donation("D-ACCT", "75", "USD", "2026-10-02", name="Lina Khoury", account="DE89370400440532013000"),
    donation("D-NAME", "45", "USD", "2026-10-05", name="محمد علي الحلبي"),
    donation("D-TIE1", "40", "USD", "2026-10-02", name="عمر خالد"),
    donation("D-TIE2", "40", "USD", "2026-10-03", name="Omar Khaled"),
    donation("D-CUR", "100", "EUR", "2026-10-01", ref="AMAL-1010"),
    donation("D-AR", "65", "USD", "2026-10-01", ref="AMAL-1008"),
    donation("D-REV", "80", "USD", "2026-10-01", ref="AMAL-1012"),
    donation("D-PAID", "90", "USD", "2026-09-01", ref="AMAL-1013", status="received"),
    donation("D-AHMAD", "55", "USD", "2026-10-01", name="Mohammad Ahmad"),
]

LINES = [
    Line("T-REF", "100.00", name="SAMI HADDAD", ustrd=["Donation AMAL 1001 thanks"]),
    Line("T-FEE", "197.50", ustrd=["amal-1002"]),
    Line("T-MULTI", "120", ustrd=["AMAL-1003 + AMAL-1004"]),
    Line("T-PART", "150", ustrd=["AMAL1005 first half"]),
    Line("T-OVER", "150", ustrd=["AMAL-1006"]),
    Line("T-ACCT", "75", name="L KHOURY", iban="DE89370400440532013000", ustrd=["monthly"]),
    Line("T-NAME", "45", name="MOHAMMAD ALI ALHALABI", booked="2026-10-07"),
    Line("T-TIE", "40", name="OMAR KHALED"),
    Line("T-CUR", "100", ustrd=["AMAL-1010"]),
    Line("T-AR", "65", ustrd=["تبرع رقم AMAL-١٠٠٨"]),
    Line("T-DEBIT", "12", direction="DBIT", ustrd=["AMAL-1001"]),
    Line("T-PAID", "90", ustrd=["AMAL-1013"]),
    Line("T-NOBODY", "33", name="Nobody Known"),
    Line("T-AHMAD", "55", name="MOHAMMAD ALI"),
    Line("T-ORIG", "80", ustrd=["AMAL-1012"], e2e="E2E-13", booked="2026-10-11"),
    Line("T-REVERSAL", "80", direction="DBIT", reversal=True, e2e="E2E-13", booked="2026-10-12"),
]


@pytest.fixture
def files(folder):
    folder.write("d.jsonl", "\n".join(json.dumps(d, ensure_ascii=False) for d in DONATIONS) + "\n")
    folder.write("s.xml", camt053(LINES))
    folder.write("n.xml", camt054([Line("T-PENDING", "65", status="PDNG", ustrd=["AMAL-1008"])]))
    return folder


def test_every_case_lands_where_an_accountant_expects(files):
    r = files.hub("reconcile", "--statement", "s.xml", "--statement", "n.xml", "--donations", "d.jsonl", "--json")
    assert r.code == 1, r.err  # some lines need a person
    out = json.loads(r.out)
    matched = {m["transaction"]: (m["donations"], m["kind"], m["rule"]) for m in out["matched"]}
    assert matched == {
        "T-REF": (["D-REF"], "full", "reference"),
        "T-FEE": (["D-FEE"], "full", "reference"),
        "T-MULTI": (["D-M1", "D-M2"], "multiple", "reference"),
        "T-ACCT": (["D-ACCT"], "full", "account"),
        "T-AR": (["D-AR"], "full", "reference"),
        "T-PART": (["D-PART"], "partial", "reference"),
    }
    suggested = {m["transaction"]: (m["donations"], m["kind"], m["rule"]) for m in out["suggested"]}
    assert suggested == {
        "T-OVER": (["D-OVER"], "overpaid", "reference"),
        "T-NAME": (["D-NAME"], "full", "amount_name"),
        "T-TIE": (suggested["T-TIE"][0], "full", "amount_name"),
        "T-CUR": (["D-CUR"], "full", "reference"),
        "T-PAID": (["D-PAID"], "overpaid", "reference"),
    }
    assert suggested["T-TIE"][0] in (["D-TIE1"], ["D-TIE2"]), "two donations fit equally: never confirmed"
    assert all(0 <= m["score"] < 0.9 for m in out["suggested"]) and all(m["score"] >= 0.9 for m in out["matched"])
    unmatched = {u["transaction"]: u["reason"] for u in out["unmatched"]}
    assert set(unmatched) == {"T-NOBODY", "T-AHMAD", "T-ORIG"}
    assert unmatched["T-ORIG"] == "reversed by T-REVERSAL"
    assert "below the suggestion threshold" in unmatched["T-AHMAD"], "Mohammad Ali is not Mohammad Ahmad"
    ignored = {i["transaction"]: i["reason"] for i in out["ignored"]}
    assert set(ignored) == {"T-DEBIT", "T-REVERSAL", "T-PENDING"}
    assert ignored["T-REVERSAL"].startswith("reversal of T-ORIG")
    assert ignored["T-PENDING"].startswith("pending")
    for item in out["matched"] + out["suggested"]:
        assert set(item) == {"transaction", "donations", "kind", "rule", "score"}
    for item in out["unmatched"] + out["ignored"]:
        assert set(item) == {"transaction", "reason"}


def test_evidence_names_the_signals(files):
    out = json.loads(files.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json", "--evidence").out)
    ev = {m["transaction"]: m["evidence"] for m in out["matched"] + out["suggested"]}
    assert ev["T-REF"]["reference_found"] == ["AMAL-1001"]
    assert ev["T-FEE"]["underpaid_within_tolerance"] == "2.5"
    assert ev["T-ACCT"]["account_known"] == "DE89370400440532013000"
    assert ev["T-NAME"]["name_similarity"] >= 0.8 and ev["T-NAME"]["date_gap_days"] == 2
    assert ev["T-CUR"]["currency_differs"] == ["EUR"]
    assert ev["T-PAID"]["already_paid"] is True
    assert ev["T-TIE"]["tie_with"] in (["D-TIE1"], ["D-TIE2"])
    assert ev["T-OVER"]["excess"] == "50"
    assert [m["allocations"] for m in out["matched"] if m["transaction"] == "T-MULTI"] == [["50", "70"]]
    # The table says the same in words a person reads: a list as JSON, a flag as yes or no.
    shown = files.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", env={"COLUMNS": "400"}).out
    assert 'reference_found: ["AMAL-1001"]' in shown and "already_paid: yes" in shown, shown
    assert "['" not in shown and "True" not in shown


def test_redenominated_pledge_is_compared_at_its_converted_amount(folder):
    folder.write("d.jsonl", json.dumps(donation("D-OLD", "250000", "SYP", "2025-11-15", ref="AMAL-1007")) + "\n")
    folder.write("s.xml", camt053([Line("T-NEW", "2500", ccy="SYP", booked="2026-02-01", ustrd=["AMAL-1007"])]))
    out = json.loads(folder.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json", "--evidence").out)
    [m] = out["matched"]
    assert (m["transaction"], m["donations"], m["kind"]) == ("T-NEW", ["D-OLD"], "full")
    assert m["evidence"]["conversion"] == {
        "currency": "SYP",
        "factor": "100",
        "since": "2026-01-01",
        "original": "250000",
        "converted": "2500.00",
    }


def test_the_redenomination_date_is_configuration(folder):
    folder.write("hub.yaml", "reconcile:\n  redenominations: [{currency: SYP, since: '2026-03-01', factor: 100}]\n")
    folder.write("d.jsonl", json.dumps(donation("D-OLD", "250000", "SYP", "2025-11-15", ref="AMAL-1007")) + "\n")
    folder.write("s.xml", camt053([Line("T-NEW", "2500", ccy="SYP", booked="2026-02-01", ustrd=["AMAL-1007"])]))
    out = json.loads(folder.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json").out)
    assert [(m["transaction"], m["kind"]) for m in out["matched"]] == [("T-NEW", "partial")], "before the configured date: no conversion"


def test_one_pledge_paid_in_parts_by_account(folder):
    folder.write(
        "d.jsonl", json.dumps(donation("D-BIG", "300", "USD", "2026-09-01", name="Lina", account="SE4550000000058398257466")) + "\n"
    )
    folder.write(
        "s.xml",
        camt053(
            [
                Line("P1", "100", iban="SE4550000000058398257466", booked="2026-10-01"),
                Line("P2", "200", iban="SE4550000000058398257466", booked="2026-10-20"),
            ]
        ),
    )
    out = json.loads(folder.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json").out)
    assert [(m["transaction"], m["kind"]) for m in out["matched"]] == [("P1", "partial"), ("P2", "full")]


def test_donor_pledges_summing_to_one_transfer(folder):
    rows = [donation(f"D{i}", "25", "USD", f"2026-0{i}-01", name="Sami", account="DE89370400440532013000") for i in (7, 8, 9)]
    folder.write("d.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    folder.write("s.xml", camt053([Line("T-SUM", "50", iban="DE89370400440532013000")]))
    out = json.loads(folder.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json").out)
    assert [(m["donations"], m["kind"]) for m in out["matched"]] == [(["D7", "D8"], "multiple")], "oldest first"


def test_the_same_statement_twice_matches_once(files):
    out = json.loads(files.hub("reconcile", "--statement", "s.xml", "--statement", "s.xml", "--donations", "d.jsonl", "--json").out)
    twice = [i for i in out["ignored"] if "imported twice" in i["reason"]]
    assert len(twice) == len(LINES)
    assert len(out["matched"]) == 6


def test_mt940_transliterated_name_matches_arabic_donor(folder):
    folder.write("d.jsonl", json.dumps(donation("D-1", "45", "USD", "2026-10-05", name="محمد علي الحلبي")) + "\n")
    folder.write("s.sta", mt940([("2610071007C45,00NTRFNONREF//BR-7", "166?20TABARRU?32MHD ALI AL HALABI")]))
    out = json.loads(folder.hub("reconcile", "--statement", "s.sta", "--donations", "d.jsonl", "--json").out)
    assert [(m["transaction"], m["donations"], m["rule"]) for m in out["suggested"]] == [("BR-7", ["D-1"], "amount_name")]


def test_mt940_free_text_that_names_the_donor_whole_is_a_suggestion_a_given_name_alone_is_not(folder):
    # Some banks' :86: carries no payer field, only free text; Latin letters for an Arabic name.
    donors = [
        donation("D-RANA", "30", "USD", "2026-10-05", name="رنا حداد"),
        donation("D-OMAR", "35", "USD", "2026-10-05", name="Omar Haddad"),
    ]
    folder.write("d.jsonl", "".join(json.dumps(d) + "\n" for d in donors))
    folder.write(
        "s.sta",
        mt940(
            [
                ("2610071007C30,00NTRFNONREF//BR-1", "RANA HADDAD GIFT OCTOBER"),
                ("2610071007C35,00NTRFNONREF//BR-2", "FROM OMAR FOR ORPHANS"),
            ]
        ),
    )
    out = json.loads(folder.hub("reconcile", "--statement", "s.sta", "--donations", "d.jsonl", "--json", "--evidence").out)
    assert [(m["transaction"], m["donations"], m["rule"]) for m in out["suggested"]] == [("BR-1", ["D-RANA"], "amount_name")]
    assert out["suggested"][0]["evidence"]["name_in_remittance"] == 0.9
    assert [m["transaction"] for m in out["unmatched"]] == ["BR-2"]  # the amount fits and "Omar" is there, but not his family name
    assert out["matched"] == []  # name evidence never confirms on its own


def test_report_has_a_row_per_line_and_totals(files):
    from openpyxl import load_workbook

    r = files.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--report", "r.xlsx")
    assert r.code == 1 and "report written" in r.out
    rows = list(load_workbook(files.path / "r.xlsx").active.iter_rows(values_only=True))
    assert rows[0][:3] == ("status", "transaction", "booking date")
    body = [x for x in rows[1:] if x[0] in ("matched", "suggested", "unmatched", "ignored") and x[1] and str(x[1]).startswith("T-")]
    assert len(body) == len(LINES)
    totals = {x[0]: x[1] for x in rows[rows.index(("totals",) + (None,) * (len(rows[0]) - 1)) + 1 :]}
    assert totals == {"matched": 6, "suggested": 5, "unmatched": 3, "ignored": 2}


def test_report_totals_keep_old_and_new_pounds_apart(folder):
    # A statement across the redenomination: 250,000 old pounds in December, 2,500 new ones in
    # January. Added together they made 252,500 "SYP", a figure that is neither.
    folder.write(
        "d.jsonl",
        json.dumps(donation("D-OLD", "250000", "SYP", "2025-12-01", ref="AMAL-2001")) + "\n",
    )
    folder.write(
        "s.xml",
        camt053(
            [
                Line("T-DEC", "250000", ccy="SYP", booked="2025-12-20", ustrd=["AMAL-2001"]),
                Line("T-JAN", "2500", ccy="SYP", booked="2026-01-20", ustrd=["AMAL-9999"]),
                Line("T-FEB", "300", ccy="SYP", booked="2026-02-02", ustrd=["AMAL-9998"]),
                Line("T-DEC2", "1000", ccy="SYP", booked="2025-12-28", ustrd=["AMAL-9997"]),
            ]
        ),
    )
    r = folder.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--report", "r.csv", env={"COLUMNS": "200"})
    assert r.code == 1, r.err
    assert "3800" not in r.out, "the terminal's totals keep them apart too"
    report = (folder.path / "r.csv").read_text(encoding="utf-8-sig")
    assert "matched,1,,250000 SYP before 2026-01-01" in report
    assert "unmatched,3,,2800 SYP; 1000 SYP before 2026-01-01" in report


def test_bad_inputs_are_clear(files):
    r = files.hub("reconcile", "--statement", "s.xml")
    assert r.code == 2 and "give both" in r.err
    files.write("bad.xml", "<Document>")
    r = files.hub("reconcile", "--statement", "bad.xml", "--donations", "d.jsonl")
    assert r.code == 2 and "bad.xml: not well-formed XML" in r.err and "Traceback" not in r.err
    files.write("d2.jsonl", json.dumps({"id": "X"}) + "\n")
    r = files.hub("reconcile", "--statement", "s.xml", "--donations", "d2.jsonl", "--json")
    assert "d2.jsonl line 1" in r.err


def test_a_plugin_rule_registered_through_the_hook_is_asked_first(folder):
    folder.write(
        "rules/by_id.py",
        '''
from hub import hookimpl
from hub.reconcile.model import Candidate

class DonationIdRule:
    """Some associations tell donors to quote the receipt number itself."""
    name = "receipt_number"
    ceiling = 0.99

    def candidates(self, txn, index, settings):
        text = (txn.remittance or "").upper()
        return [Candidate(self.name, 0.99, "full", [d], [txn.amount], {"receipt_in_text": d.id})
                for d in index.by_key.values() if d.id.upper() in text.split()]

@hookimpl
def hub_register_matchers(registry):
    registry.add(DonationIdRule())
''',
    )
    folder.write("hub.yaml", "plugins: {folders: [rules]}\n")
    folder.write("d.jsonl", json.dumps(donation("R-77", "10", "USD", "2026-10-01")) + "\n")
    folder.write("s.xml", camt053([Line("T1", "10", ustrd=["receipt R-77"])]))
    out = json.loads(folder.hub("reconcile", "--statement", "s.xml", "--donations", "d.jsonl", "--json").out)
    assert out["matched"] == [{"transaction": "T1", "donations": ["R-77"], "kind": "full", "rule": "receipt_number", "score": 0.99}]


def test_matcher_registry_refuses_duplicates_and_non_rules():
    from hub.errors import PluginError
    from hub.registry import MatcherRegistry
    from plugins.matchers import ReferenceRule

    reg = MatcherRegistry()
    reg.add(ReferenceRule())
    with pytest.raises(PluginError, match="already registered"):
        reg.add(ReferenceRule())
    with pytest.raises(PluginError, match="not a matching rule"):
        reg.add(object())
