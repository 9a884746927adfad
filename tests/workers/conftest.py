"""A real Redis server on 127.0.0.1 for the Celery tests (Debian's redis-server, which .ci/run installs)."""

from __future__ import annotations

import shutil
import subprocess
import time

import pytest
import redis

from hub.localport import free_port


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed: .ci/run installs Debian's redis-server package"
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if _answers_as_ours(proc, port, tmp_path):
            break
        proc.kill()
        proc.wait()
    else:
        raise AssertionError("redis did not start on any of five free ports")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _answers_as_ours(proc: subprocess.Popen, port: int, folder) -> bool:
    """Whether the Redis on ``port`` is ``proc``: the other leg of CI may have picked the same free port."""
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    try:
        while proc.poll() is None:
            try:
                return client.config_get("dir")["dir"] == str(folder) and proc.poll() is None
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis did not start"
                time.sleep(0.1)
        return False  # it exited: the port was taken
    finally:
        client.close()


def listening_workers(redis_url: str) -> int:
    """How many workers wait on the queue now: each idle worker blocks in BRPOP on the broker."""
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(c.get("cmd") == "brpop" for c in client.client_list())
    finally:
        client.close()
