"""A database's refusal, in words a person can act on, instead of a driver's message and a bug report.

Some failures come from the machine the store lives on, not from the hub: a full disk, a
file the hub may not write, a damaged file, a server that went away. The driver says so in
its own terms, wrapped by SQLAlchemy with the statement and a link to its documentation; a
user who met one was told "internal error ... report it". ``in_words`` names the condition
and what to do about it; the rest of the driver's message (never the statement or its
parameters) follows in brackets. Anything else stays a bug, shown as one.
"""

from __future__ import annotations

from sqlalchemy.exc import DatabaseError, DataError, IntegrityError, NotSupportedError, OperationalError, ProgrammingError

from hub.errors import HubError, StoreError

__all__ = ["StoreBusy", "as_hub_error", "in_words"]


class StoreBusy(StoreError):
    """The store was busy or out of reach: nothing is wrong with what was asked, only not now."""

    exit_code = 75  # EX_TEMPFAIL, as for a connection running elsewhere


_RESUMES = "a run resumes after its last committed batch; what was being written when it failed was not kept"

# (words the driver uses, what it means, what to do, busy: worth trying again as it is)
_CONDITIONS = (
    (
        ("database or disk is full", "no space left on device", "could not extend file"),
        "the disk holding it is full",
        f"free space on that disk and run again: {_RESUMES}",
        False,
    ),
    (
        ("readonly database", "read-only"),
        "it may not be written",
        "the store's file and its folder must be writable by the user the hub runs as (PostgreSQL: the primary, not a read-only replica)",
        False,
    ),
    (("disk i/o error",), "the disk failed to read or write", f"check the disk, then run again: {_RESUMES}", False),
    (
        ("file is not a database", "database disk image is malformed"),
        "its file is damaged or is not a hub store",
        "restore it from a backup, or point `store:` at the right file",
        False,
    ),
    (("database is locked",), "another process held it past the busy timeout", "try again shortly", True),
    (("unable to open database file",), "its file cannot be opened", "check that the folder exists and may be written", False),
    (
        (
            "connection refused",
            "could not connect",
            "server closed the connection",
            "connection timed out",
            "terminating connection",
            "connection is closed",
            "connection failed",
            "the database system is shutting down",
            "the database system is starting up",
        ),
        "its server could not be reached",
        f"check that the database server is up; {_RESUMES}",
        True,
    ),
)


def in_words(exc: BaseException, where: str = "store") -> StoreError | None:
    """``exc`` as a StoreError saying what happened to the store and what to do; None when it is not such a failure.

    ``where`` starts the message: "store", or the store's address when it is not obvious.
    """
    if not isinstance(exc, DatabaseError) or isinstance(exc, IntegrityError | DataError | ProgrammingError | NotSupportedError):
        return None  # a statement the hub got wrong: a bug
    said = (str(exc.orig if exc.orig is not None else exc).strip().splitlines() or [type(exc).__name__])[0]
    lowered = said.lower()
    for words, meaning, hint, busy in _CONDITIONS:
        if any(w in lowered for w in words):
            return (StoreBusy if busy else StoreError)(f"{where}: {meaning} ({said})", hint=hint)
    if isinstance(exc, OperationalError):
        return StoreError(f"{where}: the database refused ({said})", hint=_RESUMES)
    return None


def as_hub_error(exc: HubError | DatabaseError) -> HubError:
    """A failure of the store as the HubError it means; a DatabaseError that is a bug is raised again.

    For the loops that must outlive a PostgreSQL failover (the scheduler's, a worker's): the
    driver's OperationalError reaches them as it is, not as a HubError, and one that was not
    caught ended ``hub serve`` a second after the database went away.
    """
    if isinstance(exc, HubError):
        return exc
    said = in_words(exc)
    if said is None:
        raise exc
    return said
