"""Building the FastAPI application of one hub."""

from __future__ import annotations

from fastapi import FastAPI

from hub import __version__
from hub.api import problems
from hub.api.directory import public
from hub.api.metrics import MeasureRequests, Metrics
from hub.api.nulguard import NoNul
from hub.api.ratelimit import TokenBuckets
from hub.api.report import reporting
from hub.api.routes import operations, router
from hub.api.watch import watching
from hub.app import Hub
from hub.services.directory import Directory

__all__ = ["create_app"]


def create_app(hub: Hub) -> FastAPI:
    """The API of ``hub``: routes, problem documents for errors, and request metrics."""
    app = FastAPI(
        title="Wasl Hub API",
        version=__version__,
        description="Push and pull association, donation and distribution records in the common schema.",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.hub = hub
    app.state.metrics = Metrics(lambda: app.state.hub)  # the hub of now: a reload replaces it
    app.state.rate_buckets = TokenBuckets()  # kept across reloads: a new limit applies to the same buckets
    app.state.directory = Directory()  # its totals are kept per hub: a reload starts them again
    problems.install(app)
    app.include_router(watching)  # before router: its /api/v1/{entity} would take /api/v1/runs
    app.include_router(reporting)  # and /api/v1/report
    app.include_router(public)  # and /api/v1/public/associations/{id}
    app.include_router(router)
    app.include_router(operations)
    from hub.web import install as install_web

    install_web(app)

    app.add_middleware(NoNul)
    app.add_middleware(MeasureRequests, metrics=app.state.metrics, access_log=lambda: bool(app.state.hub.config.api.get("access_log")))
    return app
