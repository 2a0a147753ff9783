"""What any set of adapters can give for reading and admitting a caller: the token, agent
and grants read through the repositories, then the budget spent and the key claimed one
after the other. The SQL adapters do the same in fewer steps (one statement for the read,
one for the whole admission on PostgreSQL); this is what a `Pipeline` uses when given
none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from nodedc_gateway.domain.ratelimit import RatePolicy, agent_budget_key
from nodedc_gateway.ports.callers import Admission, CallerLookup, CallerRecord, ClaimRequest
from nodedc_gateway.ports.ratelimit import RateLimitStore
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from nodedc_gateway.ports.callers import CallerAdmission


class RepositoryCallerLookup:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def find(self, token_hashes: Sequence[str]) -> CallerRecord | None:
        async with self._uow() as uow:
            token = await uow.tokens.find_by_hash(token_hashes)
            agent = await uow.agents.get(token.agent_id) if token is not None else None
            if token is None or agent is None:
                return None
            grants = tuple(await uow.grants.list_by_agent(agent.id))
        return CallerRecord(token, agent, grants)


class SequentialAdmission:
    """The admission as three steps: find, spend, claim (each atomic on its own)."""

    def __init__(
        self, callers: CallerLookup, rate_limits: RateLimitStore, uow: UnitOfWorkFactory
    ) -> None:
        self._callers = callers
        self._rate_limits = rate_limits
        self._uow = uow

    async def admit(
        self,
        token_hashes: Sequence[str],
        now: datetime,
        budget: RatePolicy,
        claim: ClaimRequest | None,
        workspace: str | None = None,  # the gateway's stores hold no Tasker workspaces
    ) -> Admission | None:
        found = await self._callers.find(token_hashes)
        if found is None:
            return None
        if not found.token.is_usable(now):
            return Admission(found, None, None)
        decision = await self._rate_limits.check(
            agent_budget_key(found.agent.id, budget), budget, now
        )
        if not decision.allowed or claim is None:
            return Admission(found, decision, None)
        record = claim.record(found.agent.id, now)
        async with self._uow(autocommit=True) as uow:
            if await uow.idempotency.claim(record) is not None:
                return Admission(found, decision, None)  # the key exists: judged later
            await uow.commit()
        return Admission(found, decision, record)


if TYPE_CHECKING:  # mypy proves the implementations fit their ports

    def _fits_port(lookup: RepositoryCallerLookup) -> CallerLookup:
        return lookup

    def _admission_fits_port(admission: SequentialAdmission) -> CallerAdmission:
        return admission
