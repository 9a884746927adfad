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
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def listening_workers(redis_url: str) -> int:
    """How many workers wait on the queue now: each idle worker blocks in BRPOP on the broker."""
    client = redis.Redis.from_url(redis_url)
    try:
        return sum(c.get("cmd") == "brpop" for c in client.client_list())
    finally:
        client.close()
