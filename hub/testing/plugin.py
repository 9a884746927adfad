"""The ``wasl_hub_kit`` pytest plugin: fixtures for connector tests. Imports are lazy."""

from __future__ import annotations

import pytest


@pytest.fixture
def hub_server():
    """A running :class:`hub.testing.TestServer` on 127.0.0.1."""
    from hub.testing.server import TestServer

    with TestServer() as server:
        yield server
