"""A fork server for the suite's ``hub`` commands: each command is still its own process.

The tests run ``hub`` over a thousand times per store. Starting a Python interpreter and
importing the hub (SQLAlchemy, FastAPI, rich, jsonschema...) costs about a second of CPU each
time, which made the suite's CPU, not its waiting, the bulk of CI's time.

This server imports the hub's command line and its libraries once, then forks one child per
command. The child is a process of its own, as ``subprocess.run([python, "-m", "hub", ...])``
would make: its own pid, working folder, environment, stdin from a file or /dev/null, stdout
and stderr to files, and an exit status the server reports as ``subprocess`` does (``-9`` for
SIGKILL). It runs ``hub/__main__.py`` and ends the way the interpreter would (non-daemon
threads joined, atexit handlers run, streams flushed). The server's stdout and stderr are never
a terminal (a pipe, a log file), so what the hub decides at import from them (160 columns, no
colour) is what it decides under ``capture_output``.

Protocol, one connection per command on a Unix socket: the client sends one JSON line
``{"argv", "cwd", "env", "in", "out", "err"}``; the server answers the child's pid on a line as
soon as it exists, and its exit code on a second line once it has ended.

What the interpreter decides at start from the environment (``PYTHON*`` variables, the locale)
cannot differ between a forked child and its server; ``HubFolder.hub`` runs such commands as
fresh interpreters, and so does every command when ``WASL_TEST_FRESH_PROCESSES=1``.
"""

from __future__ import annotations

import atexit
import json
import os
import runpy
import select
import signal
import socket
import sys
import threading
import time
import traceback

# Imported once here, spared to every command. Of the hub's own modules only ``hub.cli``, which
# every command imports as it starts: a module that a command imports later (the API, the web
# admin, a connector) is imported afresh in the child, so a command that forgot an import fails
# here as it would for a user. The libraries those modules use are imported here: their import
# is the same in every process.
PRELOAD = (
    "hub.cli",
    *("alembic", "apscheduler", "argon2", "babel", "celery", "cron_descriptor", "defusedxml", "fastapi", "httpx"),
    *("jinja2", "jsonschema", "jsonschema_rs", "mt940", "openpyxl", "prometheus_client", "psycopg", "pydantic"),
    *("rapidfuzz", "schwifty", "starlette", "tenacity", "uvicorn", "yaml"),
    *("email", "multiprocessing", "smtplib", "ssl", "zipfile"),
)


def _child(request: dict, inherited: list[socket.socket], wake_r: int, wake_w: int) -> None:
    """In the forked child: become ``python -m hub ARGV`` and never return."""
    code = 1
    try:
        for sock in inherited:  # the listener and the other commands' connections are the server's
            sock.close()
        os.close(wake_r)
        os.close(wake_w)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stdin = os.open(request["in"], os.O_RDONLY)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        err = os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, target in ((stdin, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        sys.path[0] = os.getcwd()  # as ``python -m`` puts the working folder first
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()
        code = _run_hub(request["argv"])
    except BaseException:  # noqa: BLE001 - say why on the command's stderr, exit 1
        traceback.print_exc()
    finally:
        os._exit(code)


def _run_hub(argv: list[str]) -> int:
    """Run ``hub/__main__.py`` as ``python -m hub`` would, and end as the interpreter ends."""
    sys.argv = ["hub", *argv]
    try:
        runpy.run_module("hub", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = _exit_code(e.code)
    except BaseException:  # noqa: BLE001 - the interpreter prints it and exits 1; so do we
        traceback.print_exc()
        code = 1
    try:
        threading._shutdown()  # noqa: SLF001 - what interpreter exit does: join non-daemon threads
        atexit._run_exitfuncs()  # noqa: SLF001
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed stream has nothing left to flush
                pass
    return code


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def serve(path: str) -> None:
    """Import ``PRELOAD``, then fork a child per request on the Unix socket at ``path`` until stdin closes."""
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    if threading.active_count() != 1:  # forking a process with threads copies their locks mid-use
        raise RuntimeError(f"importing the hub started threads: {threading.enumerate()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake select through the pipe
    waiting: dict[int, socket.socket] = {}
    print("ready", flush=True)  # on the pipe the client reads, before stdout becomes /dev/null
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    while True:
        readable, _, _ = select.select([listener, wake_r, 0], [], [])
        if 0 in readable and not os.read(0, 4096):
            return  # the suite closed our stdin: it has ended, or died
        if wake_r in readable:
            os.read(wake_r, 4096)
        if listener in readable:
            conn, _ = listener.accept()
            request = json.loads(conn.makefile("r", encoding="utf-8").readline())
            pid = os.fork()
            if pid == 0:
                _child(request, [listener, conn, *waiting.values()], wake_r, wake_w)
            conn.sendall(f"{pid}\n".encode())
            waiting[pid] = conn
        while waiting:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = waiting.pop(pid, None)
            if conn is not None:
                try:
                    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                except OSError:
                    pass  # the client gave up waiting
                conn.close()


if __name__ == "__main__":
    serve(sys.argv[1])
