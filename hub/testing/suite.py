"""The standard acceptance checks, generated for a connector by subclassing ``ConnectorSuite``.

Each check is one test method named ``test_kit_*``. Sources are read through the hub's own
per-record pipeline (mapping, transforms, validation), so "records validate" means what it
means in a real run. A check that does not apply to the connector (a destination-only
connector has no records to read) is not generated for it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest

from hub.cursors import cursor_problem
from hub.errors import CheckFailed, ConfigError
from hub.mapping import identity_mapping
from hub.pipeline.prepare import Preparer, Rejected
from hub.sdk import Connector, ConnectorContext, Cursor, Delivery, SourceRow, StreamConfig
from hub.store.records import Prepared

__all__ = ["ConnectorSuite", "read_stream"]


def read_stream(stream, cursor: Cursor) -> list[tuple[Any, Any]]:
    """Every raw record of ``stream`` from ``cursor``, each with a copy of the cursor after it."""
    import copy

    out = []
    for row in stream.read(cursor):
        data = row.data if isinstance(row, SourceRow) else row
        out.append((data, copy.deepcopy(cursor.value)))
    return out


def _preparer(connection: str, stream) -> Preparer:
    from hub.mapping import compile_mapping

    cfg = stream.config
    mapping = compile_mapping(cfg.mapping, where=f"{connection}.mapping", keep_unmapped=cfg.keep_unmapped) if cfg and cfg.mapping else None
    if mapping is None and stream.columns() is not None:
        mapping = identity_mapping(stream.entity, stream.columns(), connection)
    return Preparer(stream.entity, stream.key, mapping, [], {"connection": connection, "stream": stream.name})


class ConnectorSuite:
    """Subclass with ``connector`` set and ``settings``/``bad_settings`` defined to get the checks."""

    connector: ClassVar[type[Connector]]
    streams: ClassVar[list[StreamConfig]] = []
    timezone: ClassVar[str] = "Asia/Damascus"

    # ---- what a connector's test provides
    def settings(self, tmp_path: Path, server) -> dict:
        """Settings with which the connector works (files written to ``tmp_path``, APIs on ``server``)."""
        raise TypeError(f"{type(self).__name__} must define settings(tmp_path, server)")

    def bad_settings(self, tmp_path: Path, server) -> dict:
        """Settings that are valid by the schema but with which ``check()`` must fail."""
        raise TypeError(f"{type(self).__name__} must define bad_settings(tmp_path, server)")

    def add_newer_records(self, tmp_path: Path, server, settings: dict) -> list[Any] | None:
        """For incremental sources: add records after the ones already there; return their ids."""
        return None

    def sample_records(self) -> dict[str, list[dict]]:
        """For destinations: records to write, by entity (valid common-schema records)."""
        return {}

    def read_back(self, tmp_path: Path, server, settings: dict, entity: str) -> list[dict]:
        """For destinations: what the destination now holds for ``entity``."""
        raise TypeError(f"{type(self).__name__} must define read_back() to test writes")

    # ---- helpers
    def open(self, settings: dict, tmp_path: Path) -> Connector:
        ctx = ConnectorContext(
            connection="kit", base_dir=tmp_path, streams=tuple(self.streams), timezone=self.timezone, log=logging.getLogger("kit")
        )
        return self.connector(settings, ctx)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # Only the checks that apply are generated: no skipped tests for the other kind.
        conn = getattr(cls, "connector", None)
        if conn is None:
            return
        if not conn.is_source():
            cls.test_kit_records_validate = None
            cls.test_kit_resume_from_saved_state_yields_only_the_rest = None
        if not getattr(conn.stream_class, "may_sample", False):
            cls.test_kit_sample_is_read_rows_and_changes_nothing = None
        if not conn.is_destination():
            cls.test_kit_write_is_idempotent = None
        if not conn.is_destination() or conn.max_in_flight <= 1:
            cls.test_kit_concurrent_writes_land_once = None

    @pytest.fixture
    def kit_server(self):
        """A local HTTP server for connectors that call APIs (unused by file connectors)."""
        from hub.testing.server import TestServer

        with TestServer() as server:
            yield server

    # ---- the standard checks
    def test_kit_settings_schema_is_valid(self, tmp_path, kit_server):
        jsonschema.Draft202012Validator.check_schema(self.connector.settings_schema)
        good = self.settings(tmp_path, kit_server)
        errors = list(jsonschema.Draft202012Validator(self.connector.settings_schema).iter_errors(good))
        assert errors == [], f"the good settings do not satisfy the settings schema: {[e.message for e in errors]}"
        assert self.connector.name and (self.connector.is_source() or self.connector.is_destination())

    def test_kit_check_passes_on_good_settings(self, tmp_path, kit_server):
        conn = self.open(self.settings(tmp_path, kit_server), tmp_path)
        try:
            detail = conn.check()
        finally:
            conn.close()
        assert isinstance(detail, str) and detail.strip()

    def test_kit_check_fails_clearly_on_bad_settings(self, tmp_path, kit_server):
        self.settings(tmp_path, kit_server)
        bad = self.bad_settings(tmp_path, kit_server)
        conn = self.open(bad, tmp_path)
        with pytest.raises((CheckFailed, ConfigError)) as exc:
            try:
                conn.check()
            finally:
                conn.close()
        message = str(exc.value)
        assert message.strip() and "Traceback" not in message
        for v in bad.values():
            if isinstance(v, str) and ("token" in v.lower() or "secret" in v.lower()):
                assert v not in message, "a secret appears in the error"

    def test_kit_records_validate(self, tmp_path, kit_server):
        conn = self.open(self.settings(tmp_path, kit_server), tmp_path)
        total = 0
        try:
            for stream in conn.streams():
                prep = _preparer("kit", stream)
                for data, _ in read_stream(stream, Cursor(None)):
                    out = prep.prepare(data, None)
                    assert isinstance(out, Prepared), (
                        f"record does not validate: {[p.as_dict() for p in out.problems] if isinstance(out, Rejected) else out}"
                    )
                    total += 1
        finally:
            conn.close()
        assert total > 0, "the good settings should reach some records"

    def test_kit_resume_from_saved_state_yields_only_the_rest(self, tmp_path, kit_server):
        settings = self.settings(tmp_path, kit_server)
        conn = self.open(settings, tmp_path)
        try:
            for stream in conn.streams():
                rows = read_stream(stream, Cursor(None))
                assert len(rows) >= 2, "give the good settings at least two records"
                for _, saved in rows:
                    # What the stream saves, ``hub state set`` and the next run must accept.
                    problem = cursor_problem(stream, saved)
                    assert problem is None, f"the cursor {saved!r} does not meet the stream's cursor_schema: {problem}"
                k = len(rows) // 2
                resumed = [d for d, _ in read_stream(stream, Cursor(rows[k - 1][1]))]
                rest = [d for d, _ in rows[k:]]
                head = [d for d, _ in rows[:k]]
                assert all(r in resumed for r in rest), "resuming lost records"
                extra = [r for r in resumed if r not in rest]
                assert all(r == head[-1] or r in head[-1:] for r in extra), "resuming re-read records before the saved position"
                newer = self.add_newer_records(tmp_path, kit_server, settings)
                if newer is not None and stream.cursor_field:
                    again = read_stream(stream, Cursor(rows[-1][1]))
                    got = [d for d, _ in again if d not in [x for x, _ in rows]]
                    assert len(got) == len(newer), f"expected only the {len(newer)} newer record(s), got {len(got)}"
        finally:
            conn.close()

    def test_kit_sample_is_read_rows_and_changes_nothing(self, tmp_path, kit_server):
        """A stream that ``may_sample`` gives ``hub check`` rows its read gives too, and a read after it gives them all."""
        conn = self.open(self.settings(tmp_path, kit_server), tmp_path)
        try:
            for stream in conn.streams():
                before = [d for d, _ in read_stream(stream, Cursor(None))]
                sampled = []
                for row in stream.sample(2):
                    sampled.append(row.data if isinstance(row, SourceRow) else row)
                    if len(sampled) == 2:
                        break  # hub check stops reading there, as this does
                assert sampled, f"stream {stream.name}: the sample gave no rows"
                assert all(r in before for r in sampled), f"stream {stream.name}: the sample gave rows the read does not"
                after = [d for d, _ in read_stream(stream, Cursor(None))]
                assert after == before, (
                    f"stream {stream.name}: reading after a sample gave other rows (may_sample promises it changes nothing)"
                )
        finally:
            conn.close()

    def test_kit_write_is_idempotent(self, tmp_path, kit_server):
        settings = self.settings(tmp_path, kit_server)
        samples = self.sample_records()
        assert samples, "define sample_records() to test writes"
        for entity, records in samples.items():
            batch = [Delivery(f"{entity}:{i}:v1", entity, str(i), 1, r) for i, r in enumerate(records)]
            for _ in range(2):
                conn = self.open(settings, tmp_path)
                try:
                    result = conn.write(entity, batch)
                finally:
                    conn.close()
                assert not result.rejected, result.rejected
            stored = self.read_back(tmp_path, kit_server, settings, entity)
            assert len(stored) == len(records), f"{entity}: wrote {len(records)} twice, the destination holds {len(stored)}"

    def test_kit_concurrent_writes_land_once(self, tmp_path, kit_server):
        """A destination that declares ``max_in_flight`` is given that many batches at once, from as many threads."""
        from concurrent.futures import ThreadPoolExecutor

        settings = self.settings(tmp_path, kit_server)
        samples = self.sample_records()
        assert samples, "define sample_records() to test writes"
        conn = self.open(settings, tmp_path)
        try:
            for entity, records in samples.items():
                # One record per batch, every batch twice, as many at once as the connector allows.
                batches = [[Delivery(f"{entity}:{i}:v1", entity, str(i), 1, r)] for i, r in enumerate(records)] * 2
                with ThreadPoolExecutor(conn.max_in_flight) as pool:
                    results = list(pool.map(conn.write, [entity] * len(batches), batches))
                assert all(not r.rejected for r in results), [r.rejected for r in results]
                stored = self.read_back(tmp_path, kit_server, settings, entity)
                assert len(stored) == len(records), f"{entity}: {len(records)} records sent at once, the destination holds {len(stored)}"
        finally:
            conn.close()
