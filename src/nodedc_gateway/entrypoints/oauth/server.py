"""The authorization server's routes: the SDK's handlers, assembled here.

`mcp.server.auth.routes.create_auth_routes` did not fit as a whole: its client
authenticator compares a client secret with the stored one in plain, and the gateway keeps
only HMACs of secrets. So the routes are assembled from the SDK's handlers with
`HashedSecretAuthenticator`, and the metadata from its `build_metadata`, adding
`client_id_metadata_document_supported`. The SDK's revocation handler did not fit either:
its request model requires a `client_secret` field even from a public client (which has
none), so `revoke` below is a small RFC 7009 handler over the same provider.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from mcp.server.auth.handlers.authorize import AuthorizationHandler
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.server.auth.routes import (
    AUTHORIZATION_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    build_metadata,
    cors_middleware,
)
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.server.transport_security import RequestBodyLimitMiddleware
from mcp.shared.auth import OAuthClientInformationFull, OAuthMetadata
from pydantic import AnyHttpUrl
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response

from nodedc_gateway.domain.errors import RateLimited
from nodedc_gateway.entrypoints.oauth import urls
from nodedc_gateway.entrypoints.oauth.provider import GatewayOAuthProvider
from nodedc_gateway.entrypoints.settings import Settings
from nodedc_gateway.ports.hashing import SecretHasher

MAX_OAUTH_BODY = 64 * 1024
OAUTH_PATHS = (AUTHORIZATION_PATH, TOKEN_PATH, REGISTRATION_PATH, REVOCATION_PATH)


class HashedSecretAuthenticator(ClientAuthenticator):
    """The SDK's client authentication, checking a presented secret against its HMAC."""

    def __init__(
        self, provider: GatewayOAuthProvider, hasher: Callable[[], Awaitable[SecretHasher]]
    ) -> None:
        super().__init__(provider)
        self._hasher = hasher

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        client = await self.provider.get_client(client_id)
        if client is None:
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method or "client_secret_post"
        if method == "none":
            return client
        presented = self._presented(request, form.get("client_secret"), client_id, method)
        stored = client.client_secret
        if not presented or not stored or not (await self._hasher()).verify(presented, stored):
            raise AuthenticationError("Invalid client credentials")
        return client

    @staticmethod
    def _presented(request: Request, posted: Any, client_id: str, method: str) -> str | None:
        if method == "client_secret_post":
            return posted if isinstance(posted, str) else None
        header = request.headers.get("Authorization", "")
        if method != "client_secret_basic" or not header.startswith("Basic "):
            raise AuthenticationError("Send the client credentials with HTTP Basic")
        try:
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise AuthenticationError("Invalid Basic authentication header") from None
        if unquote(user) != client_id:
            raise AuthenticationError("Client ID mismatch in Basic auth")
        return unquote(secret)


class Revocation:
    """RFC 7009: authenticate the client, revoke the token if it is that client's, and
    answer 200 whatever the token was (no oracle)."""

    def __init__(self, provider: GatewayOAuthProvider, authenticator: ClientAuthenticator):
        self._provider = provider
        self._authenticator = authenticator

    async def handle(self, request: Request) -> Response:
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            client = await self._authenticator.authenticate_request(request)
        except AuthenticationError as error:
            body = {"error": "invalid_client", "error_description": error.message}
            return JSONResponse(body, status_code=401, headers=headers)
        form = await request.form()
        token = form.get("token")
        if not isinstance(token, str) or not token or len(token) > 512:
            body = {"error": "invalid_request", "error_description": "send the token to revoke"}
            return JSONResponse(body, status_code=400, headers=headers)
        hint = form.get("token_type_hint")
        loaders: list[Any] = [
            self._provider.load_access_token,
            lambda t: self._provider.load_refresh_token(client, t),
        ]
        if hint == "refresh_token":
            loaders.reverse()
        for load in loaders:
            found = await load(token)
            if found is not None:
                if found.client_id == client.client_id:
                    await self._provider.revoke_token(found)
                break
        return Response(status_code=200, headers=headers)


Throttle = Callable[[str], Awaitable[None]]


class ResourceBoundTokenHandler(TokenHandler):
    """The SDK's token handler, first refusing a `resource` (RFC 8707 §2.2) other than
    this gateway's `/mcp`: tokens here are for nothing else (`invalid_target`)."""

    def __init__(self, resource: str, *args: Any) -> None:
        super().__init__(*args)
        self._resource = resource.rstrip("/")

    async def handle(self, request: Request) -> Response:
        form = await request.form()  # Starlette keeps it for the SDK's handler
        resources = form.getlist("resource")
        if any(not isinstance(r, str) or r.rstrip("/") != self._resource for r in resources):
            body = {
                "error": "invalid_target",
                "error_description": f"tokens here are for {self._resource} only",
            }
            headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
            return JSONResponse(body, status_code=400, headers=headers)
        response: Response = await super().handle(request)
        return response


class Throttled:
    """Unauthenticated endpoints that create state or fetch on a client's behalf
    (registration, authorize: a metadata document fetch) share the per-address budget of
    pairing-code attempts; over it, 429 with Retry-After."""

    def __init__(self, app: Any, throttle: Throttle) -> None:
        self._app = app
        self._throttle = throttle

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("method") != "OPTIONS":
            client = scope.get("client")
            try:
                await self._throttle(client[0] if client else "unknown")
            except RateLimited as limited:
                response = JSONResponse(
                    {
                        "error": "temporarily_unavailable",
                        "error_description": "too many requests from this address; retry later",
                    },
                    status_code=429,
                    headers={"Retry-After": str(limited.retry_after_s)},
                )
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


def _limited(app: Any) -> Any:
    return RequestBodyLimitMiddleware(app, MAX_OAUTH_BODY)


def _cors(app: Any, methods: list[str]) -> Any:
    return CORSMiddleware(app=app, allow_origins="*", allow_methods=methods)


def authorization_server_routes(
    settings: Settings,
    provider: GatewayOAuthProvider,
    hasher: Callable[[], Awaitable[SecretHasher]],
    throttle: Throttle,
) -> list[Route]:
    issuer = AnyHttpUrl(urls.issuer(settings))
    metadata = build_metadata(
        issuer,
        None,
        ClientRegistrationOptions(enabled=True),
        RevocationOptions(enabled=True),
    )
    # Validated again from plain values so the issuer stays exactly as the resource
    # metadata names it (no trailing slash added): clients compare the two (RFC 8414 §3.3).
    metadata = OAuthMetadata.model_validate(
        {
            **metadata.model_dump(mode="json", exclude_none=True),
            "issuer": urls.issuer(settings),
            "client_id_metadata_document_supported": True,
        }
    )
    authenticator = HashedSecretAuthenticator(provider, hasher)
    token = ResourceBoundTokenHandler(urls.resource(settings), provider, authenticator)
    register = RegistrationHandler(provider, ClientRegistrationOptions(enabled=True))
    revoke = Revocation(provider, authenticator)
    authorize = AuthorizationHandler(provider)
    post = ["POST", "OPTIONS"]
    return [
        Route(
            urls.AS_METADATA_PATH,
            endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        ),
        Route(
            AUTHORIZATION_PATH,
            endpoint=Throttled(_limited(request_response(authorize.handle)), throttle),
            methods=["GET", "POST"],
        ),
        Route(
            TOKEN_PATH, endpoint=_cors(_limited(request_response(token.handle)), post), methods=post
        ),
        Route(
            REGISTRATION_PATH,
            endpoint=_cors(Throttled(_limited(request_response(register.handle)), throttle), post),
            methods=post,
        ),
        Route(
            REVOCATION_PATH,
            endpoint=_cors(_limited(request_response(revoke.handle)), post),
            methods=post,
        ),
    ]
