"""API tokens: created, listed, revoked and checked. The secret is shown once and kept only hashed.

A token is ``wh_`` + 32 random bytes (URL-safe base64). With that much entropy a plain SHA-256
is the right store: a slow password hash (argon2) would only slow every API call, since
nobody can guess a 256-bit secret from its digest. Lookup is by digest, so a check is one
indexed read. Every creation and revocation is written to the audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from hub.app import Hub
from hub.errors import ConfigError, NotFoundError
from hub.services.scope import association_scope
from hub.store import audit
from hub.store.models import api_tokens_table, records_table
from hub.store.types import utcnow

__all__ = ["Principal", "authenticate", "create", "expire", "list_tokens", "revoke", "why_refused"]

_t = api_tokens_table
_records = records_table
PREFIX = "wh_"
_NAME = re.compile(r"[\w.-]{1,64}")  # letters of any script, digits, . _ -: a label, not a sentence
MAX_LIFETIME = timedelta(days=3650)  # beyond ten years an expiry is no expiry: leave it out
_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is a hint, not worth a write per request


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for: a token's id and name, its association (None: the platform), rights."""

    token_id: int
    name: str
    association_id: str | None
    can_read: bool
    can_write: bool
    expires_at: datetime | None = None

    @property
    def is_platform(self) -> bool:
        """A platform token reads (and, with write rights, writes) every association's records."""
        return self.association_id is None

    @property
    def actor(self) -> str:
        """How the audit log names this token."""
        return f"token:{self.name}"

    def may_touch(self, association_id: str | None) -> bool:
        """Whether this token may read or write a record of ``association_id``."""
        return self.is_platform or (association_id is not None and association_id == self.association_id)

    # A connection or a run of ``association_id``: the same rule as a record (hub.services.admin).
    may_see = may_touch


def _lapses_at(now: datetime, expires_in: timedelta | None) -> datetime | None:
    """When a token given ``expires_in`` from ``now`` stops working (None: never); ConfigError past the bounds."""
    if expires_in is None:
        return None
    if not timedelta(0) < expires_in <= MAX_LIFETIME:
        raise ConfigError(f"a token's lifetime is 1 to {MAX_LIFETIME.days} days; leave it out for one that lasts until revoked")
    return now + expires_in


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    hub: Hub,
    name: str,
    *,
    association: str | None,
    platform: bool,
    read: bool,
    write: bool,
    expires_in: timedelta | None = None,
    actor: str = "cli",
) -> dict:
    """A new token; the returned ``token`` is the only time the secret is seen.

    ``expires_in``: the token lapses that long from now (a token handed to an association's
    hub need not outlive the agreement it was given under); None, until revoked.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"token name {name!r} is not one this hub takes: 1 to 64 letters, digits, '.', '_' or '-', no spaces "
            "(it labels what the token writes, as api:<name>)"
        )
    association = association_scope(association, platform=platform)
    if not (read or write):
        raise ConfigError("a token needs read or write rights (--read, --write)")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    expires_at = _lapses_at(now, expires_in)
    with hub.store.engine.begin() as conn:
        # The name labels what the token wrote (records' and quarantine's api:<name>, the audit's
        # token:<name>), so it names one token, revoked ones included.
        taken = conn.execute(select(_t.c.id).where(_t.c.name == name)).scalar()
        if taken is not None:
            raise ConfigError(f"a token named {name!r} exists already (id {taken}); choose another name, e.g. {name}-2")
        token_id = conn.execute(
            insert(_t)
            .values(
                name=name,
                prefix=secret[:10],
                secret_hash=_digest(secret),
                association_id=association,
                can_read=read,
                can_write=write,
                created_by=actor,
                created_at=now,
                expires_at=expires_at,
            )
            .returning(_t.c.id)
        ).scalar_one()
        scope = {"association": association} if association else {"platform": True}
        lapses = {"expires_at": expires_at.isoformat()} if expires_at else {}
        audit.append(
            conn,
            actor=actor,
            action="token.create",
            subject=f"token:{token_id}",
            detail={"name": name, **scope, "read": read, "write": write, **lapses},
            now=now,
        )
    return {
        "id": token_id,
        "name": name,
        "token": secret,
        "association_id": association,
        "read": read,
        "write": write,
        "expires_at": _iso(expires_at),
    }


def unknown_association(hub: Hub, association: str | None) -> bool:
    """Whether this hub's register of associations is kept and has no ``association``.

    A token given for a misspelt association is refused on every record its hub pushes
    ("writes only association 'asoc-amal' records"); said when the token is made, the typo is
    caught before the association's IT staff meet it. An empty register says nothing.
    """
    if not association:
        return False
    from hub.store.records import stored_rows

    with hub.store.engine.connect() as conn:
        any_kept = conn.execute(select(_records.c.id).where(_records.c.entity == "association").limit(1)).first() is not None
        return any_kept and not stored_rows(conn, "association", [association])


def list_tokens(hub: Hub) -> list[dict]:
    """Every token, newest first, without its secret (only the first characters, to recognise it)."""
    with hub.store.engine.connect() as conn:
        rows = conn.execute(select(_t).order_by(_t.c.id.desc())).all()
    return [
        {
            "id": r.id,
            "name": r.name,
            "prefix": r.prefix + "…",
            "scope": r.association_id or "(platform)",
            "rights": "+".join(x for x, ok in (("read", r.can_read), ("write", r.can_write)) if ok),
            "created_at": r.created_at.isoformat(),
            "last_used_at": _iso(r.last_used_at),
            "revoked_at": _iso(r.revoked_at),
            "expires_at": _iso(r.expires_at),
        }
        for r in rows
    ]


def revoke(hub: Hub, token_id: int, *, actor: str = "cli") -> dict:
    """Revoke a token: every later request with it is refused (401)."""
    now = utcnow()
    with hub.store.engine.begin() as conn:
        row = conn.execute(select(_t.c.name, _t.c.revoked_at).where(_t.c.id == token_id)).first()
        if row is None:
            raise NotFoundError(f"no token with id {token_id}", hint="`hub tokens list` shows them")
        if row.revoked_at is None:
            conn.execute(update(_t).where(_t.c.id == token_id).values(revoked_at=now))
            audit.append(conn, actor=actor, action="token.revoke", subject=f"token:{token_id}", detail={"name": row.name}, now=now)
    return {"id": token_id, "name": row.name, "revoked": True}


def expire(hub: Hub, token_id: int, expires_in: timedelta | None, *, actor: str = "cli") -> dict:
    """Set when a token lapses: ``expires_in`` from now, or never (None).

    A rotation's grace period (the new token is out, the old one keeps working a week while the
    hub moves over) and a renewal (a token near its end, extended rather than re-issued) are the
    same act. A revoked token stays revoked.
    """
    now = utcnow()
    expires_at = _lapses_at(now, expires_in)
    with hub.store.engine.begin() as conn:
        row = conn.execute(select(_t.c.name, _t.c.revoked_at, _t.c.expires_at).where(_t.c.id == token_id)).first()
        if row is None:
            raise NotFoundError(f"no token with id {token_id}", hint="`hub tokens list` shows them")
        if row.revoked_at is not None:
            raise ConfigError(f"token {token_id} ({row.name}) is revoked; create a new one instead")
        conn.execute(update(_t).where(_t.c.id == token_id).values(expires_at=expires_at))
        audit.append(
            conn,
            actor=actor,
            action="token.expire",
            subject=f"token:{token_id}",
            detail={
                "name": row.name,
                "expires_at": _iso(expires_at),
                "was": _iso(row.expires_at),
            },
            now=now,
        )
    return {"id": token_id, "name": row.name, "expires_at": _iso(expires_at)}


def _stored(hub: Hub, secret: str):
    if not secret.startswith(PREFIX):
        return None
    with hub.store.engine.connect() as conn:
        return conn.execute(select(_t).where(_t.c.secret_hash == _digest(secret))).first()


def authenticate(hub: Hub, secret: str) -> Principal | None:
    """The principal a presented secret stands for, or None (unknown, revoked or expired)."""
    row = _stored(hub, secret)
    now = utcnow()
    if row is None or row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        with hub.store.writing_if_free() as conn:
            if conn is not None:  # a busy store skips the hint; a later request records it
                conn.execute(update(_t).where(_t.c.id == row.id).values(last_used_at=now))
    return Principal(row.id, row.name, row.association_id, row.can_read, row.can_write, row.expires_at)


def why_refused(hub: Hub, secret: str) -> str:
    """In words, why ``authenticate`` refused ``secret``: for the 401 its holder reads.

    An expired token says when it lapsed, so an association's IT staff know to ask for a new
    one rather than hunt for a typo; an unknown secret and a revoked one read alike.
    """
    row = _stored(hub, secret)
    if row is not None and row.revoked_at is None and row.expires_at is not None and row.expires_at <= utcnow():
        return f"the token {row.name!r} expired at {row.expires_at.isoformat(timespec='seconds')}; ask the platform for a new one"
    return "the token is unknown or has been revoked"
