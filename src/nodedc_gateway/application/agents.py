"""Agents and their tokens, as an owner manages them (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.ownership import (
    ManagementDeps,
    owned_agent,
    page_limit,
)
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    Page,
    TokenIssued,
    TokenView,
)
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.operations import CATALOGUE
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
from nodedc_gateway.ports.unit_of_work import UnitOfWork


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


def token_note(event_type: str, token: AgentToken) -> AuditNote:
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
        return await owned_agent(uow, call, self.agent_id)


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
        agent = await owned_agent(uow, call, self.agent_id)
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
        agent = await owned_agent(uow, call, self.agent_id)
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
        agent = await owned_agent(uow, call, self.agent_id)
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
        return [token_note("token.issued", result.issued.token)]

    def storable(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        return without_secret(body, "token")


class ListTokens(OwnerAction[Page]):
    operation = CATALOGUE["list_tokens"]

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> Page:
        agent = await owned_agent(uow, call, self.agent_id)
        return Page([TokenView(t) for t in await uow.tokens.list_by_agent(agent.id)])


class RevokeToken(OwnerAction[TokenView]):
    operation = CATALOGUE["revoke_token"]

    def __init__(self, agent_id: str, token_id: str) -> None:
        self.agent_id = agent_id
        self.token_id = token_id

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id, "token_id": self.token_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> TokenView:
        agent = await owned_agent(uow, call, self.agent_id)
        token = await uow.tokens.get(self.token_id)
        if token is None or token.agent_id != agent.id:
            raise NotFound("No such token for this agent.")
        token.revoke()
        await uow.tokens.save(token)
        return TokenView(token)

    def audit(self, result: TokenView) -> Sequence[AuditNote]:
        return [token_note("token.revoked", result.token)]
