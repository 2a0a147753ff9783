"""The MCP SDK's authorization-server provider protocol, over `application.oauth`.

The SDK handlers validate requests (PKCE S256, redirect URI, grant types) and shape the RFC
error bodies; this provider only translates between the SDK's pydantic models and the
gateway's use cases. Expiry is the gateway's Clock's to judge (the use cases do it): the
SDK's own wall-clock checks are given deadlines relative to "now" so they never disagree.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import ValidationError

from nodedc_gateway.application.oauth import IssuedPair, OAuthRefused, OAuthService, Pending
from nodedc_gateway.domain import oauth as d
from nodedc_gateway.entrypoints.oauth.sealing import Sealer

SLACK_S = 60  # the SDK's wall-clock expiry check is a backstop, the Clock decides


class GatewayCode(AuthorizationCode):
    record: Any = None


class GatewayRefresh(RefreshToken):
    record: Any = None


class GatewayAccess(AccessToken):
    family_id: str = ""
    agent_id: str = ""


def client_information(client: d.OAuthClient) -> OAuthClientInformationFull:
    """The SDK's view of a stored client. For a confidential client `client_secret` holds
    the secret's HMAC, never the secret (`HashedSecretAuthenticator` checks it)."""
    document = {**client.document, "client_id": client.client_id}
    if client.source is d.ClientSource.METADATA_DOCUMENT:
        document.setdefault("token_endpoint_auth_method", "none")
        document.setdefault("grant_types", ["authorization_code", "refresh_token"])
    return OAuthClientInformationFull.model_validate(document)


def _token(pair: IssuedPair) -> OAuthToken:
    return OAuthToken(
        access_token=pair.access_token.reveal(),
        token_type="Bearer",  # noqa: S106 - the scheme's name
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token.reveal(),
        scope=" ".join(pair.scopes) or None,
    )


class GatewayOAuthProvider:
    def __init__(
        self,
        service: Callable[[], Awaitable[OAuthService]],
        sealer: Callable[[], Awaitable[Sealer]],
        consent_url: str,
    ) -> None:
        self._service = service
        self._sealer = sealer
        self._consent_url = consent_url

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        client = await (await self._service()).client(client_id)
        if client is None:
            return None
        try:
            return client_information(client)
        except ValidationError:
            return None  # a metadata document the SDK's model cannot read: unknown client

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        service = await self._service()
        if client_info.client_id is None:
            raise RegistrationError("invalid_client_metadata", "no client_id was assigned")
        document = client_info.model_dump(mode="json", exclude_none=True)
        if client_info.client_secret:
            document["client_secret"] = service.d.hasher.hash(client_info.client_secret)
        try:
            await service.register(client_info.client_id, document)
        except OAuthRefused as refused:
            if refused.error == "invalid_redirect_uri":
                raise RegistrationError("invalid_redirect_uri", refused.description) from None
            raise RegistrationError("invalid_client_metadata", refused.description) from None

    async def authorize(
        self, client: OAuthClientInformationFull, params: AuthorizationParams
    ) -> str:
        service = await self._service()
        try:
            resource = service.check_resource(params.resource)
        except OAuthRefused as refused:
            raise AuthorizeError("invalid_target", refused.description) from None
        if client.client_id is None:
            raise AuthorizeError("unauthorized_client", "the client has no id")
        pending = Pending(
            client_id=client.client_id,
            redirect_uri=str(params.redirect_uri),
            redirect_uri_explicit=params.redirect_uri_provided_explicitly,
            code_challenge=params.code_challenge,
            state=params.state,
            resource=resource,
            scopes=tuple(params.scopes or ()),
        )
        sealed = (await self._sealer()).seal(pending)
        return f"{self._consent_url}?request={sealed}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> GatewayCode | None:
        service = await self._service()
        record = await service.load_code(client.client_id or "", authorization_code)
        if record is None:
            return None
        return GatewayCode(
            code=authorization_code,
            scopes=list(record.scopes),
            expires_at=time.time() + SLACK_S,
            client_id=record.client_id,
            code_challenge=record.code_challenge,
            redirect_uri=record.redirect_uri,  # type: ignore[arg-type]
            redirect_uri_provided_explicitly=record.redirect_uri_explicit,
            resource=record.resource,
            subject=record.agent_id,
            record=record,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: GatewayCode
    ) -> OAuthToken:
        return await self._exchange(
            client, lambda service, stored: service.exchange_code(stored, authorization_code.record)
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> GatewayRefresh | None:
        service = await self._service()
        record = await service.load_refresh(client.client_id or "", refresh_token)
        if record is None:
            return None
        return GatewayRefresh(
            token=refresh_token,
            client_id=record.client_id,
            scopes=list(record.scopes),
            expires_at=None,
            resource=record.resource,
            subject=record.agent_id,
            record=record,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: GatewayRefresh, scopes: list[str]
    ) -> OAuthToken:
        return await self._exchange(
            client, lambda service, stored: service.exchange_refresh(stored, refresh_token.record)
        )

    async def _exchange(
        self,
        client: OAuthClientInformationFull,
        spend: Callable[[OAuthService, d.OAuthClient], Awaitable[IssuedPair]],
    ) -> OAuthToken:
        """The token response for what `spend` issues to this (known) client."""
        service = await self._service()
        stored = await service.client(client.client_id or "")
        if stored is None:
            raise TokenError("invalid_client", "this client is unknown")
        try:
            return _token(await spend(service, stored))
        except OAuthRefused as refused:
            raise TokenError("invalid_grant", refused.description) from None

    async def load_access_token(self, token: str) -> GatewayAccess | None:
        """Only for revocation: an agent token that an OAuth client holds."""
        found = await (await self._service()).find_access(token)
        if found is None:
            return None
        stored, refresh = found
        if refresh is None:
            return None  # a static agent token: not an OAuth client's
        return GatewayAccess(
            token=token,
            client_id=refresh.client_id,
            scopes=[],
            family_id=refresh.family_id,
            agent_id=stored.agent_id,
        )

    async def revoke_token(self, token: GatewayAccess | GatewayRefresh) -> None:
        """RFC 7009 §2.1: revoking either token of a grant revokes the whole family."""
        service = await self._service()
        if isinstance(token, GatewayRefresh):
            record: d.RefreshToken = token.record
            await service.revoke_family(record.family_id, record.agent_id)
        else:
            await service.revoke_family(token.family_id, token.agent_id)

    async def exchange_identity_assertion(self, client: Any, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "only authorization_code and refresh_token")
