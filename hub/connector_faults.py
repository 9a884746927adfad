"""Errors raised inside a plugin's connector, said as that connector's, not as the hub's.

A connector from a plugin is code the hub does not own. When its ``check``, its streams'
``read`` or its ``write`` raised anything but a HubError (a KeyError, the JSONDecodeError of
an answer it did not expect), ``hub check`` said "internal error ... report it" and exited 3,
pointing at the hub, and a run failed with "KeyError: 'status'", naming neither the
connector nor the plugin. Here such an error becomes a :class:`ConnectorFault` that names
the connection, the connector, its plugin and what it was doing; ``HUB_DEBUG=1`` still shows
the traceback, chained, for whoever maintains the plugin.

Connectors that ship with the hub are left alone: a fault of theirs is the hub's own, which
the command line reports as an internal error to be reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from hub.errors import ConnectorFault, HubError
from hub.sdk import Connector, Stream

__all__ = ["connector_code", "fault", "stream_rows", "streams_of"]


def fault(connector: Connector, doing: str, exc: Exception) -> ConnectorFault:
    """``exc``, raised by ``connector``'s own code while ``doing``, as an error naming who raised it."""
    ctx = connector.context
    return ConnectorFault(
        f"connection {ctx.connection!r}: connector {connector.name!r} (plugin {ctx.plugin!r}) failed {doing}: {type(exc).__name__}: {exc}",
        hint="the error came from the connector's own code, not from the hub: "
        "run again with HUB_DEBUG=1 to see where, for whoever maintains the plugin",
    )


@contextmanager
def connector_code(connector: Connector | None, doing: str, *, keep: tuple[type[Exception], ...] = ()) -> Iterator[None]:
    """Around a call into ``connector``: a plugin's unexpected error becomes its fault (``keep``: errors the caller handles)."""
    try:
        yield
    except (HubError, *keep):
        raise
    except Exception as exc:
        if connector is None or connector.context.shipped:
            raise
        raise fault(connector, doing, exc) from exc


def streams_of(connector: Connector) -> list[Stream]:
    """``connector.streams()``, a plugin's unexpected error in listing them raised as its fault."""
    with connector_code(connector, "listing its streams"):
        return list(connector.streams())


def stream_rows(stream: Stream, doing: str, read: Callable[[], Iterable]) -> Iterable:
    """What ``read()`` (``stream.read(cursor)``, ``stream.sample(n)``) gives, a plugin's unexpected error in it raised as its fault.

    The call and each step to the next row are guarded; what the hub does with each row
    happens outside, so a fault of the hub's is never put on the connector. A shipped
    connector's rows are handed on as they are, without a step of Python between.
    """
    connector = stream.connector
    with connector_code(connector, doing):
        rows = read()
    if connector is None or connector.context.shipped:
        return rows
    return _guarded(iter(rows), connector, doing)


def _guarded(it: Iterator, connector: Connector, doing: str) -> Iterator:
    try:
        while True:
            try:
                row = next(it)
            except StopIteration:
                return
            except HubError:
                raise
            except Exception as exc:
                raise fault(connector, doing, exc) from exc
            yield row
    finally:
        # Stopped early (``hub check`` tries the first rows only): the stream's files and
        # connections are let go now, as they were when the hub held the stream's iterator itself.
        close = getattr(it, "close", None)
        if close is not None:
            close()
