"""A real gateway served by uvicorn on an ephemeral loopback port, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import uvicorn
from dependency_injector import providers
from litestar import Litestar

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.tasker.seed import DemoTasker, seed_demo
from nodedc_gateway.entrypoints.bootstrap import Gateway, Services, build_container, resolve
from nodedc_gateway.entrypoints.http.app import create_app
from nodedc_gateway.entrypoints.settings import Settings, load_settings

INTERNAL_TOKEN = "internal-token-for-tests-0123456789abcdef"
PEPPER = "pepper-for-tests-0123456789abcdefghijklmnop"


@attrs.define
class ServedGateway:
    url: str
    container: Gateway
    clock: FixedClock
    demo: DemoTasker
    client: httpx.AsyncClient  # with the internal token
    services: Services  # what the served app resolved (its pipeline, adapters)
    app: Litestar  # the served app (its route table)

    @property
    def alice(self) -> str:
        return self.demo.alice.id

    def owner_url(self, owner: str | None = None) -> str:
        return f"/internal/v1/owners/{owner or self.alice}"

    async def create_agent(self, owner: str | None = None, **headers: str) -> dict[str, Any]:
        response = await self.client.post(
            f"{self.owner_url(owner)}/agents",
            json={"display_name": "Agent", "owner_email": "alice@demo.local"},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def grant(
        self, agent_id: str, scopes: list[str] | None = None, **body: Any
    ) -> dict[str, Any]:
        response = await self.client.post(
            f"{self.owner_url()}/agents/{agent_id}/grants",
            json={
                "workspace_slug": "demo",
                "project_id": "DEMO",
                "scopes": scopes or ["project:read", "issue:read", "issue:create"],
                **body,
            },
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def token(self, agent_id: str, days: int = 90) -> str:
        response = await self.client.post(
            f"{self.owner_url()}/agents/{agent_id}/tokens",
            json={"name": "test", "expires_in_days": days},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def gateway_settings(database_url: str = "memory://", **overrides: Any) -> Settings:
    return load_settings(
        {},
        database_url=database_url,
        internal_token=INTERNAL_TOKEN,
        token_pepper=PEPPER,
        **overrides,
    )


@contextlib.asynccontextmanager
async def serve(app: Any, port: int = 0) -> AsyncIterator[str]:
    """Serve an ASGI app on 127.0.0.1 (a free port unless given) until the block ends;
    yields its URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # startup failed: raise its error
        await asyncio.sleep(0.005)  # polling startup, not timing the test
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def served_gateway(
    settings: Settings | None = None, port: int = 0
) -> AsyncIterator[ServedGateway]:
    settings = settings or gateway_settings()
    container = build_container(settings)
    clock = FixedClock()
    container.core.clock.override(providers.Object(clock))
    app = create_app(container)
    async with serve(app, port) as url:
        demo = await seed_demo(await resolve(container.tasker.sandbox))
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}, timeout=30
        ) as client:
            yield ServedGateway(url, container, clock, demo, client, app.state.services, app)
