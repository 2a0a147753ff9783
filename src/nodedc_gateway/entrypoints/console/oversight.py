"""Console pages for oversight: the access-request inbox, the audit log with its chain's
verification state, and reporting-mode work sessions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.params import QueryParameter
from litestar.response import Redirect, Template

from nodedc_gateway.application.access_requests import DecideAccessRequest, ListAccessRequests
from nodedc_gateway.application.audit_trail import ListAuditEvents
from nodedc_gateway.application.audit_verification import verify_audit_chain
from nodedc_gateway.application.grants import ListGrants
from nodedc_gateway.domain.errors import GatewayError
from nodedc_gateway.entrypoints.console import vocab
from nodedc_gateway.entrypoints.console.agents import all_agents, project_names
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

DECIDED_SHOWN = 50
AUDIT_PAGE = 25


@get("/requests", name="console-requests")
async def requests_page(
    request: AnyRequest, viewer: ViewerDep, notice: QueryText = None
) -> Template:
    pending = await viewer.body(ListAccessRequests("pending", 100))
    recent = await viewer.body(ListAccessRequests(None, DECIDED_SHOWN))
    agents = {a["id"]: a for a in await all_agents(viewer)}
    shown = [*pending["items"], *recent["items"]]
    projects = await project_names(viewer, {r["workspace_slug"] for r in shown if r["project_id"]})
    return page(
        request,
        "requests.html",
        nav="requests",
        viewer=viewer,
        notice=vocab.notice(notice),
        pending=pending["items"],
        decided=[r for r in recent["items"] if r["status"] != "pending"],
        agents=agents,
        projects=projects,
        sentences={str(s): text for s, text in vocab.SENTENCES.items()},
    )


@post("/requests/{request_id:str}", name="console-decide-request")
async def decide_request(
    request: AnyRequest, viewer: ViewerDep, request_id: EntityPath
) -> Redirect:
    form = await form_of(request)
    decision = field(form, "decision")
    body: dict[str, Any] = {"decision": decision}
    if decision in ("approve", "suggest"):
        body["scopes"] = fields(form, "scopes")
    note = (field(form, "note") or "").strip()
    if note:
        body["note"] = note
    action = DecideAccessRequest(viewer.management, entity_id(request_id), body)
    await viewer.run(action, form_key(form))
    done = {"approve": "request_approved", "deny": "request_denied"}.get(
        str(decision), "request_suggested"
    )
    return see_other(f"{PREFIX}/requests?notice={done}")


@get("/audit", name="console-audit")
async def audit_page(
    request: AnyRequest,
    viewer: ViewerDep,
    agent: QueryText = None,
    decision: QueryText = None,
    operation: QueryText = None,
    since: QueryText = None,
    until: QueryText = None,
    cursor: Annotated[str | None, QueryParameter(max_length=18, required=False)] = None,
) -> Template:
    agents = await all_agents(viewer)
    chosen = entity_id(agent) if agent else (agents[0]["id"] if agents else None)
    filters = {
        "decision": decision or None,
        "operation": operation or None,
        "since": since or None,
        "until": until or None,
    }
    events: list[Any] = []
    next_cursor = None
    chain = None
    if chosen is not None:
        params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        params["limit"] = AUDIT_PAGE
        if cursor:
            params["cursor"] = cursor
        body = await viewer.body(ListAuditEvents(chosen, params))  # owner checked here
        events, next_cursor = body["items"], body["next_cursor"]
        chain = await verify_audit_chain(viewer.services.management.uow, chosen)
    return page(
        request,
        "audit.html",
        nav="audit",
        viewer=viewer,
        agents=agents,
        chosen=chosen,
        filters=filters,
        events=events,
        next_cursor=next_cursor,
        chain=chain,
    )


@get("/reporting", name="console-reporting")
async def reporting_page(request: AnyRequest, viewer: ViewerDep) -> Template:
    """For the owner's grants in reporting mode: open, stale and missing work sessions,
    limited to the owner's own agents."""
    agents = {a["id"]: a for a in await all_agents(viewer)}
    workspaces: set[str] = set()
    for agent_id in agents:
        grants = await viewer.body(ListGrants(agent_id))
        workspaces |= {g["workspace_slug"] for g in grants["items"] if g["mode"] == "reporting"}
    reports: list[dict[str, Any]] = []
    for workspace in sorted(workspaces):
        try:
            result = await viewer.services.workspaces.reporting(workspace)
        except GatewayError as error:
            reports.append({"workspace": workspace, "problem": error.message})
            continue
        mine = [s for s in result.open if s.session.agent_id in agents]
        reports.append(
            {
                "workspace": workspace,
                "problem": None,
                "open": [s for s in mine if not s.stale],
                "stale": [s for s in mine if s.stale],
                "missing": [r for r in result.missing if any(a in agents for a in r.agent_ids)],
            }
        )
    return page(
        request, "reporting.html", nav="reporting", viewer=viewer, reports=reports, agents=agents
    )


ROUTES = [requests_page, decide_request, audit_page, reporting_page]
