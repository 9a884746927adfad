"""Errors the hub raises, and what a person or script should make of each.

Every error a user can meet is a :class:`HubError`: the CLI prints its message (never a
traceback) and exits with its ``exit_code``. Record-level problems are not exceptions that
stop a run: they become quarantine rows. The tree::

    HubError                      exit 2 unless said otherwise
    ├── ConfigError               the config file or a connection's settings are wrong
    │   └── UnknownConnectorError the config names a connector no plugin provides
    ├── InputError                a file from outside cannot be read (encoding, columns, format)
    ├── StoreError                the store cannot be opened or migrated
    ├── PluginError               a built-in plugin failed to load, or a hook is malformed
    ├── ConnectorError            a connector failed while talking to its system
    │   ├── CheckFailed           ``check()`` found the system unreachable with these settings
    │   ├── ConnectorFault        a plugin's connector raised something else (its own bug)
    │   └── DeliveryError         a destination refused or could not take a batch
    │       └── TransientDeliveryError  worth retrying later (timeouts, 5xx, 429)
    └── NotFoundError             a run, quarantine entry or connection that does not exist

    RecordError                   one record is bad; the pipeline quarantines it (not a HubError)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "CheckFailed",
    "ConfigError",
    "ConnectorError",
    "ConnectorFault",
    "DeliveryError",
    "HubError",
    "InputError",
    "NotFoundError",
    "PluginError",
    "RecordError",
    "RecordProblem",
    "StoreError",
    "TransientDeliveryError",
    "UnknownConnectorError",
]


class HubError(Exception):
    """Base of every error shown to a user; ``exit_code`` is what the CLI exits with."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(HubError):
    """The config or a connection's settings are invalid; ``problems`` lists each with its key path."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems or []

    def __str__(self) -> str:
        lines = [self.message, *(f"  - {p}" for p in self.problems)]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)


class UnknownConnectorError(ConfigError):
    """The config names a connector that no loaded plugin registers."""


class InputError(HubError):
    """A file or body from outside cannot be read at all (not one bad record: the whole input)."""

    @classmethod
    def no_such_file(cls, path, hint: str | None = None) -> InputError:
        """A file that is not there, said alike by every reader (a connection's or the command line's)."""
        return cls(
            f"{path}: no such file",
            hint=hint
            or "check the path: a connection's settings path is taken from its hub.yaml's folder, a file named on the command line"
            " from the current folder",
        )


class StoreError(HubError):
    """The store cannot be reached, created or migrated."""


class PluginError(HubError):
    """A built-in plugin failed to load, or a plugin broke the hook contract."""


class ConnectorError(HubError):
    """A connector failed while talking to the system it connects to."""


class ConnectorFault(ConnectorError):
    """A plugin's connector raised an error that is not a HubError: a fault in its own code (hub.connector_faults)."""


class CheckFailed(ConnectorError):
    """``Connector.check()`` could not reach or read the system with the given settings."""


class DeliveryError(ConnectorError):
    """A destination could not take a batch; permanent unless it is a TransientDeliveryError."""


class TransientDeliveryError(DeliveryError):
    """A delivery failure worth retrying: timeouts, connection errors, 5xx, 429.

    A destination that sends a batch in several requests and fails part-way says what the
    destination already took (``delivered``: idempotency keys) and refused (``rejected``), so
    only the rest is sent again: a partner that ignores ``Idempotency-Key`` gets nothing twice.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        delivered: Sequence[str] = (),
        rejected: Mapping[str, list[RecordProblem]] | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.delivered = tuple(delivered)
        self.rejected = dict(rejected or {})


class NotFoundError(HubError):
    """A run, quarantine entry, connection or entity that does not exist."""

    exit_code = 2


@dataclass(frozen=True)
class RecordProblem:
    """One thing wrong with one record: where (a dotted field path), which rule, in words."""

    path: str
    rule: str
    message: str
    params: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        """The JSON form used in quarantine rows and ``--json`` output."""
        return {"path": self.path, "rule": self.rule, "message": self.message}


class RecordError(Exception):
    """A single record cannot be mapped or transformed; it goes to quarantine, the batch goes on."""

    def __init__(self, problems: list[RecordProblem], partial: dict | None = None) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems
        self.partial = partial  # what could be mapped, so validation can report the rest too
