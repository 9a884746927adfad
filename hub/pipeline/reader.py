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

import gc
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing import Pipe
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows, where the reader is not forked either
    fcntl = None  # type: ignore[assignment]

from hub.connector_faults import stream_rows
from hub.errors import HubError
from hub.pipeline.prepare import Preparer, Rejected
from hub.sdk import Cursor, SourceRow, Stream
from hub.store.records import Prepared, prepared_from

__all__ = ["Batch", "batches", "can_fork", "forked_batches", "prepare_rows"]


@dataclass(slots=True)
class Batch:
    """What one commit writes: rows read, prepared records, rejections, the cursor after them.

    ``read`` counts every row: the prepared, the rejected and the ``skipped`` (the lines of
    the rows the stream's skip rules name as not records, for ``hub check`` to show).
    """

    read: int
    prepared: list[Prepared]
    rejected: list[Rejected]
    cursor: Any
    skipped: list[int | None] = field(default_factory=list)


def batches(stream: Stream, cursor: Cursor, preparer: Preparer, size: int) -> Iterator[Batch]:
    """Read and prepare ``stream`` from ``cursor``, ``size`` rows at a time; the last batch may be empty."""
    rows = stream_rows(stream, f"reading stream {stream.name!r}", lambda: stream.read(cursor))
    return prepare_rows(rows, cursor, preparer, size)


def prepare_rows(rows: Iterable[SourceRow | dict], cursor: Cursor, preparer: Preparer, size: int) -> Iterator[Batch]:
    """Prepare a stream's ``rows`` (a read from ``cursor``, or ``hub check``'s sample), ``size`` at a time."""
    prepared: list = []
    rejected: list = []
    skipped: list = []
    read = 0
    prepare = preparer.bound()
    for row in rows:
        read += 1
        if row.__class__ is SourceRow:
            data, line, problems = row
            out = Rejected("read", line, data, list(problems)) if problems else prepare(data, line)
        else:
            line = None
            out = prepare(row, None)
        if out is None:  # a row the stream's skip rules name
            skipped.append(line)
        else:
            (prepared if out.__class__ is Prepared else rejected).append(out)
        if read >= size:
            yield Batch(read, prepared, rejected, cursor.value, skipped)
            prepared, rejected, skipped, read = [], [], [], 0
    yield Batch(read, prepared, rejected, cursor.value, skipped)


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
            # Encoded now, at the batch boundary: the cursor snapshot is the one after its last row.
            send.send_bytes(_encode(batch))
        send.send_bytes(pickle.dumps(None))
    except (BrokenPipeError, ConnectionResetError):
        code = 1  # the parent is gone: nothing to report to
    except HubError as exc:
        _show_where()
        _report(send, type(exc).__name__, exc.message, exc.hint)
        code = 1
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
        _show_where()
        _report(send, "internal", f"{type(exc).__name__}: {exc}", None)
        code = 1
    finally:
        os._exit(code)


def _show_where() -> None:
    """With ``HUB_DEBUG``, the reader's own traceback on stderr: only the message crosses the pipe.

    The parent's traceback ends where it received the message, so the line in the stream's
    code that failed (a plugin's, say) would otherwise be shown nowhere.
    """
    if os.environ.get("HUB_DEBUG"):
        traceback.print_exc()
        sys.stderr.flush()


def _report(send, kind: str, message: str, hint: str | None) -> None:
    try:
        send.send_bytes(pickle.dumps(_ReaderFailed(kind, message, hint)))
    except OSError:
        pass


def _widen(conn) -> None:
    """Give the pipe the largest buffer the system allows (Linux: 1 MiB; the default is 64 KiB)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl else None
    if setsize is None:
        return
    try:
        with open("/proc/sys/fs/pipe-max-size") as f:
            size = int(f.read())
        fcntl.fcntl(conn.fileno(), setsize, size)
    except (OSError, ValueError):
        pass  # a smaller pipe still works, only slower


# Batches received ahead of the commits (about 1.5 MiB each for donations). A pipe holds at
# most 1 MiB: without this the reader would stop, mid-send, until each commit finished, and
# the two processes would take turns instead of working at once.
_AHEAD = 8
_EOF = object()


class _Receiver:
    """Reads and decodes the reader's messages from a thread into a bounded queue.

    The parent spends most of a batch inside SQLite, which releases the interpreter lock, so
    this thread drains the pipe, unpickles and rebuilds the records while the commit runs
    (about 1.3 ms a batch of 5000 taken off the committing thread). The bound keeps
    back-pressure: when the parent falls behind, the queue fills, the pipe fills and the
    reader waits.
    """

    def __init__(self, recv) -> None:
        self._recv = recv
        self._queue: queue.Queue = queue.Queue(maxsize=_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="reader-receive", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        while not self._stop.is_set():
            try:
                item = _decode(self._recv.recv_bytes())
            except (EOFError, OSError):
                item = _EOF
            except Exception as exc:  # noqa: BLE001 - handed to the committing thread, which raises it
                item = _ReaderFailed("internal", f"a batch from the reader could not be read: {type(exc).__name__}: {exc}", None)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item is _EOF:
                return

    def get(self) -> Batch | _ReaderFailed | None | object:
        """The next batch, the reader's error, None at the end, or ``_EOF`` if the reader vanished."""
        return self._queue.get()

    def stop(self) -> None:
        """Stop the thread; the reader must be dead (or done) so that its read returns."""
        self._stop.set()
        self._thread.join()


def _encode(batch: Batch) -> bytes:
    """A batch as the reader sends it; :func:`_decode` reads it back in the parent.

    Records travel as four columns of strings: a list of str pickles and unpickles several
    times faster than a list of tuples, and allocates far fewer objects.
    """
    columns = tuple(zip(*batch.prepared)) if batch.prepared else ()
    return pickle.dumps((batch.read, columns, batch.rejected, batch.cursor, batch.skipped), protocol=pickle.HIGHEST_PROTOCOL)


def _decode(message: bytes) -> Batch | _ReaderFailed | None:
    """What the reader sent: a batch, its error, or None at the end."""
    item = pickle.loads(message)
    if item is None or isinstance(item, _ReaderFailed):
        return item
    read, columns, rejected, cursor_value, skipped = item
    return Batch(read, list(map(prepared_from, zip(*columns))), rejected, cursor_value, skipped)


def forked_batches(stream: Stream, cursor: Cursor, preparer: Preparer, size: int) -> Iterator[Batch]:
    """The same batches as :func:`batches`, produced by a forked reader process."""
    recv, send = Pipe(duplex=False)
    _widen(send)
    pid = os.fork()
    if pid == 0:  # the reader
        recv.close()
        # Ctrl-C, and the SIGTERM a service manager or `timeout` sends every process of the
        # group, are the parent's to handle: it stops after its batch, then ends this one. The
        # parent's handlers, inherited, would otherwise act (and speak) here a second time.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Everything inherited stays alive until the reader exits: keeping it out of the
        # collector's sight spares each full collection a walk over the whole heap.
        gc.freeze()
        _reader(send, stream, cursor, preparer, size)
    send.close()
    receiver = _Receiver(recv)
    finished = False
    try:
        while True:
            item = receiver.get()
            if item is _EOF:
                raise HubError("the reader process stopped without finishing (killed?)")
            if item is None:
                finished = True
                return
            if isinstance(item, _ReaderFailed):
                from hub import errors

                cls = getattr(errors, item.kind, None)
                if isinstance(cls, type) and issubclass(cls, HubError) and cls.__init__ is HubError.__init__:
                    raise cls(item.message, hint=item.hint)
                raise HubError(item.message, hint=item.hint)
            yield item
    finally:
        if not finished:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.waitpid(pid, 0)  # the reader is gone: its end of the pipe is closed, the thread's read returns
        receiver.stop()
        recv.close()
