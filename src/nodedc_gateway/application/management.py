"""The internal API's use cases: what Tasker and Launcher do for an owner (CONTRACT §5).

Each is an `OwnerAction`: ownership is checked inside its transaction (another owner's
agent is a 404, never a 403), and every mutation writes its audit event in that same
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from nodedc_gateway.application.access_tools import as_of
from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    AccessRequestDecided,
    AuditPage,
    GrantHistory,
    GrantView,
    LifecycleApplied,
    Page,
    PairingCodeIssued,
    Redeemed,
    TokenIssued,
    TokenView,
)
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.access_requests import AccessRequest, DecisionKind, RequestStatus
from nodedc_gateway.domain.agents import Agent, AgentStatus, owned_by
from nodedc_gateway.domain.audit import AuditDecision
from nodedc_gateway.domain.canonical import parse_timestamp
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantChange, GrantVersion
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.pairing import (
    PAIRING_ALPHABET,
    PAIRING_CODE_LENGTH,
    PairingCode,
    PairingCodeInvalid,
    display_pairing_code,
    normalize_pairing_code,
)
from nodedc_gateway.domain.tasker import parse_project_ref
from nodedc_gateway.domain.tokens import (
    BASE62_ALPHABET,
    DEFAULT_EXPIRES_IN_DAYS,
    TOKEN_RANDOM_LENGTH,
    AgentToken,
    IssuedToken,
    mint_token,
    token_expiry,
    token_name,
)
from nodedc_gateway.ports.audit import AuditQuery
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.ids import IdGenerator, SecretGenerator
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_PAGE = 100
DEFAULT_PAGE = 50
LIFECYCLE_BATCH = 500


@attrs.frozen
class ManagementDeps:
    tasker: TaskerPort
    entitlements: EntitlementService
    ids: IdGenerator
    secrets: SecretGenerator
    hasher: SecretHasher
    clock: Clock
    mcp_url: str
    uow: UnitOfWorkFactory


def page_limit(value: object) -> int:
    if value is None:
        return DEFAULT_PAGE
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise ValidationFailed.field("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return value


async def _owned_agent(uow: UnitOfWork, call: OwnerCall, agent_id: str) -> Agent:
    return owned_by(await uow.agents.get(agent_id), call.owner_user_id)


def issue_token(
    deps: ManagementDeps, agent: Agent, name: object, expires_in_days: object, now: datetime
) -> IssuedToken:
    """Mint a token for an agent; the secret leaves only in the returned value."""
    if agent.status is AgentStatus.REVOKED:
        raise ValidationFailed.field("agent", "the agent is revoked; it cannot get tokens")
    secret = mint_token(deps.secrets.random_string(BASE62_ALPHABET, TOKEN_RANDOM_LENGTH))
    token = AgentToken.issue(
        token_id=deps.ids.new_id(),
        agent_id=agent.id,
        name=name,
        token_hash=deps.hasher.hash(secret.reveal()),
        expires_at=token_expiry(now, expires_in_days),
        now=now,
    )
    return IssuedToken(token, secret)


def _token_note(event_type: str, token: AgentToken) -> AuditNote:
    return AuditNote(
        event_type,
        token.agent_id,
        {"token_id": token.id, "name": token.name, "expires_at": token.expires_at.isoformat()},
    )


def without_secret(body: Mapping[str, Any], field: str) -> dict[str, Any]:
    """A response as stored for replay: the secret replaced by null, flagged as withheld."""
    return {**body, field: None, f"{field}_withheld": True}


# --- agents ---------------------------------------------------------------------------


class CreateAgent(OwnerAction[Agent]):
    operation = CATALOGUE["create_agent"]

    def __init__(self, deps: ManagementDeps, body: Mapping[str, Any] | None) -> None:
        self.deps = deps
        self.args = Arguments(body, ("display_name", "owner_email", "avatar_url"))

    def arguments(self) -> Mapping[str, Any]:
        return self.args.raw

    async def prepare(self, call: OwnerCall) -> None:
        await self.deps.entitlements.require(call.owner_user_id, call.now)

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Agent:
        agent = Agent.register(
            agent_id=self.deps.ids.new_id(),
            owner_user_id=call.owner_user_id,
            owner_email=self.args.get("owner_email"),
            display_name=self.args.get("display_name"),
            avatar_url=self.args.get("avatar_url"),
            now=call.now,
        )
        await uow.agents.add(agent)
        return agent

    def audit(self, result: Agent) -> Sequence[AuditNote]:
        return [AuditNote("agent.created", result.id, {"display_name": result.display_name})]


class ListAgents(OwnerAction[Page]):
    operation = CATALOGUE["list_agents"]

    def __init__(self, limit: object = None, cursor: object = None) -> None:
        self.limit = page_limit(limit)
        self.cursor = None if cursor is None else validation.uuid_text(cursor, "cursor")

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Page:
        agents = list(
            await uow.agents.list_by_owner(
                call.owner_user_id, limit=self.limit + 1, after_id=self.cursor
            )
        )
        more = len(agents) > self.limit
        agents = agents[: self.limit]
        return Page(agents, agents[-1].id if more else None)


class GetAgent(OwnerAction[Agent]):
    operation = CATALOGUE["get_agent"]

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Agent:
        return await _owned_agent(uow, call, self.agent_id)


class UpdateAgent(OwnerAction[Agent]):
    operation = CATALOGUE["update_agent"]

    def __init__(self, agent_id: str, body: Mapping[str, Any] | None) -> None:
        self.agent_id = agent_id
        self.args = Arguments(body, ("display_name", "status"))
        if not self.args.raw:
            raise ValidationFailed.field("display_name", "give display_name and/or status")

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, **self.args.raw}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Agent:
        agent = await _owned_agent(uow, call, self.agent_id)
        self.before = (agent.display_name, str(agent.status))
        if "display_name" in self.args.raw:
            agent.rename(self.args.get("display_name"), call.now)
        if "status" in self.args.raw:
            agent.set_status(self.args.get("status"), call.now)
        await uow.agents.save(agent)
        return agent

    def audit(self, result: Agent) -> Sequence[AuditNote]:
        return [
            AuditNote(
                "agent.updated",
                result.id,
                {
                    "display_name": result.display_name,
                    "status": str(result.status),
                    "previous_status": self.before[1],
                },
            )
        ]


class RevokeAgent(OwnerAction[Agent]):
    operation = CATALOGUE["revoke_agent"]

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.tokens_revoked = 0

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Agent:
        agent = await _owned_agent(uow, call, self.agent_id)
        self.tokens_revoked = await revoke_for_good(uow, agent, call.now)
        return agent

    def audit(self, result: Agent) -> Sequence[AuditNote]:
        return [AuditNote("agent.revoked", result.id, {"tokens_revoked": self.tokens_revoked})]


async def revoke_for_good(uow: UnitOfWork, agent: Agent, now: datetime) -> int:
    """Revoke an agent, its tokens and its pairing codes; returns the tokens revoked."""
    agent.revoke(now)
    await uow.agents.save(agent)
    await uow.pairing_codes.revoke_all(agent.id)
    return await uow.tokens.revoke_all(agent.id)


# --- tokens and pairing codes ---------------------------------------------------------------


class IssueToken(OwnerAction[TokenIssued]):
    operation = CATALOGUE["issue_token"]

    def __init__(self, deps: ManagementDeps, agent_id: str, body: Mapping[str, Any] | None) -> None:
        self.deps = deps
        self.agent_id = agent_id
        self.args = Arguments(body, ("name", "expires_in_days"))
        token_name(self.args.get("name"))  # fail fast, before any key is claimed

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, **self.args.raw}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> TokenIssued:
        agent = await _owned_agent(uow, call, self.agent_id)
        expires = self.args.get("expires_in_days")
        issued = issue_token(
            self.deps,
            agent,
            self.args.get("name"),
            DEFAULT_EXPIRES_IN_DAYS if expires is None else expires,
            call.now,
        )
        await uow.tokens.add(issued.token)
        return TokenIssued(issued)

    def audit(self, result: TokenIssued) -> Sequence[AuditNote]:
        return [_token_note("token.issued", result.issued.token)]

    def storable(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return without_secret(body, "token")


class ListTokens(OwnerAction[Page]):
    operation = CATALOGUE["list_tokens"]

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Page:
        agent = await _owned_agent(uow, call, self.agent_id)
        return Page([TokenView(t) for t in await uow.tokens.list_by_agent(agent.id)])


class RevokeToken(OwnerAction[TokenView]):
    operation = CATALOGUE["revoke_token"]

    def __init__(self, agent_id: str, token_id: str) -> None:
        self.agent_id = agent_id
        self.token_id = token_id

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, "token_id": self.token_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> TokenView:
        agent = await _owned_agent(uow, call, self.agent_id)
        token = await uow.tokens.get(self.token_id)
        if token is None or token.agent_id != agent.id:
            raise NotFound("No such token for this agent.")
        token.revoke()
        await uow.tokens.save(token)
        return TokenView(token)

    def audit(self, result: TokenView) -> Sequence[AuditNote]:
        return [_token_note("token.revoked", result.token)]


class CreatePairingCode(OwnerAction[PairingCodeIssued]):
    operation = CATALOGUE["create_pairing_code"]

    def __init__(self, deps: ManagementDeps, agent_id: str) -> None:
        self.deps = deps
        self.agent_id = agent_id

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> PairingCodeIssued:
        agent = await _owned_agent(uow, call, self.agent_id)
        if not agent.is_active:
            raise ValidationFailed.field("agent", "only an active agent can be paired")
        code = self.deps.secrets.random_string(PAIRING_ALPHABET, PAIRING_CODE_LENGTH)
        record = PairingCode.issue(
            code_id=self.deps.ids.new_id(),
            agent_id=agent.id,
            code_hash=self.deps.hasher.hash(code),
            now=call.now,
        )
        await uow.pairing_codes.add(record)
        self.code_id = record.id
        return PairingCodeIssued(display_pairing_code(code), agent.id, record.expires_at)

    def storable(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return without_secret(body, "code")

    def audit(self, result: PairingCodeIssued) -> Sequence[AuditNote]:
        return [
            AuditNote(
                "pairing_code.created",
                result.agent_id,
                {
                    "pairing_code_id": self.code_id,
                    "expires_at": result.expires_at.isoformat(),
                },
            )
        ]


class RedeemPairingCode(OwnerAction[Redeemed]):
    """Public: trade a pairing code for a token, once."""

    operation = CATALOGUE["redeem_pairing_code"]

    def __init__(self, deps: ManagementDeps, body: Mapping[str, Any] | None) -> None:
        self.deps = deps
        self.args = Arguments(body, ("code", "token_name"))
        self.code = normalize_pairing_code(self.args.get("code"))
        self.token_name = self.args.get("token_name") or "paired agent"
        token_name(self.token_name)

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Redeemed:
        record = await uow.pairing_codes.find_by_hash(self.deps.hasher.candidates(self.code))
        if record is None:
            raise PairingCodeInvalid()
        record.redeem(call.now)  # refuses a used, expired or revoked code
        if not await uow.pairing_codes.consume(record.id, call.now):
            raise PairingCodeInvalid()  # a concurrent redeem won
        agent = await uow.agents.get(record.agent_id)
        if agent is None or not agent.is_active:
            raise PairingCodeInvalid()
        issued = issue_token(self.deps, agent, self.token_name, DEFAULT_EXPIRES_IN_DAYS, call.now)
        await uow.tokens.add(issued.token)
        self.agent, self.pairing_code_id = agent, record.id
        return Redeemed(issued, self.deps.mcp_url)

    def audit(self, result: Redeemed) -> Sequence[AuditNote]:
        token = result.issued.token
        owner = self.agent.owner_user_id
        return [
            AuditNote(
                "pairing_code.redeemed",
                token.agent_id,
                {"pairing_code_id": self.pairing_code_id},
                owner_user_id=owner,
            ),
            attrs.evolve(_token_note("token.issued", token), owner_user_id=owner),
        ]


# --- grants -----------------------------------------------------------------------------


class ListGrants(OwnerAction[Page]):
    operation = CATALOGUE["list_grants"]

    def __init__(self, agent_id: str, include_revoked: bool = False) -> None:
        self.agent_id = agent_id
        self.include_revoked = include_revoked

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Page:
        agent = await _owned_agent(uow, call, self.agent_id)
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
        self.project_id = await grantable_target(
            self.deps.tasker, call.owner_user_id, self.workspace, self.project_ref
        )

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantView:
        agent = await _owned_agent(uow, call, self.agent_id)
        if agent.status is AgentStatus.REVOKED:
            raise ValidationFailed.field("agent", "the agent is revoked; it cannot get grants")
        grant, version = Grant.create(
            grant_id=self.deps.ids.new_id(),
            agent_id=agent.id,
            workspace_slug=self.workspace,
            project_id=self.project_id,
            scopes=self.args.list("scopes", max_items=64),
            mode=self.args.get("mode") or "voluntary",
            by_user_id=call.actor_user_id,
            now=call.now,
        )
        await uow.grants.add(grant, version)
        return GrantView(grant)

    def audit(self, result: GrantView) -> Sequence[AuditNote]:
        return [_grant_note("grant.created", result.grant)]


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
    if not await tasker.user_has_access(workspace, owner_user_id):
        raise ValidationFailed.field(
            "workspace_slug", "the agent's owner has no access to this workspace in Tasker"
        )
    if project_ref is None:
        return WORKSPACE_LEVEL
    try:
        project = await tasker.find_project(workspace, project_ref)
    except NotFound:
        raise ValidationFailed.field("project_id", "no such project in this workspace") from None
    details = await tasker.get_project(workspace, project.id)
    if all(member.id != owner_user_id for member in details.members):
        raise ValidationFailed.field(
            "project_id", "the agent's owner is not a member of this project in Tasker"
        )
    return project.id


def _grant_note(event_type: str, grant: Grant, note: str | None = None) -> AuditNote:
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


async def _owned_grant(uow: UnitOfWork, call: OwnerCall, agent_id: str, grant_id: str) -> Grant:
    agent = await _owned_agent(uow, call, agent_id)
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
        grant = await _owned_grant(uow, call, self.agent_id, self.grant_id)
        version = grant.change(
            by_user_id=call.actor_user_id,
            now=call.now,
            scopes=self.args.list("scopes", max_items=64) if "scopes" in self.args.raw else None,
            mode=self.args.get("mode"),
        )
        await uow.grants.save(grant, version)
        return GrantView(grant)

    def audit(self, result: GrantView) -> Sequence[AuditNote]:
        return [_grant_note("grant.updated", result.grant)]


class RevokeGrant(OwnerAction[GrantView]):
    operation = CATALOGUE["revoke_grant"]

    def __init__(self, agent_id: str, grant_id: str) -> None:
        self.agent_id = agent_id
        self.grant_id = grant_id

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, "grant_id": self.grant_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantView:
        grant = await _owned_grant(uow, call, self.agent_id, self.grant_id)
        version = grant.revoke(by_user_id=call.actor_user_id, now=call.now)
        await uow.grants.save(grant, version)
        return GrantView(grant)

    def audit(self, result: GrantView) -> Sequence[AuditNote]:
        return [_grant_note("grant.revoked", result.grant)]


class ListGrantVersions(OwnerAction[GrantHistory]):
    operation = CATALOGUE["list_grant_versions"]

    def __init__(self, agent_id: str, grant_id: str) -> None:
        self.agent_id = agent_id
        self.grant_id = grant_id

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> GrantHistory:
        grant = await _owned_grant(uow, call, self.agent_id, self.grant_id)
        versions: Sequence[GrantVersion] = await uow.grants.versions(grant.id)
        return GrantHistory(tuple(versions))


# --- audit ------------------------------------------------------------------------------


class ListAuditEvents(OwnerAction[AuditPage]):
    """An agent's audit events, newest first; the cursor is the oldest `seq` seen."""

    operation = CATALOGUE["list_audit_events"]

    def __init__(self, agent_id: str, params: Mapping[str, Any]) -> None:
        self.agent_id = agent_id
        args = Arguments(
            params, ("limit", "cursor", "operation", "decision", "event_type", "since", "until")
        )
        cursor = args.get("cursor")
        if cursor is not None and (not str(cursor).isdigit() or len(str(cursor)) > 18):
            raise ValidationFailed.field("cursor", "not a cursor this route returned")
        decision = args.get("decision")
        if decision is not None and decision not in ("allow", "deny"):
            raise ValidationFailed.field("decision", "must be 'allow' or 'deny'")
        self.query = AuditQuery(
            agent_id=agent_id,
            limit=page_limit(args.get("limit")),
            before_seq=int(cursor) if cursor is not None else None,
            operation=args.text("operation", max_length=64, required=False),
            decision=AuditDecision(decision) if decision is not None else None,
            event_type=args.text("event_type", max_length=64, required=False),
            since=_timestamp(args.get("since"), "since"),
            until=_timestamp(args.get("until"), "until"),
        )

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> AuditPage:
        agent = await _owned_agent(uow, call, self.agent_id)
        limit = self.query.limit
        events = list(
            await uow.audit.query(attrs.evolve(self.query, agent_id=agent.id, limit=limit + 1))
        )
        more = len(events) > limit
        events = events[:limit]
        return AuditPage(tuple(events), str(events[-1].seq) if more else None)


def _timestamp(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(str(value))
    except ValueError:
        raise ValidationFailed.field(field, "must be an RFC 3339 timestamp") from None


# --- Launcher's lifecycle push ----------------------------------------------------------------


class OwnerLifecycle(OwnerAction[LifecycleApplied]):
    """`suspended` disables every agent of the owner; `deleted` revokes them and their
    tokens for good; `active` lets Launcher be asked afresh (agents stay as they are)."""

    operation = CATALOGUE["owner_lifecycle"]

    def __init__(self, deps: ManagementDeps, body: Mapping[str, Any] | None) -> None:
        self.deps = deps
        self.args = Arguments(body, ("status",))
        self.status = self.args.get("status")
        if self.status not in ("active", "suspended", "deleted"):
            raise ValidationFailed.field("status", "must be 'active', 'suspended' or 'deleted'")
        self.changed: list[Agent] = []

    def arguments(self) -> Mapping[str, Any]:
        return self.args.raw

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> LifecycleApplied:
        tokens = 0
        cursor: str | None = None
        while True:
            batch = await uow.agents.list_by_owner(
                call.owner_user_id, limit=LIFECYCLE_BATCH, after_id=cursor
            )
            for agent in batch:
                if self.status == "suspended" and agent.is_active:
                    agent.disable(call.now)
                    await uow.agents.save(agent)
                    self.changed.append(agent)
                elif self.status == "deleted" and agent.status is not AgentStatus.REVOKED:
                    tokens += await revoke_for_good(uow, agent, call.now)
                    self.changed.append(agent)
            if len(batch) < LIFECYCLE_BATCH:
                break
            cursor = batch[-1].id
        if self.status == "active":
            self.deps.entitlements.forget(call.owner_user_id)
        else:
            self.deps.entitlements.observe(call.owner_user_id, False, call.now)
        return LifecycleApplied(
            call.owner_user_id, str(self.status), tuple(a.id for a in self.changed), tokens
        )

    def audit(self, result: LifecycleApplied) -> Sequence[AuditNote]:
        event = f"owner.{result.status}"
        if not self.changed:
            return [AuditNote(event, None, {"agents_changed": 0})]
        return [AuditNote(event, agent.id, {"status": str(agent.status)}) for agent in self.changed]


# --- access requests (the human side) ----------------------------------------------------


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
                scopes=args.list("scopes", max_items=64) if args.given("scopes") else None,
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
                scopes=args.list("scopes", max_items=64),
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
