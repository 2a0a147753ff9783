"""The OAuth pieces built from the container on first use (after the app started its
resources), shared by the SDK routes and the consent page."""

from __future__ import annotations

from typing import Any

from nodedc_gateway.adapters.client_documents import SafeClientDocumentFetcher
from nodedc_gateway.application.oauth import OAuthDeps, OAuthService
from nodedc_gateway.entrypoints.bootstrap import Gateway, resolve
from nodedc_gateway.entrypoints.oauth import urls
from nodedc_gateway.entrypoints.oauth.sealing import Sealer
from nodedc_gateway.entrypoints.settings import Settings
from nodedc_gateway.ports.hashing import SecretHasher


class OAuthRuntime:
    def __init__(self, container: Gateway) -> None:
        self._container = container
        self.settings: Settings = container.settings()
        self._service: OAuthService | None = None

    async def service(self) -> OAuthService:
        if self._service is None:
            c: Any = self._container
            settings = self.settings
            limits = await resolve(c.core.limits)
            self._service = OAuthService(
                OAuthDeps(
                    uow=await resolve(c.persistence.uow),
                    ids=await resolve(c.core.ids),
                    secrets=await resolve(c.core.secrets),
                    hasher=await resolve(c.core.hasher),
                    clock=await resolve(c.core.clock),
                    documents=SafeClientDocumentFetcher(
                        allow_http=settings.is_local,
                        allow_private=settings.oauth_documents_allow_private,
                    ),
                    rate_limits=await resolve(c.persistence.rate_limits),
                    consent_per_client=limits.redeem_per_client,
                    consent_global=limits.redeem_global,
                    resource=urls.resource(settings),
                    allow_http_documents=settings.is_local,
                )
            )
        return self._service

    async def sealer(self) -> Sealer:
        service = await self.service()
        return Sealer(service.d.hasher, service.d.clock)

    async def hasher(self) -> SecretHasher:
        return (await self.service()).d.hasher

    async def throttle(self, client_address: str) -> None:
        await (await self.service()).throttle(client_address, "oauth")
