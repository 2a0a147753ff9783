"""The SDK's OAuth endpoints (Starlette routes) mounted inside the Litestar application.

`mcp.server.auth` gives the metadata documents (RFC 9728, RFC 8414) and the authorize,
token, registration and revocation handlers (request validation, PKCE S256, RFC error
bodies); the gateway supplies the provider behind them (`provider.py`) and the consent page
(`consent.py`). Litestar mounts each path prefix and hands the request to one Starlette app,
with the path Litestar stripped put back.
"""

from __future__ import annotations

from typing import Any

from litestar import asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.routes import cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from starlette.applications import Starlette
from starlette.routing import Route

from nodedc_gateway.entrypoints.oauth import urls
from nodedc_gateway.entrypoints.settings import Settings

RESOURCE_NAME = "NODE.DC Agent Gateway"


def protected_resource_metadata(settings: Settings) -> ProtectedResourceMetadata:
    # Validated from plain strings, so the model keeps the issuer exactly as written (no
    # trailing slash added): clients compare it with the AS metadata's `issuer`.
    return ProtectedResourceMetadata.model_validate(
        {
            "resource": urls.resource(settings),
            "authorization_servers": [urls.issuer(settings)],
            "resource_name": RESOURCE_NAME,
            "bearer_methods_supported": ["header"],
        }
    )


def protected_resource_routes(settings: Settings) -> list[Route]:
    """RFC 9728 metadata at the path-inserted location and at the root: clients try both
    (MCP authorization, "Protected Resource Metadata Discovery")."""
    handler = ProtectedResourceMetadataHandler(protected_resource_metadata(settings))
    endpoint = cors_middleware(handler.handle, ["GET", "OPTIONS"])
    return [
        Route(path, endpoint=endpoint, methods=["GET", "OPTIONS"])
        for path in (urls.PRM_MCP_PATH, urls.PRM_ROOT_PATH)
    ]


class OAuthMount:
    """One Starlette app holding every OAuth route, and the Litestar mounts that reach it."""

    def __init__(self, routes: list[Route]) -> None:
        self.app = Starlette(routes=routes)

    def mounts(self, prefixes: tuple[str, ...]) -> list[ASGIRouteHandler]:
        return [self._mount(prefix) for prefix in prefixes]

    def _mount(self, prefix: str) -> ASGIRouteHandler:
        app = self.app

        @asgi(
            prefix,
            is_mount=True,
            copy_scope=True,
            name=f"oauth:{prefix}",
            include_in_schema=False,
        )
        async def mounted(scope: Any, receive: Any, send: Any) -> None:
            # Litestar strips the prefix and appends a slash; the original is in raw_path.
            path = prefix + scope["path"].rstrip("/")
            raw = scope.get("raw_path")
            if isinstance(raw, bytes) and raw.startswith(prefix.encode()):
                path = raw.decode("latin-1")
            scope = {**scope, "path": path, "raw_path": path.encode(), "root_path": ""}
            await app(scope, receive, send)

        return mounted
