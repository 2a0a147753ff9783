"""The caller lookup any unit of work can give: token, agent and grants read through the
repositories in one (read-only) unit of work. The SQL adapter does the same in a single
statement outside any transaction; this is what a `Pipeline` uses when given none."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from nodedc_gateway.ports.callers import CallerRecord
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from nodedc_gateway.ports.callers import CallerLookup


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


if TYPE_CHECKING:  # mypy proves the implementation fits the port

    def _fits_port(lookup: RepositoryCallerLookup) -> CallerLookup:
        return lookup
