"""Every route handler MCP authorization adds to the application."""

from __future__ import annotations

from litestar.handlers import BaseRouteHandler

from nodedc_gateway.entrypoints.bootstrap import Gateway
from nodedc_gateway.entrypoints.oauth import urls
from nodedc_gateway.entrypoints.oauth.consent import consent_handlers
from nodedc_gateway.entrypoints.oauth.mount import OAuthMount, protected_resource_routes
from nodedc_gateway.entrypoints.oauth.provider import GatewayOAuthProvider
from nodedc_gateway.entrypoints.oauth.runtime import OAuthRuntime
from nodedc_gateway.entrypoints.oauth.server import OAUTH_PATHS, authorization_server_routes

WELL_KNOWN = "/.well-known"


def oauth_route_handlers(container: Gateway) -> list[BaseRouteHandler]:
    runtime = OAuthRuntime(container)
    settings = runtime.settings
    provider = GatewayOAuthProvider(
        runtime.service, runtime.sealer, urls.issuer(settings) + urls.CONSENT_PATH
    )
    routes = [
        *protected_resource_routes(settings),
        *authorization_server_routes(settings, provider, runtime.hasher, runtime.throttle),
    ]
    mount = OAuthMount(routes)
    return [*mount.mounts((WELL_KNOWN, *OAUTH_PATHS)), *consent_handlers(runtime)]
