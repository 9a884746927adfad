"""Reconciliation over the store: decisions recorded, donations updated and delivered, reviewers remembered."""

from __future__ import annotations

import json

from tests.reconcile.builders import Line, camt053, mt940
from tests.reconcile.test_matching import donation

CONFIG = """\
store: sqlite:///hub.db
connections:
  donations:
    connector: jsonl
    settings: {path: d.jsonl}
    streams:
      donations: {entity: donation}
    destinations: [platform]
  bank:
    connector: statement
    settings: {path: s.xml}
  platform:
    connector: jsonl
    settings: {folder: platform}
"""


# A bank's CSV export as a connection; each test adds its mapping of the bank's columns.
BANK_CSV = """\
  bank-csv:
    connector: csv
    settings: {path: bank.csv}
    streams:
      lines:
        entity: bank_transaction
        mapping:
"""

# An Arabic bank export's columns: date, text, debit and credit columns; each test adds its id.
ARABIC_BANK_MAPPING = """\
          account: {const: SY0012345678}
          booking_date: {column: التاريخ, type: date, format: "%d/%m/%Y"}
          amount: {first_of: [دائن, مدين], type: decimal}
          direction: {which: {دائن: credit, مدين: debit}}
          currency: {const: SYP}
          status: {const: booked}
          remittance: البيان
"""


def _setup(folder, lines, donations):
    folder.write("hub.yaml", CONFIG)
    folder.write("d.jsonl", "\n".join(json.dumps(d, ensure_ascii=False) for d in donations) + "\n")
    folder.write("s.xml", camt053(lines))
    assert folder.hub("run", "donations").code == 0
    assert folder.hub("run", "bank").code == 0


def _donation(folder, id):
    return json.loads(folder.sql("select data from records where key = ?", (f"A1|{id}",))[0][0])


def test_confirmed_match_updates_the_donation_and_reaches_the_platform(folder):
    _setup(
        folder, [Line("T1", "100", ustrd=["AMAL-1001"], booked="2026-10-10")], [donation("D1", "100", "USD", "2026-10-01", ref="AMAL-1001")]
    )
    r = folder.hub("reconcile", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["matched"] == [{"transaction": "T1", "donations": ["D1"], "kind": "full", "rule": "reference", "score": 0.98}]
    d = _donation(folder, "D1")
    assert (d["status"], d["received_amount"], d["transactions"], d["received_at"]) == (
        "received",
        "100",
        ["SY0012345678|T1"],
        "2026-10-10T00:00:00+03:00",
    )
    assert folder.sql("select version from records where key='A1|D1'") == [(2,)]
    delivered = [json.loads(x) for x in (folder.path / "platform" / "donation.jsonl").read_text().splitlines()]
    assert [x["status"] for x in delivered] == ["pledged", "received"]
    confirmed = json.loads(folder.hub("matches", "list", "--status", "confirmed", "--json").out)
    assert [(m["transaction"], m["donations"], m["decided_by"]) for m in confirmed] == [("T1", ["D1"], "auto:reference")]
    # a second run decides nothing again
    r = folder.hub("reconcile", "--json")
    assert json.loads(r.out) == {"matched": [], "suggested": [], "unmatched": [], "ignored": []}
    assert folder.sql("select count(*) from matches") == [(1,)]


def test_confirming_a_suggestion_remembers_the_payer_so_next_month_matches_itself(folder):
    lines = [Line("T1", "45", name="MHD ALI HALABI", iban="TR330006100519786457841326", booked="2026-10-07")]
    _setup(
        folder,
        lines,
        [
            donation("D1", "45", "USD", "2026-10-05", name="محمد علي الحلبي"),
            donation("D2", "45", "USD", "2026-11-02", name="محمد علي الحلبي"),
        ],
    )
    r = folder.hub("reconcile", "--json")
    assert r.code == 1
    [s] = json.loads(folder.hub("matches", "list", "--json").out)
    assert (s["transaction"], s["donations"], s["rule"], s["status"]) == ("T1", ["D1"], "amount_name", "suggested")
    assert s["evidence"]["name_similarity"] >= 0.8
    shown = json.loads(folder.hub("matches", "show", str(s["id"]), "--json").out)
    assert shown["bank_line"]["counterparty"]["name"] == "MHD ALI HALABI" and shown["donation_records"][0]["id"] == "D1"
    assert folder.hub("matches", "confirm", str(s["id"])).code == 0
    assert _donation(folder, "D1")["status"] == "received"
    # next month: same account, no reference, the other pledge of the same donor
    folder.write("s.xml", camt053([Line("T2", "45", name="M. ALI", iban="TR330006100519786457841326", booked="2026-11-05")]))
    folder.hub("run", "bank")
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert [(m["transaction"], m["donations"], m["rule"]) for m in out["matched"]] == [("T2", ["D2"], "account")]
    actions = [a["action"] for a in json.loads(folder.hub("audit", "list", "--json").out)]
    assert "match.confirm" in actions and folder.hub("audit", "verify").code == 0


def test_a_rejected_suggestion_is_not_suggested_again(folder):
    _setup(folder, [Line("T1", "40", name="OMAR KHALED")], [donation("D1", "40", "USD", "2026-10-02", name="Omar Khaled")])
    folder.hub("reconcile")
    [s] = json.loads(folder.hub("matches", "list", "--json").out)
    assert folder.hub("matches", "reject", str(s["id"]), "--reason", "different Omar").code == 0
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert out["suggested"] == [] and [u["transaction"] for u in out["unmatched"]] == ["T1"]
    assert _donation(folder, "D1")["status"] == "pledged"
    assert folder.hub("matches", "confirm", str(s["id"])).code == 2, "a rejected decision cannot be confirmed"


def test_a_reversal_in_a_later_statement_undoes_the_match(folder):
    _setup(
        folder,
        [Line("T1", "80", ustrd=["AMAL-1012"], e2e="E2E-13", booked="2026-10-11")],
        [donation("D1", "80", "USD", "2026-10-01", ref="AMAL-1012")],
    )
    folder.hub("reconcile")
    assert _donation(folder, "D1")["status"] == "received"
    folder.write("s.xml", camt053([Line("T9", "80", direction="DBIT", reversal=True, e2e="E2E-13", booked="2026-10-14")]))
    folder.hub("run", "bank")
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert out["ignored"] == [{"transaction": "T9", "reason": "reversal of T1: its match was undone"}]
    d = _donation(folder, "D1")
    assert d["status"] == "pledged" and "received_amount" not in d and "transactions" not in d
    assert [m["status"] for m in json.loads(folder.hub("matches", "list", "--status", "any", "--json").out)] == ["undone", "handled"]


def test_bank_csv_with_arabic_headers_and_debit_credit_columns(folder):
    folder.write(
        "hub.yaml",
        CONFIG + BANK_CSV + "          id: رقم المرجع\n" + ARABIC_BANK_MAPPING,
    )
    folder.write("d.jsonl", json.dumps(donation("D1", "150000", "SYP", "2026-10-01", ref="AMAL-2001")) + "\n")
    folder.write_csv(
        "bank.csv",
        ["التاريخ", "البيان", "مدين", "دائن", "الرصيد", "رقم المرجع"],
        [
            ["٠٥/١٠/٢٠٢٦", "\u200fحوالة واردة AMAL-2001 تبرع", "", "١٥٠٬٠٠٠", "900,000", "BNK-771"],
            ["06/10/2026", "عمولة", "2,000", "", "898,000", "BNK-772"],
        ],
        encoding="utf-8-sig",
    )
    folder.hub("run", "donations")
    assert folder.hub("run", "bank-csv").code == 0
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert out["matched"] == [{"transaction": "BNK-771", "donations": ["D1"], "kind": "full", "rule": "reference", "score": 0.98}]
    assert out["ignored"] == [{"transaction": "BNK-772", "reason": "debit: only money coming in is matched to donations"}]


def test_a_payer_name_with_a_nul_from_a_corrupt_bank_export_is_remembered_on_every_store(folder):
    """PostgreSQL refuses a NUL in text: confirming the match failed with an internal error there."""
    folder.write(
        "hub.yaml",
        CONFIG
        + BANK_CSV
        + """\
          id: ref
          account: {const: SY0012345678}
          booking_date: {column: date, type: date}
          amount: {column: credit, type: decimal}
          direction: {const: credit}
          currency: {const: USD}
          status: {const: booked}
          counterparty.name: payer
""",
    )
    folder.write("d.jsonl", json.dumps(donation("D1", "45", "USD", "2026-10-05", name="محمد علي الحلبي"), ensure_ascii=False) + "\n")
    folder.write_csv("bank.csv", ["date", "ref", "credit", "payer"], [["2026-10-07", "T1", "45", "MHD ALI\x00 HALABI"]])
    assert folder.hub("run", "donations").code == 0
    assert folder.hub("run", "bank-csv").code == 0
    assert folder.hub("reconcile").code == 1  # a suggestion waits for a person
    [s] = json.loads(folder.hub("matches", "list", "--json").out)
    assert s["status"] == "suggested" and s["donations"] == ["D1"]
    confirmed = folder.hub("matches", "confirm", str(s["id"]))
    assert confirmed.code == 0, confirmed.err
    assert _donation(folder, "D1")["status"] == "received"
    assert folder.sql("select name from payer_memory") == [("MHD ALI HALABI",)]


def test_a_bank_csv_line_with_a_bad_amount_is_quarantined_with_its_row(folder):
    folder.write(
        "hub.yaml",
        "store: sqlite:///hub.db\nconnections:\n  bank-csv:\n    connector: csv\n    settings: {path: bank.csv}\n"
        "    streams:\n      lines:\n        entity: bank_transaction\n        mapping:\n          id: رقم المرجع\n"
        "          account: {const: SY0012345678}\n          booking_date: {column: التاريخ, type: date, format: '%d/%m/%Y'}\n"
        "          amount: {first_of: [دائن, مدين], type: decimal}\n          direction: {which: {دائن: credit, مدين: debit}}\n"
        "          currency: {const: SYP}\n          status: {const: booked}\n",
    )
    folder.write_csv(
        "bank.csv", ["التاريخ", "مدين", "دائن", "رقم المرجع"], [["05/10/2026", "", "مئة", "B1"], ["06/10/2026", "", "100", "B2"]]
    )
    r = folder.hub("run", "bank-csv", "--json")
    assert r.code == 1
    [q] = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert (q["line"], q["raw"]["دائن"], q["errors"][0]["path"], q["errors"][0]["rule"]) == (2, "مئة", "amount", "decimal")
    assert [k for (k,) in folder.sql("select key from records")] == ["SY0012345678|B2"]


def test_the_next_sync_of_the_pledges_file_does_not_undo_reconciliation(folder):
    _setup(folder, [Line("T1", "60", ustrd=["AMAL-1001"])], [donation("D1", "100", "USD", "2026-10-01", ref="AMAL-1001")])
    folder.hub("reconcile")
    assert (_donation(folder, "D1")["status"], _donation(folder, "D1")["received_amount"]) == ("pledged", "60")
    run = json.loads(folder.hub("run", "donations", "--json").out)["runs"][0]
    assert (run["updated"], run["unchanged"]) == (0, 1), "the source still says pledged with no payments: nothing to change"
    assert _donation(folder, "D1")["received_amount"] == "60"
    # the association corrects the pledge: the correction lands, the payments stay
    folder.write("d.jsonl", json.dumps(donation("D1", "120", "USD", "2026-10-01", ref="AMAL-1001")) + "\n")
    run = json.loads(folder.hub("run", "donations", "--json").out)["runs"][0]
    assert run["updated"] == 1
    d = _donation(folder, "D1")
    assert (d["amount"], d["received_amount"], d["transactions"]) == ("120", "60", ["SY0012345678|T1"])


def test_overlapping_statements_without_bank_references_store_and_match_each_line_once(folder):
    # The 1st to the 15th, then the 10th to the 31st: the lines of the 10th to the 15th come in
    # both, at other places. Two fees of 5 on the 12th are two real lines, in both statements.
    gift, fee = "2610121012C100,00NTRFNONREF", "2610121012D5,00NCHGNONREF"
    first = [("2610081008C50,00NTRFNONREF", "AMAL-1001 SAMI"), (gift, "AMAL-1002 HASSAN"), (fee, "FEES"), (fee, "FEES")]
    second = [(gift, "AMAL-1002 HASSAN"), (fee, "FEES"), (fee, "FEES"), ("2610201020C70,00NTRFNONREF", "AMAL-1003 LINA")]
    folder.write("hub.yaml", CONFIG.replace("s.xml", "s.sta"))
    donations = [donation(f"D{i}", amount, "USD", "2026-10-01", ref=f"AMAL-100{i}") for i, amount in ((1, "50"), (2, "100"), (3, "70"))]
    folder.write("d.jsonl", "\n".join(json.dumps(d) for d in donations) + "\n")
    folder.write("s.sta", mt940(first, reference="STMT-A", opened="261001"))
    assert folder.hub("run", "donations").code == 0
    assert folder.hub("run", "bank").code == 0
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert sorted(d for m in out["matched"] for d in m["donations"]) == ["D1", "D2"]

    folder.write("s.sta", mt940(second, reference="STMT-B", opened="261010"))
    r = folder.hub("run", "bank", "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert (run["inserted"], run["updated"]) == (1, 3), "only the 20th is new; the lines of the 12th now name the later statement"
    lines = [json.loads(d) for (d,) in folder.sql("select data from records where entity = 'bank_transaction'")]
    assert sorted((x["amount"], x["direction"]) for x in lines) == [
        ("100", "credit"),
        ("5", "debit"),
        ("5", "debit"),
        ("50", "credit"),
        ("70", "credit"),
    ]
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert [m["donations"] for m in out["matched"]] == [["D3"]] and out["unmatched"] == [], "the 100 of the 12th is not a second transfer"
    assert _donation(folder, "D2")["received_amount"] == "100"

    # The same two files reconciled from disk: the lines of the 10th to the 15th are set aside once each.
    folder.write("a.sta", mt940(first, reference="STMT-A", opened="261001"))
    folder.write("b.sta", mt940(second, reference="STMT-B", opened="261010"))
    r = folder.hub("reconcile", "--statement", "a.sta", "--statement", "b.sta", "--donations", "d.jsonl", "--json")
    out = json.loads(r.out)
    assert sorted(d for m in out["matched"] for d in m["donations"]) == ["D1", "D2", "D3"] and out["unmatched"] == []
    assert sum("imported twice" in i["reason"] for i in out["ignored"]) == 3


def test_a_bank_csv_without_references_keys_its_lines_by_date_amount_and_running_balance(folder):
    # Many local banks' exports have no reference column. The running balance tells apart two
    # fees of 2,000 on one day, and is the same in the next, overlapping export.
    folder.write(
        "hub.yaml",
        CONFIG + BANK_CSV + '          id: {columns: [التاريخ, مدين, دائن, الرصيد], join: "|"}\n' + ARABIC_BANK_MAPPING,
    )
    folder.write("d.jsonl", json.dumps(donation("D1", "150000", "SYP", "2026-10-01", ref="AMAL-2001")) + "\n")
    header = ["التاريخ", "البيان", "مدين", "دائن", "الرصيد"]
    gift = ["05/10/2026", "حوالة واردة AMAL-2001 تبرع", "", "150,000", "900,000"]
    fees = [["06/10/2026", "عمولة", "2,000", "", "898,000"], ["06/10/2026", "عمولة", "2,000", "", "896,000"]]
    later = ["09/10/2026", "حوالة واردة", "", "50,000", "946,000"]
    folder.write_csv("bank.csv", header, [gift, *fees], encoding="utf-8-sig")
    assert folder.hub("run", "donations").code == 0
    assert folder.hub("run", "bank-csv").code == 0
    folder.write_csv("bank.csv", header, [*fees, later], encoding="utf-8-sig")  # the next export overlaps the first
    r = folder.hub("run", "bank-csv", "--json")
    assert r.code == 0, r.err
    [run] = json.loads(r.out)["runs"]
    assert (run["inserted"], run["unchanged"]) == (1, 2)
    assert folder.sql("select count(*) from records where entity = 'bank_transaction'") == [(4,)]
    out = json.loads(folder.hub("reconcile", "--json").out)
    assert [m["donations"] for m in out["matched"]] == [["D1"]]
