"""The demo of CONTRACT §10–11: sandbox data, the demo agent, its grant and a fresh token.

Idempotent: running it again reuses the workspace, agent and grant, and replaces the demo
token (the previous one is revoked, since a token is shown only once)."""

from __future__ import annotations

from typing import Any

from nodedc_gateway.adapters.tasker.seed import DEMO_WORKSPACE, seed_demo
from nodedc_gateway.application.agents import (
    CreateAgent,
    IssueToken,
    ListAgents,
    ListTokens,
    RevokeToken,
)
from nodedc_gateway.application.grants import CreateGrant, ListGrants
from nodedc_gateway.application.pipeline import OwnerAction
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES
from nodedc_gateway.entrypoints.bootstrap import Gateway, Services, resolve
from nodedc_gateway.entrypoints.console.web import console_url

DEMO_AGENT = "Demo agent"
DEMO_TOKEN_NAME = "demo"  # noqa: S105 - the label of the token, not a secret


async def set_up_demo(container: Gateway, gateway: Services) -> dict[str, Any]:
    demo = await seed_demo(await resolve(container.tasker.sandbox))
    owner, pipeline, deps = demo.alice.id, gateway.pipeline, gateway.management

    async def run(action: OwnerAction[Any]) -> Any:
        return (await pipeline.run_owner(owner, None, action)).body

    agents = (await run(ListAgents(limit=100)))["items"]
    agent = next(
        (a for a in agents if a["display_name"] == DEMO_AGENT and a["status"] == "active"), None
    )
    if agent is None:
        agent = await run(
            CreateAgent(deps, {"display_name": DEMO_AGENT, "owner_email": demo.alice.email})
        )
    agent_id = agent["id"]
    grants = (await run(ListGrants(agent_id)))["items"]
    if not any(g["project_id"] == demo.project.id for g in grants):
        await run(
            CreateGrant(
                deps,
                agent_id,
                {
                    "workspace_slug": DEMO_WORKSPACE,
                    "project_id": demo.project.id,
                    "scopes": sorted(ALLOWED_SCOPES),
                    "mode": "voluntary",
                },
            )
        )
    for token in (await run(ListTokens(agent_id)))["items"]:
        if token["name"] == DEMO_TOKEN_NAME and token["status"] == "active":
            await run(RevokeToken(agent_id, token["id"]))
    issued = await run(IssueToken(deps, agent_id, {"name": DEMO_TOKEN_NAME}))
    settings = gateway.settings
    link = await gateway.console.issue_link(owner)
    return {
        "gateway_url": settings.public_url,
        "mcp_url": settings.mcp_url,
        "internal_token": gateway.internal_token.reveal(),
        "owner_user_id": owner,
        "agent_id": agent_id,
        "agent_token": issued["token"],
        "workspace_slug": DEMO_WORKSPACE,
        "project_id": demo.project.id,
        "other_project_id": demo.other_project.id,
        # The owner console, for the demo owner: one use, within 2 minutes.
        "console_url": console_url(settings.public_url, link.code),
    }
