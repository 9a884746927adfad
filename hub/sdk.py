"""The connector SDK: what a connector author writes against.

A connector is a small class: a ``name``, a JSON Schema for its ``settings``, a ``check()``
that says whether the system is reachable, and either ``streams()`` (a source), ``write()``
(a destination) or both. A stream declares the entity it yields, its natural key and its
cursor field, so the cursor is visible where the stream is declared::

    class Submissions(Stream):
        entity = "distribution"
        cursor_field = "submitted_at"          # None: every run reads everything

        def read(self, cursor: Cursor) -> Iterator[SourceRow | dict]:
            for row in fetch(since=cursor.value):
                cursor.advance(row["submitted_at"])
                yield row

The pipeline takes what ``read`` yields in batches and saves ``cursor.value`` with each
batch, in the same transaction as the batch's records: a run that dies resumes from the last
committed batch. Destinations receive :class:`Delivery` items whose ``idempotency_key`` is the
same on every retry of one record version.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import orjson

from hub.errors import ConnectorError, RecordProblem
from hub.schema import entity_key

__all__ = [
    "Connector",
    "ConnectorContext",
    "Cursor",
    "Delivery",
    "SourceRow",
    "Stream",
    "StreamConfig",
    "WriteResult",
]


class SourceRow(NamedTuple):
    """One raw record from a source, with where it was found.

    ``line`` is what a person looks for in the source (a file's line or row number, an API
    page offset); ``problems`` is set when the source could not even parse the record (a
    line that is not JSON): the pipeline then quarantines ``data`` as it is.
    """

    data: Any
    line: int | None = None
    problems: tuple[RecordProblem, ...] | None = None


class Cursor:
    """A stream's position: a JSON-serialisable value the stream moves forward as it reads.

    The pipeline snapshots ``value`` at each batch boundary and commits it with the batch.
    """

    __slots__ = ("value",)

    def __init__(self, value: Any = None) -> None:
        self.value = value

    def advance(self, value: Any) -> None:
        """Record that everything up to and including ``value`` has been yielded."""
        self.value = value

    def __repr__(self) -> str:
        return f"Cursor({self.value!r})"


@dataclass(frozen=True)
class StreamConfig:
    """What the config says about one stream of a connection: entity, key, mapping, options."""

    name: str
    entity: str
    key: tuple[str, ...] = ()
    mapping: dict | None = None
    transforms: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)
    keep_unmapped: bool = True
    skip: tuple[dict, ...] = ()  # rows that are not records: see hub.skiprules
    report_deleted: bool = False  # the source holds every record: see hub.pipeline.gone


@dataclass
class ConnectorContext:
    """What the hub hands a connector: who it is, where relative paths start, how to log."""

    connection: str
    base_dir: Path
    streams: Sequence[StreamConfig] = ()
    timezone: str = "Asia/Damascus"
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("hub.connector"))
    # The plugin that registered the connector, and whether it ships with the hub: an error
    # its code raises is said as that plugin's (hub.connector_faults), not as the hub's.
    plugin: str = ""
    shipped: bool = False
    # The connections whose records are delivered to this one: what ``check`` may ask it to be
    # able to take (a token's write right, a folder's write permission).
    delivered_from: tuple[str, ...] = ()
    # The associations whose records those connections deliver, as far as the config says
    # (a connection's ``association:``, a mapping's constant ``association_id``).
    delivered_associations: tuple[str, ...] = ()

    def path(self, value: str | Path) -> Path:
        """A settings path made absolute against the config file's folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else (self.base_dir / p)


class Stream(abc.ABC):
    """One kind of record a source yields. Override ``read``; set the class attributes."""

    name: str = "default"
    entity: str = ""
    key: tuple[str, ...] = ()
    cursor_field: str | None = None
    # The JSON Schema of the cursor this stream saves, its "description" saying it in words.
    # Declared, ``hub state set`` refuses a value of another shape and a run refuses a saved one
    # (see hub.cursors); the kit checks every cursor the stream leaves against it.
    cursor_schema: dict | None = None
    # Whether reading the first rows and stopping has no effect at the source (a file, a query,
    # an API's GETs), so that ``hub check`` may put them through the mapping and the schema.
    # Not a drop folder, which moves the files it cannot read.
    may_sample: bool = False

    def __init__(self, config: StreamConfig | None = None, connector: Connector | None = None):
        self.config = config
        self.connector = connector
        if config is not None:
            self.name = config.name
            self.entity = config.entity or self.entity
            self.key = tuple(config.key) or tuple(self.key)
        if not self.key and self.entity:
            self.key = entity_key(self.entity)

    @abc.abstractmethod
    def read(self, cursor: Cursor) -> Iterator[SourceRow | dict]:
        """Yield raw records after ``cursor.value``, advancing the cursor as you go."""

    def columns(self) -> list[str] | None:
        """The source's column names, if it has a fixed set (files, SQL); used to check mappings."""
        return None

    def sample(self, rows: int) -> Iterator[SourceRow | dict]:
        """Some rows for ``hub check`` to try (it stops after ``rows``); only asked of a stream that ``may_sample``.

        The first rows of a full read, unless the source can give rows sooner in another
        order: a query without its cursor's ORDER BY, which on a large table would sort
        every row before the first comes.
        """
        return self.read(Cursor(None))

    # Whether a run that finishes reads every row of the source: a file read again from its
    # first row, a query without a cursor column. Only such a stream can name the records
    # whose rows were deleted (``report_deleted``); an incremental source never sees them go.
    reads_whole: bool = False

    def read_whole(self, before: Any, after: Any) -> bool:
        """Whether the finished read that took the cursor from ``before`` to ``after`` met every row.

        Only then does a stored record that the read did not meet tell something: it is no
        longer in the source (a row deleted from a spreadsheet). ``reads_whole`` unless a
        stream knows better: a file stream's read that resumed halfway did not.
        """
        return self.reads_whole

    def cursor_note(self, before: Any, after: Any) -> str | None:
        """What the run should say of a read that took the cursor from ``before`` to ``after``; None: nothing.

        For a move a person should hear of on the run itself, not only in a log: the ``wasl``
        source reading a restored hub's changes again from the start. Asked in the committing
        process with the committed cursors, so it holds when the read ran in a forked one.
        """
        return None

    def committed(self, cursor_value: Any) -> None:
        """Called after a batch was committed with ``cursor_value``: the time to acknowledge a source.

        A drop folder moves finished files to ``done/`` here, never earlier, so a crash cannot
        lose a file whose last records were not yet stored. Runs in the committing process.
        """
        return None  # most sources have nothing to acknowledge


class Delivery:
    """One record version to deliver; ``idempotency_key`` is stable across retries.

    ``raw`` is the record's canonical JSON text as stored, when the hub has it: a destination
    that sends JSON can send it as it is instead of serialising ``record`` again. ``record``
    (the parsed dict) is then parsed from ``raw`` only when a destination first asks for it:
    a destination that forwards the JSON never pays for parsing it (bench/ingest.py).
    """

    __slots__ = ("idempotency_key", "entity", "key", "version", "raw", "_record")

    def __init__(self, idempotency_key: str, entity: str, key: str, version: int, record: dict | None = None, raw: str | None = None):
        if record is None and raw is None:
            raise TypeError("a Delivery needs its record or its raw JSON")
        self.idempotency_key = idempotency_key
        self.entity = entity
        self.key = key
        self.version = version
        self.raw = raw
        self._record = record

    @property
    def record(self) -> dict:
        """The record as a dict (parsed from ``raw`` on first use)."""
        if self._record is None:
            self._record = orjson.loads(self.raw)
        return self._record

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Delivery):
            return NotImplemented
        return (self.idempotency_key, self.entity, self.key, self.version, self.record) == (
            other.idempotency_key,
            other.entity,
            other.key,
            other.version,
            other.record,
        )

    __hash__ = None  # mutable cache inside; compared by value

    def __repr__(self) -> str:
        return f"Delivery({self.idempotency_key!r}, {self.entity!r}, {self.key!r}, {self.version!r})"


@dataclass
class WriteResult:
    """What a destination did with a batch: rejections by idempotency key, with reasons.

    Every delivery not listed in ``rejected`` is taken as accepted (applied or already there).
    """

    rejected: dict[str, list[RecordProblem]] = field(default_factory=dict)


class Connector:
    """Base of every connector: declare ``name`` and ``settings_schema``; implement what applies."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    settings_schema: ClassVar[dict] = {"type": "object"}
    stream_class: ClassVar[type[Stream] | None] = None
    # How many batches ``write`` may be given at once, each from its own thread. Raise it only
    # for a destination that is thread-safe and applies record versions rather than arrival
    # order: a batch retried later can land after the one sent behind it.
    max_in_flight: int = 1

    def __init__(self, settings: dict, context: ConnectorContext) -> None:
        self.settings = settings
        self.context = context

    def check(self) -> str:
        """Reach the system with these settings; return a one-line description or raise CheckFailed."""
        return "ok"

    def streams(self) -> list[Stream]:
        """The streams this connection reads: by default one ``stream_class`` per configured stream."""
        if self.stream_class is None:
            return []
        return [self.stream_class(cfg, self) for cfg in self.context.streams]

    def write(self, entity: str, deliveries: Sequence[Delivery]) -> WriteResult:
        """Deliver a batch; raise TransientDeliveryError to retry later. Destinations override."""
        raise ConnectorError(f"connector {self.name!r} is not a destination")

    def held(self, entity: str) -> Iterator[tuple[str, int | None]] | None:
        """What this destination holds of the hub's ``entity`` records: (natural key, the version it was given).

        ``hub compare`` asks it, to tell what a destination lacks or holds older (the platform
        restored from a backup) without sending everything again. None: it cannot say.
        """
        return None

    def store_epoch(self) -> str | None:
        """Which store this destination keeps what it is given in: a name that changes when it loses it.

        Asked before each drain. A name other than the one it gave last (another Wasl hub
        restored from a backup, or replaced) queues every record for it again, since what
        the outbox marked delivered may be gone (hub.pipeline.destination_stores). None: it
        cannot tell (most destinations). TransientDeliveryError: it cannot be asked now.
        """
        return None

    def notices(self) -> list[str]:
        """What a person should do about this destination soon, said in each run that delivers to it.

        Asked after :meth:`store_epoch`, before each drain: another Wasl hub's token that lapses
        within two weeks, say, which would otherwise stop the deliveries one morning without
        warning. [] when there is nothing to say (most destinations).
        """
        return []

    def close(self) -> None:
        """Release files and connections; called once at the end of a run."""

    @classmethod
    def is_source(cls) -> bool:
        """True when the class reads records (has a stream class or overrides ``streams``)."""
        return cls.stream_class is not None or cls.streams is not Connector.streams

    @classmethod
    def is_destination(cls) -> bool:
        """True when the class overrides ``write``."""
        return cls.write is not Connector.write
