"""`request_access` and `get_access_request`: an agent asks a person for scopes it lacks,
and follows what became of its requests. Human-only scopes are refused at once."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from nodedc_gateway.application import tool_arguments
from nodedc_gateway.application.agent_tools import Tool
from nodedc_gateway.application.grants import reachable_project
from nodedc_gateway.application.pipeline import AgentCall, Located
from nodedc_gateway.application.results import AccessRequestFiled, Page
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.access_requests import MAX_PENDING_PER_AGENT, AccessRequest
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Target
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.scopes import MAX_SCOPES_PER_REQUEST
from nodedc_gateway.domain.tasker import parse_project_ref
from nodedc_gateway.ports.unit_of_work import UnitOfWork

MAX_LISTED_REQUESTS = 100


class RequestAccessTool(Tool):
    operation = CATALOGUE["request_access"]
    argument_model = tool_arguments.REQUEST_ACCESS

    async def locate(self, call: AgentCall) -> Located:
        return Located(None)

    async def act(self, call: AgentCall, located: Located) -> AccessRequestFiled:
        args = self.args
        workspace = validation.workspace_slug(args.get("workspace_slug"))
        # The request holds the project's id, as grants do, not `DEMO` as typed: the owner
        # reads and approves the project itself, and what the agent already holds there is
        # judged on it. Only where the owner reaches the workspace, so that an agent cannot
        # probe which projects exist elsewhere.
        project_id = (
            await reachable_project(
                self.deps.tasker,
                call.agent.owner_user_id,
                workspace,
                parse_project_ref(args.get("project_id")),
            )
            if args.given("project_id")
            else WORKSPACE_LEVEL
        )
        request = AccessRequest.file(
            request_id=self.deps.ids.new_id(),
            agent_id=call.agent.id,
            owner_user_id=call.agent.owner_user_id,
            workspace_slug=workspace,
            project_ref=project_id,
            scopes=args.list("scopes", max_items=MAX_SCOPES_PER_REQUEST),
            justification=args.get("justification"),
            now=call.now,
        )
        held = call.caller.index.covering(Target(workspace, project_id)).scopes
        if request.scopes <= held:
            raise ValidationFailed.field(
                "scopes", "this agent already holds every one of these scopes there"
            )
        async with self.deps.uow() as uow:
            pending = await uow.access_requests.count_pending(call.agent.id)
        if pending >= MAX_PENDING_PER_AGENT:
            raise ValidationFailed.field(
                "scopes",
                f"{pending} requests are already waiting for a decision; wait for them first",
            )
        return AccessRequestFiled(request)

    async def persist(self, uow: UnitOfWork, call: AgentCall, result: Any) -> None:
        await uow.access_requests.add(result.request)

    def describe(self, result: Any) -> Mapping[str, Any]:
        request: AccessRequest = result.request
        return {
            "request_id": request.id,
            "workspace_slug": request.workspace_slug,
            "project": request.project_ref or None,
            "scopes": sorted(request.scopes),
        }


class GetAccessRequestTool(Tool):
    operation = CATALOGUE["get_access_request"]
    argument_model = tool_arguments.GET_ACCESS_REQUEST

    async def locate(self, call: AgentCall) -> Located:
        return Located(None)

    async def act(self, call: AgentCall, located: Located) -> Page:
        async with self.deps.uow() as uow:
            if self.args.given("request_id"):
                request_id = validation.text(
                    self.args.get("request_id"), "request_id", max_length=validation.MAX_ID_INPUT
                )
                request = await uow.access_requests.get(request_id)
                if request is None or request.agent_id != call.agent.id:
                    raise NotFound("No such access request of this agent.")
                requests = [request]
            else:
                requests = list(
                    await uow.access_requests.list_by_agent(
                        call.agent.id, limit=MAX_LISTED_REQUESTS
                    )
                )
        return Page([as_of(request, call.now) for request in requests])


def as_of(request: AccessRequest, now: datetime) -> AccessRequest:
    """The request as a reader sees it now (a pending one past its expiry is expired)."""
    status = request.status_at(now)
    return request if status is request.status else attrs.evolve(request, status=status)
