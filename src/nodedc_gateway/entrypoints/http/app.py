"""The Litestar application: one factory, `create_app(container)`, no import-time effects."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar, Response
from litestar.datastructures import State
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, ExceptionHandlersMap

from nodedc_gateway.entrypoints.bootstrap import Gateway, services, shutdown
from nodedc_gateway.entrypoints.http.openapi import apply_controller_responses, openapi_config
from nodedc_gateway.entrypoints.http.problems import EXCEPTION_HANDLERS
from nodedc_gateway.entrypoints.http.routes import ROUTES
from nodedc_gateway.entrypoints.maintenance import periodic_purge
from nodedc_gateway.entrypoints.mcp.endpoint import McpMount
from nodedc_gateway.entrypoints.oauth.wiring import oauth_route_handlers
from nodedc_gateway.entrypoints.observability import Metrics, ObservabilityMiddleware

MAX_BODY_BYTES = 1024 * 1024


def create_app(container: Gateway, *, extra_lifespans: list[Any] | None = None) -> Litestar:
    """The whole gateway: internal API, public routes, health, metrics and MCP at `/mcp`."""
    # The console imports this package's security and problem helpers: imported here.
    from nodedc_gateway.entrypoints.console.entry import ConsoleLinksController
    from nodedc_gateway.entrypoints.console.router import console_router
    from nodedc_gateway.entrypoints.console.web import template_config

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

    routes = [*ROUTES, ConsoleLinksController]
    apply_controller_responses(routes)
    app = Litestar(
        route_handlers=[
            *routes,
            mcp.route(),
            *oauth_route_handlers(container),
            console_router(container.settings()),
        ],
        template_config=template_config(),
        exception_handlers=cast("ExceptionHandlersMap", EXCEPTION_HANDLERS),
        lifespan=[lifespan, mcp.lifespan, *(extra_lifespans or [])],
        state=State({"metrics": metrics, "container": container}),
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(),
        debug=False,
        logging_config=None,  # logging is ours (entrypoints.logs): structured and redacted
    )
    _answer_options_with_every_method(app)
    # Wrapping Litestar's own handler (not route middleware) so every request is seen:
    # unmatched routes and the mounted MCP endpoint included.
    app.asgi_handler = cast(
        "ASGIApp", ObservabilityMiddleware(app.asgi_handler, metrics, container.core.ids())
    )
    return app


def _answer_options_with_every_method(app: Litestar) -> None:
    """Litestar 2 answers OPTIONS with the methods of the first handler registered on a
    path only (litestar-org/litestar#4169, fixed in Litestar 3): its generated OPTIONS
    handler closes over a route object that later registrations replace. Rebind each one
    to the route it now belongs to, so `Allow` lists every method."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.http_methods == {"OPTIONS"} and handler.fn.__qualname__.startswith(
                "HTTPRoute.create_options_handler."
            ):
                # Litestar calls it synchronously, as it did the one it replaces.
                handler._fn = cast("Any", _options_answer(", ".join(sorted(route.methods))))


def _options_answer(allow: str) -> Callable[[Any], Response[None]]:
    def options_handler(scope: Any) -> Response[None]:
        return Response(content=None, status_code=204, headers={"Allow": allow})

    return options_handler
