"""The Litestar application: one factory, `create_app(container)`, no import-time effects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ASGIApp, ExceptionHandlersMap

from nodedc_gateway import __version__
from nodedc_gateway.entrypoints.bootstrap import Gateway, services, shutdown
from nodedc_gateway.entrypoints.http.problems import EXCEPTION_HANDLERS
from nodedc_gateway.entrypoints.http.routes import ROUTES
from nodedc_gateway.entrypoints.maintenance import periodic_purge
from nodedc_gateway.entrypoints.mcp.endpoint import McpMount
from nodedc_gateway.entrypoints.observability import Metrics, ObservabilityMiddleware

MAX_BODY_BYTES = 1024 * 1024


def create_app(container: Gateway, *, extra_lifespans: list[Any] | None = None) -> Litestar:
    """The whole gateway: internal API, public routes, health, metrics and MCP at `/mcp`."""
    metrics = Metrics()
    mcp = McpMount(container.settings(), metrics)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.services = await services(container)
        try:
            async with periodic_purge(container, container.settings().purge_interval_s):
                yield
        finally:
            await shutdown(container)

    app = Litestar(
        route_handlers=[*ROUTES, mcp.route()],
        exception_handlers=cast("ExceptionHandlersMap", EXCEPTION_HANDLERS),
        lifespan=[lifespan, mcp.lifespan, *(extra_lifespans or [])],
        state=State({"metrics": metrics, "container": container}),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=OpenAPIConfig(
            title="NODE.DC Agent Gateway",
            version=__version__,
            description="Internal API for Tasker and Launcher, and the public pairing route.",
            path="/schema",
            components=Components(
                security_schemes={
                    "internalToken": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN",
                    )
                }
            ),
        ),
        debug=False,
        logging_config=None,  # logging is ours (entrypoints.logs): structured and redacted
    )
    # Wrapping Litestar's own handler (not route middleware) so every request is seen:
    # unmatched routes and the mounted MCP endpoint included.
    app.asgi_handler = cast(
        "ASGIApp", ObservabilityMiddleware(app.asgi_handler, metrics, container.core.ids())
    )
    return app
