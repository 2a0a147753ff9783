"""One outside service over HTTP, as every outbound adapter (Tasker, Plane, Launcher) holds
it: an httpx client behind a `ResilientSender`, JSON requests carrying the service's
credential, and a client closed only by whoever opened it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

import httpx

from nodedc_gateway.adapters.http_resilience import (
    BreakerPolicy,
    ResilientSender,
    RetryPolicy,
    Timing,
)
from nodedc_gateway.domain.errors import GatewayError
from nodedc_gateway.domain.secret import SecretStr

USER_AGENT: Final = "nodedc-gateway"

#: The header that carries a credential, computed at send time so the secret is revealed
#: only into the request.
Credential = Callable[[], Mapping[str, str]]


def bearer(token: SecretStr) -> Credential:
    return lambda: {"Authorization": f"Bearer {token.reveal()}"}


def x_api_key(key: SecretStr) -> Credential:
    return lambda: {"X-API-Key": key.reveal()}


class ServiceClient:
    """Sends JSON requests to `base` + path with `credential`, through one breaker.

    Without a `client`, it opens its own (no redirects followed) and `aclose` closes it; a
    client it was given stays open for its owner.
    """

    def __init__(
        self,
        *,
        base: str,
        credential: Credential,
        service: str,
        unavailable: Callable[[str], GatewayError],
        client: httpx.AsyncClient | None,
        timeout: httpx.Timeout,
        retry: RetryPolicy | None,
        breaker: BreakerPolicy | None,
        timing: Timing | None,
        wall_clock: Callable[[], datetime] | None,
    ) -> None:
        self.base = base
        self._credential = credential
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._sender = ResilientSender(
            self._client,
            service=service,
            unavailable=unavailable,
            timeout=timeout,
            retry=retry,
            breaker=breaker,
            timing=timing,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        return f"ServiceClient(base={self.base!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | tuple[tuple[str, str], ...] | None = None,
        json: Any = None,
        repeatable: bool,
    ) -> httpx.Response:
        """The service's answer (see `ResilientSender.send` for what counts as none)."""
        request = self._client.build_request(
            method,
            self.base + path,
            params=params,
            json=json,
            headers={
                **self._credential(),
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        return await self._sender.send(request, repeatable=repeatable)
