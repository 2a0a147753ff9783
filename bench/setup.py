"""Putting data in the databases under test: the demo sandbox with one issue to read, and
agents with tokens and grants made through the gateway's own use cases (as the internal
API would)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import attrs

from bench import upstream
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
from nodedc_gateway.domain.tasker import Actor, IssueDraft
from nodedc_gateway.entrypoints.bootstrap import (
    Services,
    build_container,
    resolve,
    services,
    shutdown,
)
from nodedc_gateway.entrypoints.settings import Settings, load_settings


@attrs.frozen
class Agents:
    """What a governed call needs: where to write, the issue to read, and one token per
    agent."""

    workspace_slug: str
    project_id: str
    tokens: tuple[str, ...]
    agent_ids: tuple[str, ...]
    issue_id: str


@attrs.frozen
class Sandbox:
    """What a call to the bare server needs: where to write, and the issue to read."""

    workspace_slug: str
    project_id: str
    issue_id: str


#: Who wrote the issue the benchmark reads (in both databases alike).
SETUP_ACTOR = Actor(
    agent_id="00000000-0000-7000-8000-00000000beef",
    owner_user_id="bench",
    display_name="Benchmark setup",
    email="setup@bench.local",
)


async def readable_issue(tasker: SqlSandboxTasker, project_id: str) -> str:
    """The issue `get_issue` reads: one card written in the demo project at setup."""
    issue = await tasker.create_issue(
        DEMO_WORKSPACE, project_id, IssueDraft(name="Benchmark read"), actor=SETUP_ACTOR
    )
    return issue.id


def gateway_settings(database_url: str, tasker_url: str | None = None) -> Settings:
    return load_settings(
        gateway_environment(database_url, tasker_url=tasker_url),
        directory=Path(tempfile.gettempdir()) / "nowhere",
    )


async def seed_gateway(database_url: str, agents: int) -> Agents:
    """The demo sandbox and its issue to read, plus `agents` agents, each with every
    grantable scope on DEMO and one token."""
    container = build_container(gateway_settings(database_url))
    gateway = await services(container)
    try:
        tasker = await resolve(container.tasker.sandbox)
        demo = await seed_demo(tasker)
        issue_id = await readable_issue(tasker, demo.project.id)
        owner = Owner(demo.alice.id, demo.alice.email)
        made = await _agents(gateway, owner, DEMO_WORKSPACE, demo.project.id, agents)
        return Agents(DEMO_WORKSPACE, demo.project.id, *made, issue_id)
    finally:
        await shutdown(container)


@attrs.frozen
class Owner:
    """The Tasker user whose agents the benchmark calls as."""

    user_id: str
    email: str


async def seed_http_gateway(database_url: str, tasker_url: str) -> Agents:
    """One agent of the upstream's member, with every grantable scope on its project and
    one token, made by the gateway on the HTTP Tasker at `tasker_url` (part 5): the
    grant is checked against that Tasker as the internal API's would be. There is no
    issue to read (`issue_id` is empty)."""
    container = build_container(gateway_settings(database_url, tasker_url))
    gateway = await services(container)
    try:
        owner = Owner(upstream.OWNER_ID, upstream.OWNER_EMAIL)
        made = await _agents(gateway, owner, upstream.WORKSPACE, upstream.PROJECT_ID, 1)
        return Agents(upstream.WORKSPACE, upstream.PROJECT_ID, *made, issue_id="")
    finally:
        await shutdown(container)


async def _agents(
    gateway: Services, owner: Owner, workspace: str, project_id: str, count: int
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """`count` agents of `owner`, each with every grantable scope on the project and one
    token: (tokens, agent ids)."""
    deps = gateway.management

    async def run(action: OwnerAction[Any]) -> Any:
        return (await gateway.pipeline.run_owner(owner.user_id, None, action)).body

    tokens, ids = [], []
    for n in range(count):
        agent = await run(
            CreateAgent(deps, {"display_name": f"Bench agent {n}", "owner_email": owner.email})
        )
        await run(
            CreateGrant(
                deps,
                agent["id"],
                {
                    "workspace_slug": workspace,
                    "project_id": project_id,
                    "scopes": sorted(ALLOWED_SCOPES),
                    "mode": "voluntary",
                },
            )
        )
        issued = await run(IssueToken(deps, agent["id"], {"name": "bench"}))
        tokens.append(str(issued["token"]))
        ids.append(str(agent["id"]))
    return tuple(tokens), tuple(ids)


async def seed_bare(database_url: str) -> Sandbox:
    """The demo sandbox and its issue to read, alone (the bare server knows no agents)."""
    engine = create_engine(database_url)
    try:
        tasker = SqlSandboxTasker(engine, UUIDv7Generator(), SystemClock())
        demo = await seed_demo(tasker)
        issue_id = await readable_issue(tasker, demo.project.id)
    finally:
        await engine.dispose()
    return Sandbox(DEMO_WORKSPACE, demo.project.id, issue_id)
