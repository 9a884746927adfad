"""Built-in record transforms for the cleaning that associations' exports most often need.

``drop_donor_contact`` removes donor names and accounts before they reach a destination that
has no need of them (the platform's public figures); ``anonymous_donor`` marks donors with
no name as anonymous, as the schema expects.
"""

from __future__ import annotations

from hub import hookimpl


def drop_donor_contact(record: dict, context: dict) -> dict:
    """Keep a donation's donor as its type and country only (privacy: minimise personal data)."""
    donor = record.get("donor")
    if isinstance(donor, dict):
        record["donor"] = {k: v for k, v in donor.items() if k in ("type", "country")}
        if not record["donor"]:
            del record["donor"]
    return record


def anonymous_donor(record: dict, context: dict) -> dict:
    """A donation whose donor has no name nor id is from an anonymous giver."""
    donor = record.get("donor") or {}
    if not donor.get("name") and not donor.get("id"):
        record["donor"] = {**donor, "type": "anonymous"}
    elif "type" not in donor:
        record["donor"] = {**donor, "type": "individual"}
    return record


@hookimpl
def hub_register_transforms(registry):
    registry.add("drop_donor_contact", drop_donor_contact)
    registry.add("anonymous_donor", anonymous_donor)
