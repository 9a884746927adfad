"""The connector kit: the acceptance suite every connector passes, and a local test server.

In a connector's own repository::

    from hub.testing import ConnectorSuite

    class TestMyConnector(ConnectorSuite):
        connector = MyConnector
        streams = [StreamConfig("rows", "distribution", mapping={...})]

        def settings(self, tmp_path, server):       # settings that work
            return {"url": server.url, "token": "test-token"}

        def bad_settings(self, tmp_path, server):   # settings check() must refuse
            return {"url": server.url, "token": "wrong"}

``pytest`` then runs the standard checks (settings schema, check, records valid, resume
from saved state, idempotent writes). The ``wasl_hub_kit`` pytest plugin (a ``pytest11``
entry point; ``-p no:wasl_hub_kit`` turns it off) provides the ``hub_server`` fixture.
"""

from hub.testing.server import Request, Response, TestServer
from hub.testing.suite import ConnectorSuite, read_stream

__all__ = ["ConnectorSuite", "Request", "Response", "TestServer", "read_stream"]
