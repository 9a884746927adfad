"""A destination's ``transforms``: what leaves the hub for it, while the store keeps the record whole.

The open-data export must not carry donors' names and accounts; reconciliation, on the
association's own hub, matches transfers by them. So the stream keeps them and the export's
connection drops them on the way out.
"""

from __future__ import annotations

import json

from hub.testing import Response, TestServer
from tests.conftest import DONATION_HEADER, DONATIONS_CONFIG, donation_rows

EXPORT_WITHOUT_DONORS = DONATIONS_CONFIG.format(batch_size=5000).replace(
    "    settings: {folder: export}\n", "    settings: {folder: export}\n    transforms: [drop_donor_contact]\n"
)

# A transform of an association's own: it refuses the records it cannot make public.
PICKY_PLUGIN = """
from hub import hookimpl


def public_only(record, context):
    if record["id"].endswith("3"):
        raise ValueError("donor asked to stay private")
    record["published_by"] = context["connection"]
    return record


@hookimpl
def hub_register_transforms(registry):
    registry.add("public_only", public_only)
"""


def _exported(folder) -> list[dict]:
    return [json.loads(x) for x in (folder.path / "export" / "donation.jsonl").read_text(encoding="utf-8").splitlines()]


def test_the_export_is_sent_donations_without_their_donors_names_and_the_store_keeps_them(folder):
    assert "transforms: [drop_donor_contact]" in EXPORT_WITHOUT_DONORS
    folder.write("hub.yaml", EXPORT_WITHOUT_DONORS)
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(10), encoding="utf-8-sig")
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["delivered"] == 10
    exported = _exported(folder)
    assert len(exported) == 10
    assert all("donor" not in x for x in exported), exported[0]
    assert "محمد أحمد" not in (folder.path / "export" / "donation.jsonl").read_text(encoding="utf-8")
    stored = [json.loads(d) for (d,) in folder.sql("select data from records where entity = 'donation'")]
    assert len(stored) == 10 and all(x["donor"]["name"] == "محمد أحمد" for x in stored), "the store keeps the donor"
    # Sent again (hub resend), the same records are the same lines: nothing doubled.
    assert folder.hub("resend", "amal", "--to", "export").code == 0
    assert folder.hub("run", "amal").code == 0
    assert len(_exported(folder)) == 10


def test_a_record_a_transform_fails_on_is_quarantined_and_the_rest_of_its_batch_is_sent(folder):
    folder.write("my_plugins/picky.py", PICKY_PLUGIN)
    config = EXPORT_WITHOUT_DONORS.replace("transforms: [drop_donor_contact]", "transforms: [drop_donor_contact, public_only]")
    folder.write("hub.yaml", "plugins: {folders: [my_plugins]}\n" + config)
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(10), encoding="utf-8-sig")
    r = folder.hub("run", "amal", "--json")
    assert r.code == 1, r.err  # records in quarantine: exit 1, as for a refused row
    run = json.loads(r.out)["runs"][0]
    assert (run["inserted"], run["delivered"], run["delivery_failed"]) == (10, 9, 1), run
    exported = _exported(folder)
    assert sorted(x["id"] for x in exported) == [f"D{i:07d}" for i in range(10) if i != 3]
    assert all(x["published_by"] == "export" and "donor" not in x for x in exported)
    entries = json.loads(folder.hub("quarantine", "list", "--json").out)
    assert len(entries) == 1, entries
    entry = json.loads(folder.hub("quarantine", "show", str(entries[0]["id"]), "--json").out)
    assert entry["connection"] == "export" and entry["stage"] == "deliver"
    assert entry["raw"]["id"] == "D0000003" and entry["raw"]["donor"]["name"] == "محمد أحمد", "the stored record, whole"
    assert entry["errors"][0]["message"] == "transform public_only failed: ValueError: donor asked to stay private"
    # The next run sends nothing again: what was sent stays sent, what failed stays in quarantine.
    again = json.loads(folder.hub("run", "amal", "--json").out)["runs"][0]
    assert (again["delivered"], again["delivery_failed"]) == (0, 0), again
    assert len(_exported(folder)) == 9


def test_a_mistyped_transform_name_on_a_destination_is_named_with_the_likely_one(folder):
    folder.write("hub.yaml", EXPORT_WITHOUT_DONORS.replace("drop_donor_contact", "drop_donor_contacts"))
    folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(3), encoding="utf-8-sig")
    for command in (("check", "export"), ("run", "amal")):
        r = folder.hub(*command)
        assert r.code == 2, (command, r.err)
        assert "connections.export.transforms: unknown transform 'drop_donor_contacts'" in r.err
        assert "did you mean 'drop_donor_contact'?" in r.err and "Traceback" not in r.err
    # Nothing was sent, and nothing lost: the records wait in the outbox for the corrected config.
    assert not (folder.path / "export" / "donation.jsonl").exists()
    folder.write("hub.yaml", EXPORT_WITHOUT_DONORS)
    assert json.loads(folder.hub("check", "export", "--json").out)["transforms"] == ["drop_donor_contact"]
    assert "records sent here go through: drop_donor_contact" in folder.hub("check", "export").out
    r = folder.hub("run", "amal", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["runs"][0]["delivered"] == 3


def test_a_trimmed_record_the_destination_refused_is_sent_again_trimmed_once_it_is_mended(folder):
    # The quarantine keeps the stored version (a replay finds its outbox row by it); what goes
    # out on the replay still passes through the destination's transforms.
    with TestServer() as crm:
        mended, taken = [], []

        def donations(req):
            record = req.json()
            if record["id"] == "D0000002" and not mended:
                return Response(422, {"detail": "unknown donor"})
            taken.append(record)
            return Response(201, {})

        crm.route("POST", "/donations", donations)
        config = DONATIONS_CONFIG.format(batch_size=5000).replace(
            "  export:\n    connector: jsonl\n    settings: {folder: export}\n",
            "  export:\n    connector: rest\n"
            f"    settings: {{url: '{crm.url}', retries: 0, write: {{path: /donations, mode: each}}}}\n"
            "    transforms: [drop_donor_contact]\n",
        )
        assert "connector: rest" in config
        folder.write("hub.yaml", config)
        folder.write_csv("donations.csv", DONATION_HEADER, donation_rows(4), encoding="utf-8-sig")
        assert folder.hub("run", "amal").code == 1
        assert sorted(x["id"] for x in taken) == ["D0000000", "D0000001", "D0000003"]
        [entry] = json.loads(folder.hub("quarantine", "list", "--json").out)
        shown = json.loads(folder.hub("quarantine", "show", str(entry["id"]), "--json").out)
        assert shown["raw"]["donor"]["name"] == "محمد أحمد", "the stored version is what the quarantine keeps"
        mended.append(True)
        r = folder.hub("quarantine", "replay", str(entry["id"]))
        assert r.code == 0, r.out + r.err
    assert [x["id"] for x in taken] == ["D0000000", "D0000001", "D0000003", "D0000002"]
    assert all("donor" not in x for x in taken), "sent trimmed, the first time and on the replay"
