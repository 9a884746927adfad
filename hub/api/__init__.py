"""The hub's HTTP API (FastAPI): ingestion, reading, the change feed, health and metrics.

``create_app(hub)`` builds the application; ``hub serve`` runs it beside the scheduler. The
routes are thin: every decision lives in :mod:`hub.services`, shared with the CLI.
"""

from hub.api.app import create_app

__all__ = ["create_app"]
