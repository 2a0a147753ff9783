"""A stand-in of Launcher's access check (`docs/launcher.md`) that a test can switch off."""

from __future__ import annotations

import httpx

from tests.support import stand_in

TOKEN = "launcher-token-0123456789abcdef"
URL = "https://launcher.test"


class FakeLauncher:
    """Entitles the users in `entitled`; `contour` says which kind of Launcher it is."""

    def __init__(self, entitled: set[str], contour: str = "open") -> None:
        self.entitled = set(entitled)
        self.contour = contour
        self.transport = stand_in.StandInTransport(self.handle)

    def switch_off(self) -> None:
        self.transport.up = False

    def switch_on(self) -> None:
        self.transport.up = True

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json={"code": "unauthenticated"})
        if request.url.path == "/internal/v1/health":
            return httpx.Response(200, json={"status": "ok"})
        if request.url.path != "/internal/v1/access/check":
            return httpx.Response(404, json={"code": "not_found"})
        params = request.url.params
        if (params.get("service"), params.get("module")) != ("operational-core", "codex_agents"):
            return httpx.Response(200, json={"allowed": False, "reason": "unknown module"})
        user_id = params.get("user_id", "")
        return httpx.Response(
            200,
            json={
                "user_id": user_id,
                "service": "operational-core",
                "module": "codex_agents",
                "allowed": user_id in self.entitled,
                "contour": self.contour,
            },
        )
