"""Console pages for agents: the list, one agent (tokens, pairing code, grants), and the
actions on them. Each action is the internal API's use case, run as the signed-in owner."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.response import Redirect, Template

from nodedc_gateway.application.agents import (
    CreateAgent,
    GetAgent,
    IssueToken,
    ListAgents,
    ListTokens,
    RevokeAgent,
    RevokeToken,
    UpdateAgent,
)
from nodedc_gateway.application.grants import ListGrants
from nodedc_gateway.application.pairing import CreatePairingCode
from nodedc_gateway.domain.canonical import parse_timestamp
from nodedc_gateway.domain.errors import GatewayError
from nodedc_gateway.entrypoints.connector import codex_config
from nodedc_gateway.entrypoints.console import vocab
from nodedc_gateway.entrypoints.console.web import (
    PREFIX,
    AnyRequest,
    EntityPath,
    QueryText,
    ViewerDep,
    field,
    form_key,
    form_of,
    page,
    see_other,
)
from nodedc_gateway.entrypoints.http.security import entity_id

#: How many agents the console lists (pages of 100 through the use case).
MAX_AGENTS = 500


async def all_agents(viewer: ViewerDep) -> list[dict[str, Any]]:
    agents: list[dict[str, Any]] = []
    cursor = None
    while len(agents) < MAX_AGENTS:
        body = await viewer.body(ListAgents(100, cursor))
        agents += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    return agents


async def project_names(viewer: ViewerDep, workspaces: set[str]) -> dict[str, str]:
    """`DEMO — Demo project` for each project id of these workspaces, as Tasker names
    them; a workspace Tasker cannot list just shows ids."""
    names: dict[str, str] = {}
    for workspace in sorted(workspaces):
        try:
            projects = await viewer.management.tasker.list_projects(workspace)
        except GatewayError:
            continue
        names.update({p.id: f"{p.identifier} — {p.name}" for p in projects})
    return names


@get("/agents", name="console-agents")
async def agents_page(request: AnyRequest, viewer: ViewerDep, notice: QueryText = None) -> Template:
    return page(
        request,
        "agents.html",
        nav="agents",
        viewer=viewer,
        notice=vocab.notice(notice),
        agents=await all_agents(viewer),
    )


@post("/agents", name="console-create-agent")
async def create_agent(request: AnyRequest, viewer: ViewerDep) -> Redirect:
    form = await form_of(request)
    body = {"display_name": field(form, "display_name"), "owner_email": field(form, "owner_email")}
    agent = await viewer.body(CreateAgent(viewer.management, body), form_key(form))
    return see_other(f"{PREFIX}/agents/{agent['id']}?notice=agent_created")


@get("/agents/{agent_id:str}", name="console-agent")
async def agent_page(
    request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath, notice: QueryText = None
) -> Template:
    agent_id = entity_id(agent_id)
    agent = await viewer.body(GetAgent(agent_id))
    tokens = await viewer.body(ListTokens(agent_id))
    grants = await viewer.body(ListGrants(agent_id, include_revoked=True))
    names = await project_names(viewer, {g["workspace_slug"] for g in grants["items"]})
    return page(
        request,
        "agent.html",
        nav="agents",
        viewer=viewer,
        notice=vocab.notice(notice),
        agent=agent,
        tokens=tokens["items"],
        grants=grants["items"],
        projects=names,
    )


@post("/agents/{agent_id:str}/rename", name="console-rename-agent")
async def rename_agent(request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath) -> Redirect:
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    action = UpdateAgent(agent_id, {"display_name": field(form, "display_name")})
    await viewer.run(action, form_key(form))
    return see_other(f"{PREFIX}/agents/{agent_id}?notice=agent_renamed")


@post("/agents/{agent_id:str}/status", name="console-agent-status")
async def set_agent_status(
    request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath
) -> Redirect:
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    status = field(form, "status")
    await viewer.run(UpdateAgent(agent_id, {"status": status}), form_key(form))
    done = "agent_disabled" if status == "disabled" else "agent_enabled"
    return see_other(f"{PREFIX}/agents/{agent_id}?notice={done}")


@get("/agents/{agent_id:str}/revoke", name="console-confirm-revoke-agent")
async def confirm_revoke_agent(
    request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath
) -> Template:
    agent = await viewer.body(GetAgent(entity_id(agent_id)))
    return page(request, "revoke_agent.html", nav="agents", viewer=viewer, agent=agent)


@post("/agents/{agent_id:str}/revoke", name="console-revoke-agent")
async def revoke_agent(request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath) -> Redirect:
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    await viewer.run(RevokeAgent(agent_id), form_key(form))
    return see_other(f"{PREFIX}/agents/{agent_id}?notice=agent_revoked")


@post("/agents/{agent_id:str}/tokens", name="console-issue-token")
async def issue_token(request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath) -> Template:
    """The token is shown on this one answer only (no-store); a resent form replays
    without it, so no secret is ever rendered twice."""
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    body: dict[str, Any] = {"name": field(form, "name")}
    days = field(form, "expires_in_days")
    if days:
        body["expires_in_days"] = int(days) if days.isdigit() and len(days) < 5 else days
    issued = await viewer.body(IssueToken(viewer.management, agent_id, body), form_key(form))
    agent = await viewer.body(GetAgent(agent_id))
    return page(
        request,
        "token_issued.html",
        nav="agents",
        viewer=viewer,
        agent=agent,
        issued=issued,
        mcp_url=viewer.services.settings.mcp_url,
        # The block `connect`, `demo` and docs/codex.md print: one source, tested against
        # the real Codex.
        codex_config=codex_config(viewer.services.settings.mcp_url, None).rstrip(),
    )


@post("/agents/{agent_id:str}/tokens/{token_id:str}/revoke", name="console-revoke-token")
async def revoke_token(
    request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath, token_id: EntityPath
) -> Redirect:
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    await viewer.run(RevokeToken(agent_id, entity_id(token_id)), form_key(form))
    return see_other(f"{PREFIX}/agents/{agent_id}?notice=token_revoked")


@post("/agents/{agent_id:str}/pairing-code", name="console-pairing-code")
async def pairing_code(request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath) -> Template:
    """Shown once, large, with its expiry and the `connect` command."""
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    issued = await viewer.body(CreatePairingCode(viewer.management, agent_id), form_key(form))
    agent = await viewer.body(GetAgent(agent_id))
    # The countdown starts from the server's clock, not the browser's (which may be off).
    left = parse_timestamp(issued["expires_at"]) - viewer.services.console.clock.now()
    return page(
        request,
        "pairing_code.html",
        nav="agents",
        viewer=viewer,
        agent=agent,
        issued=issued,
        gateway_url=viewer.services.settings.public_url.rstrip("/"),
        seconds_left=max(0, int(left.total_seconds())),
    )


ROUTES = [
    agents_page,
    create_agent,
    agent_page,
    rename_agent,
    set_agent_status,
    confirm_revoke_agent,
    revoke_agent,
    issue_token,
    revoke_token,
    pairing_code,
]
