"""Pairing codes: an owner creates one, the agent's machine trades it for a token once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from nodedc_gateway.application.agents import issue_token, token_note, without_secret
from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.ownership import (
    ManagementDeps,
    owned_agent,
)
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    PairingCodeIssued,
    Redeemed,
)
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.pairing import (
    PAIRING_ALPHABET,
    PAIRING_CODE_LENGTH,
    PairingCode,
    PairingCodeInvalid,
    display_pairing_code,
    normalize_pairing_code,
)
from nodedc_gateway.domain.tokens import (
    DEFAULT_EXPIRES_IN_DAYS,
    token_name,
)
from nodedc_gateway.ports.unit_of_work import UnitOfWork


class CreatePairingCode(OwnerAction[PairingCodeIssued]):
    operation = CATALOGUE["create_pairing_code"]

    def __init__(self, deps: ManagementDeps, agent_id: str) -> None:
        self.deps = deps
        self.agent_id = agent_id

    def arguments(self) -> Mapping[str, Any]:
        return {"agent_id": self.agent_id}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> PairingCodeIssued:
        agent = await owned_agent(uow, call, self.agent_id)
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
            attrs.evolve(token_note("token.issued", token), owner_user_id=owner),
        ]
