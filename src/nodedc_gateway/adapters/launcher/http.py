"""Launcher's access check over HTTP (`docs/launcher.md`).

Launcher owns platform entitlement: whether a user may use `codex_agents` on
`operational-core`, in the open and the enterprise contour alike. This adapter asks, and
says yes or no only when Launcher clearly did; anything else (no answer in time, a
refused or dropped connection, a 5xx, a 429, an answer of the wrong shape or about the
wrong question) is `LauncherUnavailable`, and the application's grace period decides.
Caching is the application's (`application.entitlements`), not this adapter's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

import httpx

from nodedc_gateway.adapters.http_resilience import BreakerPolicy, RetryPolicy, Timing
from nodedc_gateway.adapters.service_client import ServiceClient, bearer
from nodedc_gateway.domain.entitlement import LAUNCHER_MODULE, LAUNCHER_SERVICE
from nodedc_gateway.domain.errors import LauncherUnavailable
from nodedc_gateway.domain.secret import SecretStr

SERVICE: Final = "Launcher"
ACCESS_CHECK_PATH: Final = "/internal/v1/access/check"
HEALTH_PATH: Final = "/internal/v1/health"
CONTOURS: Final = frozenset({"open", "enterprise"})
DEFAULT_TIMEOUT: Final = httpx.Timeout(3.0, connect=2.0, pool=2.0)
#: Entitlement checks sit on every agent call's path: fail over to the grace period fast.
DEFAULT_RETRY: Final = RetryPolicy(attempts=2, base_delay_s=0.1, max_delay_s=0.5)
DEFAULT_BREAKER: Final = BreakerPolicy(failure_threshold=3, open_for_s=15.0)


class HttpLauncher:
    """Implements `LauncherPort` over Launcher's access-check endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        token: SecretStr,
        client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        breaker: BreakerPolicy = DEFAULT_BREAKER,
        timing: Timing | None = None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = ServiceClient(
            base=base_url.rstrip("/"),
            credential=bearer(token),
            service=SERVICE,
            unavailable=LauncherUnavailable,
            client=client,
            timeout=timeout,
            retry=retry,
            breaker=breaker,
            timing=timing,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        return f"HttpLauncher(base={self._http.base!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def is_entitled(self, owner_user_id: str) -> bool:
        response = await self._get(
            ACCESS_CHECK_PATH,
            {"user_id": owner_user_id, "service": LAUNCHER_SERVICE, "module": LAUNCHER_MODULE},
        )
        answer = _json_object(response)
        allowed = answer.get("allowed")
        if not isinstance(allowed, bool):
            raise _unclear()
        for field, expected in (
            ("user_id", owner_user_id),
            ("service", LAUNCHER_SERVICE),
            ("module", LAUNCHER_MODULE),
        ):
            if field in answer and answer[field] != expected:
                raise _unclear()  # an answer to another question is no answer
        if "contour" in answer and answer["contour"] not in CONTOURS:
            raise _unclear()
        return allowed

    async def check(self) -> None:
        await self._get(HEALTH_PATH, {})

    async def _get(self, path: str, params: dict[str, str]) -> httpx.Response:
        response = await self._http.send("GET", path, params=params, repeatable=True)
        if response.status_code == 401:
            raise LauncherUnavailable(
                "Launcher refused the gateway's token; an administrator must fix the gateway's "
                "Launcher configuration."
            )
        if response.status_code != 200:
            raise _unclear()
        return response


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise _unclear() from None
    if not isinstance(body, dict):
        raise _unclear()
    return body


def _unclear() -> LauncherUnavailable:
    return LauncherUnavailable(
        "Launcher's answer could not be read as an entitlement decision; retry later."
    )
