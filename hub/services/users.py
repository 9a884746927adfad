"""People of the web admin: accounts with argon2-hashed passwords, and their browser sessions.

A user belongs to one association or to the platform (``association_id`` None). A session is
a random token in an HttpOnly cookie; the store keeps its SHA-256, the user, the CSRF token
every form must echo, and when it expires. Signing out, disabling the user or the expiry
ends it. Account changes are audited.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.app import Hub
from hub.errors import ConfigError, NotFoundError
from hub.services.scope import association_scope
from hub.store import audit
from hub.store.models import web_sessions_table, web_users_table
from hub.store.types import utcnow

__all__ = [
    "SESSION_HOURS",
    "User",
    "account_fields",
    "authenticate",
    "close_session",
    "create_user",
    "disable_user",
    "list_users",
    "open_session",
    "session_user",
]

SESSION_HOURS = 12
_users, _sessions = web_users_table, web_sessions_table
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the e-mail is unknown costs the same time as a real check.

    Made on first use, not at import: hashing costs 0.1 s, which every CLI command would pay.
    """
    return _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class User:
    """A signed-in person: who, and whose records they may see."""

    id: int
    email: str
    name: str
    association_id: str | None
    csrf: str = ""

    @property
    def is_platform(self) -> bool:
        """Platform staff see every association."""
        return self.association_id is None

    def may_see(self, association_id: str | None) -> bool:
        """Whether a record, connection or run of ``association_id`` is this user's to see."""
        return self.is_platform or association_id == self.association_id

    @property
    def actor(self) -> str:
        """How the audit log names what this person did in the web admin."""
        return f"web:{self.email}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def account_fields(email: str, name: str) -> tuple[str, str]:
    """The e-mail (trimmed, lower case) and name an account is made with; ConfigError if unusable.

    The e-mail is what a person types to sign in: an empty one, or one without a domain (a
    name pasted in its place), would make an account nobody can use.
    """
    email, name = email.strip().lower(), name.strip()
    if len(email) > 200 or not _EMAIL.fullmatch(email):
        raise ConfigError(f"{email!r} is not an e-mail address (name@example.org), which is what the person signs in with")
    if not name or len(name) > 200 or _CONTROL.search(name):
        raise ConfigError("give the person's name (--name), 1 to 200 characters and no control character, as the web admin shows it")
    return email, name


def create_user(hub: Hub, email: str, name: str, password: str, *, association: str | None, platform: bool, actor: str = "cli") -> int:
    """A new account for one association's staff or the platform's; the password must be at least 10 characters."""
    email, name = account_fields(email, name)
    association = association_scope(association, platform=platform)
    if len(password) < 10:
        raise ConfigError("the password is too short: use at least 10 characters")
    now = utcnow()
    try:
        with hub.store.engine.begin() as conn:
            uid = conn.execute(
                insert(_users)
                .values(
                    email=email,
                    name=name,
                    password_hash=_hasher.hash(password),
                    association_id=association,
                    disabled=False,
                    created_at=now,
                )
                .returning(_users.c.id)
            ).scalar_one()
            audit.append(
                conn, actor=actor, action="user.create", subject=f"user:{uid}", detail={"email": email, "association": association}, now=now
            )
    except IntegrityError:
        raise ConfigError(f"a user with e-mail {email!r} exists already") from None
    return uid


def list_users(hub: Hub) -> list[dict]:
    """Every account, without password hashes."""
    with hub.store.engine.connect() as conn:
        rows = conn.execute(select(_users).order_by(_users.c.id)).all()
    return [
        {
            "id": r.id,
            "email": r.email,
            "name": r.name,
            "scope": r.association_id or "(platform)",
            "disabled": r.disabled,
            "last_login_at": r.last_login_at.isoformat() if r.last_login_at else None,
        }
        for r in rows
    ]


def disable_user(hub: Hub, user_id: int, *, actor: str = "cli") -> None:
    """Disable an account and end its sessions."""
    now = utcnow()
    with hub.store.engine.begin() as conn:
        if conn.execute(update(_users).where(_users.c.id == user_id).values(disabled=True)).rowcount == 0:
            raise NotFoundError(f"no user with id {user_id}")
        conn.execute(delete(_sessions).where(_sessions.c.user_id == user_id))
        audit.append(conn, actor=actor, action="user.disable", subject=f"user:{user_id}", detail={}, now=now)


def authenticate(hub: Hub, email: str, password: str) -> User | None:
    """The user these credentials belong to, or None (unknown, wrong password or disabled)."""
    with hub.store.engine.connect() as conn:
        row = conn.execute(select(_users).where(_users.c.email == email.strip().lower())).first()
    try:
        _hasher.verify(row.password_hash if row else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    with hub.store.engine.begin() as conn:
        conn.execute(update(_users).where(_users.c.id == row.id).values(last_login_at=utcnow()))
    return User(row.id, row.email, row.name, row.association_id)


def open_session(hub: Hub, user: User) -> str:
    """Start a session for ``user``; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with hub.store.engine.begin() as conn:
        conn.execute(delete(_sessions).where(_sessions.c.expires_at < now))
        conn.execute(
            insert(_sessions).values(
                token_hash=_digest(token),
                user_id=user.id,
                csrf_token=secrets.token_urlsafe(24),
                created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS),
            )
        )
    return token


def session_user(hub: Hub, token: str | None) -> User | None:
    """The user of a live session, with its CSRF token; None when signed out or expired."""
    if not token:
        return None
    with hub.store.engine.connect() as conn:
        row = conn.execute(
            select(
                _users.c.id,
                _users.c.email,
                _users.c.name,
                _users.c.association_id,
                _users.c.disabled,
                _sessions.c.csrf_token,
                _sessions.c.expires_at,
            )
            .join(_sessions, _sessions.c.user_id == _users.c.id)
            .where(_sessions.c.token_hash == _digest(token))
        ).first()
    if row is None or row.disabled or row.expires_at < utcnow():
        return None
    return User(row.id, row.email, row.name, row.association_id, row.csrf_token)


def close_session(hub: Hub, token: str | None) -> None:
    """Sign out: the session's token stops working at once."""
    if token:
        with hub.store.engine.begin() as conn:
            conn.execute(delete(_sessions).where(_sessions.c.token_hash == _digest(token)))
