"""Console pages for grants: a new grant (workspace, then a project Tasker says the owner
can reach, scopes, mode), one grant with its versions side by side, change and revoke."""

from __future__ import annotations

from typing import Any

from litestar import get, post
from litestar.response import Redirect, Template

from nodedc_gateway.application.agents import GetAgent
from nodedc_gateway.application.grants import (
    CreateGrant,
    ListGrants,
    ListGrantVersions,
    RevokeGrant,
    UpdateGrant,
)
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import GatewayError
from nodedc_gateway.entrypoints.console import vocab
from nodedc_gateway.entrypoints.console.agents import project_names
from nodedc_gateway.entrypoints.console.web import (
    PREFIX,
    AnyRequest,
    EntityPath,
    QueryText,
    ViewerDep,
    field,
    fields,
    form_key,
    form_of,
    page,
    see_other,
)
from nodedc_gateway.entrypoints.http.security import entity_id


async def known_workspaces(viewer: ViewerDep, agent_id: EntityPath) -> list[str]:
    """Suggestions: the configured Plane workspaces and those the agent already has."""
    grants = await viewer.body(ListGrants(agent_id, include_revoked=True))
    configured = [e.partition(":")[0].strip() for e in viewer.services.settings.plane_workspaces]
    return sorted({*configured, *(g["workspace_slug"] for g in grants["items"])} - {""})


async def reachable_projects(viewer: ViewerDep, workspace: str) -> tuple[list[Any], str | None]:
    """The workspace's projects, when Tasker says the owner can reach the workspace."""
    tasker = viewer.management.tasker
    try:
        if not await tasker.user_has_access(workspace, viewer.owner):
            return [], "Tasker says you have no access to this workspace."
        return list(await tasker.list_projects(workspace)), None
    except GatewayError as error:
        return [], error.message


@get("/agents/{agent_id:str}/grants/new", name="console-new-grant")
async def new_grant(
    request: AnyRequest,
    viewer: ViewerDep,
    agent_id: EntityPath,
    workspace: QueryText = None,
) -> Template:
    agent = await viewer.body(GetAgent(entity_id(agent_id)))
    projects: list[Any] = []
    problem = None
    if workspace:
        workspace = validation.workspace_slug(workspace)
        projects, problem = await reachable_projects(viewer, workspace)
    return page(
        request,
        "grant_new.html",
        nav="agents",
        viewer=viewer,
        agent=agent,
        workspace=workspace,
        workspaces=await known_workspaces(viewer, agent["id"]),
        projects=projects,
        problem=problem,
        groups=vocab.grantable_groups(),
        human_only=vocab.human_only(),
        checked=(),
    )


@post("/agents/{agent_id:str}/grants", name="console-create-grant")
async def create_grant(request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath) -> Redirect:
    agent_id = entity_id(agent_id)
    form = await form_of(request)
    body: dict[str, Any] = {
        "workspace_slug": field(form, "workspace_slug"),
        "scopes": fields(form, "scopes"),
        "mode": field(form, "mode") or "voluntary",
    }
    project = field(form, "project_id")
    body["project_id"] = project or None
    grant = await viewer.body(CreateGrant(viewer.management, agent_id, body), form_key(form))
    return see_other(f"{PREFIX}/agents/{agent_id}/grants/{grant['id']}?notice=grant_created")


@get("/agents/{agent_id:str}/grants/{grant_id:str}", name="console-grant")
async def grant_page(
    request: AnyRequest,
    viewer: ViewerDep,
    agent_id: EntityPath,
    grant_id: EntityPath,
    notice: QueryText = None,
) -> Template:
    agent_id, grant_id = entity_id(agent_id), entity_id(grant_id)
    agent = await viewer.body(GetAgent(agent_id))
    history = await viewer.body(ListGrantVersions(agent_id, grant_id))
    versions = history["items"]
    current = versions[-1]
    names = await project_names(viewer, {current["workspace_slug"]})
    before: set[str] = set()
    for version in versions:  # what each version added and removed, for the history
        scopes = set(version["scopes"])
        version["added"], version["removed"] = sorted(scopes - before), sorted(before - scopes)
        before = scopes
    return page(
        request,
        "grant.html",
        nav="agents",
        viewer=viewer,
        notice=vocab.notice(notice),
        agent=agent,
        grant_id=grant_id,
        current=current,
        versions=list(reversed(versions)),
        groups=vocab.grantable_groups(),
        human_only=vocab.human_only(),
        checked=set(current["scopes"]),
        project=names.get(current["project_id"] or "", current["project_id"]),
    )


@post("/agents/{agent_id:str}/grants/{grant_id:str}", name="console-update-grant")
async def update_grant(
    request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath, grant_id: EntityPath
) -> Redirect:
    agent_id, grant_id = entity_id(agent_id), entity_id(grant_id)
    form = await form_of(request)
    body = {"scopes": fields(form, "scopes"), "mode": field(form, "mode")}
    await viewer.run(UpdateGrant(agent_id, grant_id, body), form_key(form))
    return see_other(f"{PREFIX}/agents/{agent_id}/grants/{grant_id}?notice=grant_updated")


@post("/agents/{agent_id:str}/grants/{grant_id:str}/revoke", name="console-revoke-grant")
async def revoke_grant(
    request: AnyRequest, viewer: ViewerDep, agent_id: EntityPath, grant_id: EntityPath
) -> Redirect:
    agent_id, grant_id = entity_id(agent_id), entity_id(grant_id)
    form = await form_of(request)
    await viewer.run(RevokeGrant(agent_id, grant_id), form_key(form))
    return see_other(f"{PREFIX}/agents/{agent_id}/grants/{grant_id}?notice=grant_revoked")


ROUTES = [new_grant, create_grant, grant_page, update_grant, revoke_grant]
