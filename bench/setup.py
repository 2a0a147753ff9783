"""Putting data in the databases under test: the demo sandbox, and agents with tokens and
grants made through the gateway's own use cases (as the internal API would)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import attrs

from bench.servers import gateway_environment
from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.adapters.tasker.seed import DEMO_WORKSPACE, seed_demo
from nodedc_gateway.application.agents import CreateAgent, IssueToken
from nodedc_gateway.application.grants import CreateGrant
from nodedc_gateway.application.pipeline import OwnerAction
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES
from nodedc_gateway.entrypoints.bootstrap import build_container, resolve, services, shutdown
from nodedc_gateway.entrypoints.settings import Settings, load_settings


@attrs.frozen
class Agents:
    """What a governed call needs: where to write, and one token per concurrent client."""

    workspace_slug: str
    project_id: str
    tokens: tuple[str, ...]
    agent_ids: tuple[str, ...]


def gateway_settings(database_url: str) -> Settings:
    return load_settings(
        gateway_environment(database_url), directory=Path(tempfile.gettempdir()) / "nowhere"
    )


async def seed_gateway(database_url: str, agents: int) -> Agents:
    """The demo sandbox plus `agents` agents, each with every grantable scope on DEMO and
    one token."""
    container = build_container(gateway_settings(database_url))
    gateway = await services(container)
    try:
        demo = await seed_demo(await resolve(container.tasker.sandbox))
        owner, deps = demo.alice.id, gateway.management

        async def run(action: OwnerAction[Any]) -> Any:
            return (await gateway.pipeline.run_owner(owner, None, action)).body

        tokens, ids = [], []
        for n in range(agents):
            agent = await run(
                CreateAgent(
                    deps, {"display_name": f"Bench agent {n}", "owner_email": demo.alice.email}
                )
            )
            await run(
                CreateGrant(
                    deps,
                    agent["id"],
                    {
                        "workspace_slug": DEMO_WORKSPACE,
                        "project_id": demo.project.id,
                        "scopes": sorted(ALLOWED_SCOPES),
                        "mode": "voluntary",
                    },
                )
            )
            issued = await run(IssueToken(deps, agent["id"], {"name": "bench"}))
            tokens.append(str(issued["token"]))
            ids.append(str(agent["id"]))
        return Agents(DEMO_WORKSPACE, demo.project.id, tuple(tokens), tuple(ids))
    finally:
        await shutdown(container)


async def seed_bare(database_url: str) -> tuple[str, str]:
    """The demo sandbox alone (the bare server knows no agents): (workspace, project id)."""
    engine = create_engine(database_url)
    try:
        demo = await seed_demo(SqlSandboxTasker(engine, UUIDv7Generator(), SystemClock()))
    finally:
        await engine.dispose()
    return DEMO_WORKSPACE, demo.project.id
