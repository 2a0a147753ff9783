"""The console mounted as one router at `/console`: its pages, its static files, CSRF
protection on every state change, its error pages and the session dependency."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.static_files import create_static_files_router

from nodedc_gateway.entrypoints.console import agents, entry, grants, oversight
from nodedc_gateway.entrypoints.console.web import (
    EXCEPTION_HANDLERS,
    PREFIX,
    STATIC,
    csrf_cookie_name,
    csrf_secret,
    current_viewer,
    frame_ancestors,
    security_headers,
)
from nodedc_gateway.entrypoints.settings import Settings


def console_router(settings: Settings) -> Router:
    frame_ancestors(settings)  # a bad CONSOLE_FRAME_ANCESTORS stops the start, named
    csrf = CSRFConfig(
        secret=csrf_secret(settings),
        cookie_name=csrf_cookie_name(settings),
        cookie_path="/",
        cookie_secure=not settings.is_local,
        cookie_httponly=True,
        cookie_samesite="lax",
        header_name="x-csrf-token",
    )
    headers = security_headers(settings)

    async def add_security_headers(response: Any) -> Any:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    static = create_static_files_router(
        path="/static", directories=[STATIC], name="console-static", include_in_schema=False
    )
    return Router(
        path=PREFIX,
        route_handlers=[*entry.ROUTES, *agents.ROUTES, *grants.ROUTES, *oversight.ROUTES, static],
        dependencies={"viewer": Provide(current_viewer)},
        middleware=[DefineMiddleware(CSRFMiddleware, config=csrf)],
        exception_handlers=EXCEPTION_HANDLERS,
        after_request=add_security_headers,
        include_in_schema=False,
    )
