"""Every route handler MCP authorization adds to the application."""

from __future__ import annotations

from litestar.handlers import BaseRouteHandler

from nodedc_gateway.entrypoints.oauth.mount import OAuthMount, protected_resource_routes
from nodedc_gateway.entrypoints.settings import Settings

WELL_KNOWN = "/.well-known"


def oauth_route_handlers(settings: Settings) -> list[BaseRouteHandler]:
    mount = OAuthMount(protected_resource_routes(settings))
    return [*mount.mounts((WELL_KNOWN,))]
