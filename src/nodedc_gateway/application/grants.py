"""Grants, as an owner gives, changes, revokes and reviews them (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.ownership import (
    ManagementDeps,
    owned_agent,
)
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    GrantHistory,
    GrantView,
    Page,
)
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.agents import AgentStatus
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantVersion
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.scopes import MAX_SCOPES_PER_REQUEST
from nodedc_gateway.domain.tasker import parse_project_ref
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWork


class ListGrants(OwnerAction[Page]):
    operation = CATALOGUE["list_grants"]

    def __init__(self, agent_id: str, include_revoked: bool = False) -> None:
        self.agent_id = agent_id
        self.include_revoked = include_revoked

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Page:
        agent = await owned_agent(uow, call, self.agent_id)
        grants = await uow.grants.list_by_agent(agent.id, include_revoked=self.include_revoked)
        return Page([GrantView(g) for g in grants])


class CreateGrant(OwnerAction[GrantView]):
    operation = CATALOGUE["create_grant"]

    def __init__(self, deps: ManagementDeps, agent_id: str, body: Mapping[str, Any] | None) -> None:
        self.deps = deps
        self.agent_id = agent_id
        self.args = Arguments(body, ("workspace_slug", "project_id", "scopes", "mode"))
        self.workspace = validation.workspace_slug(self.args.get("workspace_slug"))
        self.project_ref = (
            parse_project_ref(self.args.get("project_id"))
            if self.args.given("project_id")
            else None
        )
        self.project_id = WORKSPACE_LEVEL

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, **self.args.raw}

    async def prepare(self, call: OwnerCall) -> None:
        # Ownership first: another owner's agent is a 404 (CONTRACT §5), whatever Tasker
        # would say about the caller's own reach; `perform` checks again in its transaction.
        async with self.deps.uow() as uow:
            await owned_agent(uow, call, self.agent_id)
        self.project_id = await grantable_target(
            self.deps.tasker, call.owner_user_id, self.workspace, self.project_ref
        )

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantView:
        agent = await owned_agent(uow, call, self.agent_id)
        if agent.status is AgentStatus.REVOKED:
            raise ValidationFailed.field("agent", "the agent is revoked; it cannot get grants")
        grant, version = Grant.create(
            grant_id=self.deps.ids.new_id(),
            agent_id=agent.id,
            workspace_slug=self.workspace,
            project_id=self.project_id,
            scopes=self.args.list("scopes", max_items=MAX_SCOPES_PER_REQUEST),
            mode=self.args.get("mode") or "voluntary",
            by_user_id=call.actor_user_id,
            now=call.now,
        )
        await uow.grants.add(grant, version)
        return GrantView(grant)

    def audit(self, result: GrantView) -> Sequence[AuditNote]:
        return [grant_note("grant.created", result.grant)]


async def grantable_target(
    tasker: TaskerPort, owner_user_id: str, workspace: str, project_ref: str | None
) -> str:
    """The project id a grant may name: the workspace must allow agents, and the owner
    must reach the workspace (and the project) in Tasker: nobody grants more than they have."""
    policy = await tasker.workspace_policy(workspace)
    if not policy.agents_allowed:
        raise ValidationFailed.field(
            "workspace_slug", "this workspace's policy does not allow agents (Tasker: Features)"
        )
    if project_ref is None:
        await _owner_reaches(tasker, owner_user_id, workspace)
        return WORKSPACE_LEVEL
    project_id = await reachable_project(tasker, owner_user_id, workspace, project_ref)
    details = await tasker.get_project(workspace, project_id)
    if all(member.id != owner_user_id for member in details.members):
        raise ValidationFailed.field(
            "project_id", "the agent's owner is not a member of this project in Tasker"
        )
    return project_id


async def reachable_project(
    tasker: TaskerPort, owner_user_id: str, workspace: str, project_ref: str
) -> str:
    """The id of a project named by id or identifier, looked up only in a workspace the
    agent's owner reaches in Tasker (the gateway's own Tasker user sees every one)."""
    await _owner_reaches(tasker, owner_user_id, workspace)
    try:
        return (await tasker.find_project(workspace, project_ref)).id
    except NotFound:
        raise ValidationFailed.field("project_id", "no such project in this workspace") from None


async def _owner_reaches(tasker: TaskerPort, owner_user_id: str, workspace: str) -> None:
    if not await tasker.user_has_access(workspace, owner_user_id):
        raise ValidationFailed.field(
            "workspace_slug", "the agent's owner has no access to this workspace in Tasker"
        )


def grant_note(event_type: str, grant: Grant, note: str | None = None) -> AuditNote:
    metadata: dict[str, Any] = {
        "grant_id": grant.id,
        "version": grant.version,
        "scopes": sorted(grant.scopes),
        "mode": str(grant.mode),
        "status": str(grant.status),
    }
    if note:
        metadata["note"] = note
    return AuditNote(
        event_type,
        grant.agent_id,
        metadata,
        (grant.ref,),
        {"workspace_slug": grant.workspace_slug, "project_id": grant.project_id or None},
    )


async def owned_grant(uow: UnitOfWork, call: OwnerCall, agent_id: str, grant_id: str) -> Grant:
    agent = await owned_agent(uow, call, agent_id)
    grant = await uow.grants.get(grant_id)
    if grant is None or grant.agent_id != agent.id:
        raise NotFound("No such grant for this agent.")
    return grant


class UpdateGrant(OwnerAction[GrantView]):
    operation = CATALOGUE["update_grant"]

    def __init__(self, agent_id: str, grant_id: str, body: Mapping[str, Any] | None) -> None:
        self.agent_id = agent_id
        self.grant_id = grant_id
        self.args = Arguments(body, ("scopes", "mode"))

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, "grant_id": self.grant_id, **self.args.raw}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantView:
        grant = await owned_grant(uow, call, self.agent_id, self.grant_id)
        version = grant.change(
            by_user_id=call.actor_user_id,
            now=call.now,
            scopes=self.args.list("scopes", max_items=MAX_SCOPES_PER_REQUEST)
            if "scopes" in self.args.raw
            else None,
            mode=self.args.get("mode"),
        )
        await uow.grants.save(grant, version)
        return GrantView(grant)

    def audit(self, result: GrantView) -> Sequence[AuditNote]:
        return [grant_note("grant.updated", result.grant)]


class RevokeGrant(OwnerAction[GrantView]):
    operation = CATALOGUE["revoke_grant"]

    def __init__(self, agent_id: str, grant_id: str) -> None:
        self.agent_id = agent_id
        self.grant_id = grant_id

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, "grant_id": self.grant_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantView:
        grant = await owned_grant(uow, call, self.agent_id, self.grant_id)
        version = grant.revoke(by_user_id=call.actor_user_id, now=call.now)
        await uow.grants.save(grant, version)
        return GrantView(grant)

    def audit(self, result: GrantView) -> Sequence[AuditNote]:
        return [grant_note("grant.revoked", result.grant)]


class ListGrantVersions(OwnerAction[GrantHistory]):
    operation = CATALOGUE["list_grant_versions"]

    def __init__(self, agent_id: str, grant_id: str) -> None:
        self.agent_id = agent_id
        self.grant_id = grant_id

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantHistory:
        grant = await owned_grant(uow, call, self.agent_id, self.grant_id)
        versions: Sequence[GrantVersion] = await uow.grants.versions(grant.id)
        return GrantHistory(tuple(versions))
