"""Who is consenting to an OAuth client's request, behind one small interface.

`Consenter` names the agent a consent is for. The pairing code (which names the agent)
is the way built here; an owner signed into the owner console is the second way: an
implementation that checks the agent belongs to the signed-in owner (`owned_by`) and is
active. The authorize page asks the consenter twice: `identify` to show the agent and
its grants (nothing consumed), and `confirm` when the person approves (a pairing code is
then used up, inside the same transaction that mints the authorization code).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nodedc_gateway.domain.agents import Agent, owned_by
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.pairing import (
    PairingCode,
    PairingCodeInvalid,
    PairingStatus,
    normalize_pairing_code,
)
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.unit_of_work import UnitOfWork


class Consenter(Protocol):
    #: How consent was given, for the audit event ("pairing_code", "console_session").
    method: str

    @property
    def owner_user_id(self) -> str | None:
        """The person consenting, when known (a console session); None for a code."""
        ...

    async def identify(self, uow: UnitOfWork, now: datetime) -> Agent:
        """The agent this consent is for; refuses (a GatewayError) without using anything."""
        ...

    async def confirm(self, uow: UnitOfWork, now: datetime) -> Agent:
        """As `identify`, and use up whatever proves the consent (single use)."""
        ...


class PairingCodeConsenter:
    """Consent by a pairing code the owner created for the agent (CONTRACT §1)."""

    method = "pairing_code"

    def __init__(self, hasher: SecretHasher, code: object) -> None:
        self._hasher = hasher
        self._code = normalize_pairing_code(code)
        self.pairing_code_id: str | None = None

    @property
    def owner_user_id(self) -> str | None:
        return None

    async def _record(self, uow: UnitOfWork, now: datetime) -> tuple[PairingCode, Agent]:
        record = await uow.pairing_codes.find_by_hash(self._hasher.candidates(self._code))
        if record is None or record.status_at(now) is not PairingStatus.ACTIVE:
            raise PairingCodeInvalid()
        agent = await uow.agents.get(record.agent_id)
        if agent is None or not agent.is_active:
            raise PairingCodeInvalid()
        return record, agent

    async def identify(self, uow: UnitOfWork, now: datetime) -> Agent:
        return (await self._record(uow, now))[1]

    async def confirm(self, uow: UnitOfWork, now: datetime) -> Agent:
        record, agent = await self._record(uow, now)
        record.redeem(now)
        if not await uow.pairing_codes.consume(record.id, now):
            raise PairingCodeInvalid()  # a concurrent use won
        self.pairing_code_id = record.id
        return agent


class OwnerSessionConsenter:
    """Consent by an owner signed into the console, picking one of their agents. The
    console session itself (cookie, CSRF) is checked at the edge before this is built."""

    method = "console_session"

    def __init__(self, owner_user_id: str, agent_id: object) -> None:
        if not isinstance(agent_id, str) or not agent_id or len(agent_id) > 64:
            raise ValidationFailed.field("agent_id", "pick one of your agents")
        self._owner = owner_user_id
        self._agent_id = agent_id

    @property
    def owner_user_id(self) -> str | None:
        return self._owner

    async def identify(self, uow: UnitOfWork, now: datetime) -> Agent:
        agent = owned_by(await uow.agents.get(self._agent_id), self._owner)
        if not agent.is_active:
            raise ValidationFailed.field("agent_id", "this agent is disabled or revoked")
        return agent

    async def confirm(self, uow: UnitOfWork, now: datetime) -> Agent:
        return await self.identify(uow, now)
