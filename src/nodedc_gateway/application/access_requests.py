"""Access requests, the human side: an owner lists them and decides (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from nodedc_gateway.application.access_tools import as_of
from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.grants import grantable_target
from nodedc_gateway.application.ownership import (
    ManagementDeps,
    page_limit,
)
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    AccessRequestDecided,
    Page,
)
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.access_requests import AccessRequest, DecisionKind, RequestStatus
from nodedc_gateway.domain.agents import AgentStatus
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantChange
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.scopes import MAX_SCOPES_PER_REQUEST
from nodedc_gateway.ports.unit_of_work import UnitOfWork


class ListAccessRequests(OwnerAction[Page]):
    """The owner's agents' requests, newest first; `status` filters (pending ones past
    their 7 days read as expired)."""

    operation = CATALOGUE["list_access_requests"]

    def __init__(self, status: object = None, limit: object = None, cursor: object = None) -> None:
        if status is not None and status not in {s.value for s in RequestStatus}:
            raise ValidationFailed.field(
                "status", "must be one of " + ", ".join(s.value for s in RequestStatus)
            )
        self.status = None if status is None else RequestStatus(str(status))
        self.limit = page_limit(limit)
        self.cursor = None if cursor is None else validation.uuid_text(cursor, "cursor")

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Page:
        stored = RequestStatus.PENDING if self.status is RequestStatus.EXPIRED else self.status
        found: list[AccessRequest] = []
        cursor = self.cursor
        while len(found) <= self.limit:
            batch = await uow.access_requests.list_by_owner(
                call.owner_user_id, status=stored, limit=self.limit + 1, before_id=cursor
            )
            found += [
                request
                for request in (as_of(r, call.now) for r in batch)
                if self.status is None or request.status is self.status
            ]
            if len(batch) <= self.limit:
                break
            cursor = batch[-1].id
        page = found[: self.limit]
        return Page(page, page[-1].id if len(found) > self.limit else None)


class DecideAccessRequest(OwnerAction[AccessRequestDecided]):
    """approve (all requested scopes, or the narrower `scopes`), deny (a `note` is the
    reason, required) or suggest (other `scopes`, with a `note`). Approving writes a new
    version of the agent's grant on that workspace or project, or a new grant."""

    operation = CATALOGUE["decide_access_request"]

    def __init__(
        self, deps: ManagementDeps, request_id: str, body: Mapping[str, Any] | None
    ) -> None:
        self.deps = deps
        self.request_id = request_id
        self.args = Arguments(body, ("decision", "scopes", "note"))
        decision = self.args.get("decision")
        if decision not in {d.value for d in DecisionKind}:
            raise ValidationFailed.field("decision", "must be approve, deny or suggest")
        self.decision = DecisionKind(str(decision))
        self.project_id = WORKSPACE_LEVEL

    def arguments(self) -> Mapping[str, Any]:
        return {"request_id": self.request_id, **self.args.raw}

    async def prepare(self, call: OwnerCall) -> None:
        async with self.deps.uow() as uow:
            request = await self._owned(uow, call)
        if self.decision is DecisionKind.APPROVE:
            # Tasker is asked before the transaction opens: the owner must still reach the
            # workspace (and project), and the workspace must still allow agents.
            self.project_id = await grantable_target(
                self.deps.tasker,
                call.owner_user_id,
                request.workspace_slug,
                request.project_ref or None,
            )

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> AccessRequestDecided:
        request = await self._owned(uow, call)
        args = self.args
        grant: Grant | None = None
        if self.decision is DecisionKind.APPROVE:
            agent = await uow.agents.get(request.agent_id)
            if agent is None or agent.status is AgentStatus.REVOKED:
                raise ValidationFailed.field("request_id", "the agent is revoked")
            approved = request.approve(
                by_user_id=call.actor_user_id,
                now=call.now,
                scopes=args.list("scopes", max_items=MAX_SCOPES_PER_REQUEST)
                if args.given("scopes")
                else None,
                note=args.get("note"),
            )
            grant = await self._widen_or_grant(uow, call, request, approved)
        elif self.decision is DecisionKind.DENY:
            request.deny(by_user_id=call.actor_user_id, now=call.now, note=args.get("note"))
        else:
            if not args.given("scopes"):
                raise ValidationFailed.field("scopes", "suggest the scopes the agent may ask for")
            request.suggest(
                by_user_id=call.actor_user_id,
                now=call.now,
                scopes=args.list("scopes", max_items=MAX_SCOPES_PER_REQUEST),
                note=args.get("note"),
            )
        await uow.access_requests.save(request)
        return AccessRequestDecided(request, grant)

    async def _owned(self, uow: UnitOfWork, call: OwnerCall) -> AccessRequest:
        request = await uow.access_requests.get(self.request_id)
        if request is None or request.owner_user_id != call.owner_user_id:
            raise NotFound("No such access request for this owner.")
        return request

    async def _widen_or_grant(
        self, uow: UnitOfWork, call: OwnerCall, request: AccessRequest, scopes: frozenset[Any]
    ) -> Grant:
        note = f"access request {request.id}"
        for grant in await uow.grants.list_by_agent(request.agent_id):
            if (grant.workspace_slug, grant.project_id) == (
                request.workspace_slug,
                self.project_id,
            ):
                version = grant.add_scopes(
                    scopes, by_user_id=call.actor_user_id, now=call.now, note=note
                )
                await uow.grants.save(grant, version)
                return grant
        grant, version = Grant.create(
            grant_id=self.deps.ids.new_id(),
            agent_id=request.agent_id,
            workspace_slug=request.workspace_slug,
            project_id=self.project_id,
            scopes=sorted(scopes),
            mode="voluntary",
            by_user_id=call.actor_user_id,
            now=call.now,
        )
        version = attrs.evolve(version, change=GrantChange.ACCESS_APPROVED, note=note)
        await uow.grants.add(grant, version)
        return grant

    def audit(self, result: AccessRequestDecided) -> Sequence[AuditNote]:
        request = result.request
        decision = request.decision
        metadata: dict[str, Any] = {
            "request_id": request.id,
            "requested_scopes": sorted(request.scopes),
            "note": decision.note if decision else None,
        }
        if decision is not None and decision.approved_scopes:
            metadata["approved_scopes"] = sorted(decision.approved_scopes)
        if decision is not None and decision.suggested_scopes:
            metadata["suggested_scopes"] = sorted(decision.suggested_scopes)
        versions = (result.grant.ref,) if result.grant else ()
        return [
            AuditNote(
                f"access_request.{request.status}",
                request.agent_id,
                metadata,
                versions,
                {"workspace_slug": request.workspace_slug, "project": request.project_ref or None},
            )
        ]
