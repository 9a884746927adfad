"""Producing batches: read a stream and prepare its records, in this process or a forked one.

Preparing records (mapping, transforms, validation, hashing) is pure Python work per record;
committing them is database work per batch. On a machine with more than one core the hub
forks a reader process that reads and prepares while the parent commits, so the two overlap.
The parent alone touches the store, and commits batches in the order they were read, each
with the cursor the reader had reached at its last row: crash safety is the same as in one
process. The reader exits (``os._exit``, never touching the parent's store connections) when
it is done, when the parent goes away (broken pipe), or on its own error, which it reports.
"""

from __future__ import annotations

import os
import pickle
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import Pipe
from typing import Any

from hub.errors import HubError
from hub.pipeline.prepare import Preparer, Rejected
from hub.sdk import Cursor, SourceRow, Stream
from hub.store.records import Prepared

__all__ = ["Batch", "batches", "forked_batches", "can_fork"]


@dataclass(slots=True)
class Batch:
    """What one commit writes: rows read, prepared records, rejections, the cursor after them."""

    read: int
    prepared: list[Prepared]
    rejected: list[Rejected]
    cursor: Any


def batches(stream: Stream, cursor: Cursor, preparer: Preparer, size: int) -> Iterator[Batch]:
    """Read and prepare ``stream`` from ``cursor``, ``size`` rows at a time; the last batch may be empty."""
    prepared: list = []
    rejected: list = []
    read = 0
    prepare = preparer.prepare
    for row in stream.read(cursor):
        read += 1
        if row.__class__ is SourceRow:
            if row.problems:
                rejected.append(Rejected("read", row.line, row.data, list(row.problems)))
                out = None
            else:
                out = prepare(row.data, row.line)
        else:
            out = prepare(row, None)
        if out is not None:
            (prepared if out.__class__ is Prepared else rejected).append(out)
        if read >= size:
            yield Batch(read, prepared, rejected, cursor.value)
            prepared, rejected, read = [], [], 0
    yield Batch(read, prepared, rejected, cursor.value)


def can_fork() -> bool:
    """Whether a reader process is worth having: fork exists and there is a second core."""
    return hasattr(os, "fork") and (os.cpu_count() or 1) > 1


class _ReaderFailed:
    """Sent by the reader instead of a batch when it stops on an error."""

    def __init__(self, kind: str, message: str, hint: str | None) -> None:
        self.kind, self.message, self.hint = kind, message, hint


def _reader(send, stream: Stream, cursor: Cursor, preparer: Preparer, size: int) -> None:
    code = 0
    try:
        for batch in batches(stream, cursor, preparer, size):
            # Pickled now, at the batch boundary: the cursor snapshot is the one after its last row.
            # Records travel as plain tuples, which pickle several times faster than objects.
            wire = (batch.read, [tuple(p) for p in batch.prepared], batch.rejected, batch.cursor)
            send.send_bytes(pickle.dumps(wire, protocol=pickle.HIGHEST_PROTOCOL))
        send.send_bytes(pickle.dumps(None))
    except (BrokenPipeError, ConnectionResetError):
        code = 1  # the parent is gone: nothing to report to
    except HubError as exc:
        _report(send, type(exc).__name__, exc.message, exc.hint)
        code = 1
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        _report(send, "internal", f"{type(exc).__name__}: {exc}", None)
        code = 1
    finally:
        os._exit(code)


def _report(send, kind: str, message: str, hint: str | None) -> None:
    try:
        send.send_bytes(pickle.dumps(_ReaderFailed(kind, message, hint)))
    except OSError:
        pass


def forked_batches(stream: Stream, cursor: Cursor, preparer: Preparer, size: int) -> Iterator[Batch]:
    """The same batches as :func:`batches`, produced by a forked reader process."""
    recv, send = Pipe(duplex=False)
    pid = os.fork()
    if pid == 0:  # the reader
        recv.close()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        _reader(send, stream, cursor, preparer, size)
    send.close()
    finished = False
    try:
        while True:
            try:
                item = pickle.loads(recv.recv_bytes())
            except EOFError:
                raise HubError("the reader process stopped without finishing (killed?)") from None
            if item is None:
                finished = True
                return
            if isinstance(item, _ReaderFailed):
                from hub import errors

                cls = getattr(errors, item.kind, None)
                if isinstance(cls, type) and issubclass(cls, HubError) and cls.__init__ is HubError.__init__:
                    raise cls(item.message, hint=item.hint)
                raise HubError(item.message, hint=item.hint)
            read, prepared, rejected, cursor_value = item
            yield Batch(read, [Prepared._make(t) for t in prepared], rejected, cursor_value)
    finally:
        recv.close()
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)
