"""AgentRepository contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone

import pytest

from nodedc_gateway.domain.agents import AgentStatus
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()


async def test_an_added_agent_reads_back_whole(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.agents.get(agent.id) == agent
        assert await uow.agents.get(e.new_id()) is None


async def test_timestamps_come_back_as_the_same_instant(
    backend: PersistenceUnderTest,
) -> None:
    moscow = timezone(timedelta(hours=3))
    agent = e.agent(now=e.T0.astimezone(moscow))
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.agents.get(agent.id)
    assert read is not None
    assert read.created_at == e.T0
    assert read.created_at.astimezone(UTC).microsecond == 123_456
    if backend.engine is not None:  # a database hands back UTC, whatever went in
        assert read.created_at.utcoffset() == timedelta(0)


async def test_adding_an_existing_id_is_refused(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        with pytest.raises(ValueError, match="exists"):
            await uow.agents.add(agent)
        await uow.commit()  # the refusal leaves the transaction usable
    async with backend.uow() as uow:
        assert await uow.agents.get(agent.id) == agent


async def test_saved_changes_persist(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    later = e.T0 + timedelta(minutes=5)
    async with backend.uow() as uow:
        stored = await uow.agents.get(agent.id)
        assert stored is not None
        stored.rename("Renamed", later)
        stored.disable(later)
        await uow.agents.save(stored)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.agents.get(agent.id)
    assert read is not None
    assert (read.display_name, read.status, read.updated_at) == (
        "Renamed",
        AgentStatus.DISABLED,
        later,
    )
    assert read.created_at == e.T0


async def test_changing_a_read_agent_without_saving_changes_nothing(
    backend: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.agents.get(agent.id)
        assert read is not None
        read.revoke(e.T0)
        assert (await uow.agents.get(agent.id)) == agent
    agent.rename("Mutated after add", e.T0)
    async with backend.uow() as uow:
        stored = await uow.agents.get(agent.id)
        assert stored is not None
        assert stored.display_name == "Agent"


async def test_an_owner_lists_only_their_agents_in_pages(backend: PersistenceUnderTest) -> None:
    mine = [e.agent("owner-1", name=f"A{n}") for n in range(5)]
    theirs = e.agent("owner-2")
    async with backend.uow() as uow:
        for agent in [*reversed(mine), theirs]:
            await uow.agents.add(agent)
        await uow.commit()
    async with backend.uow() as uow:
        first = await uow.agents.list_by_owner("owner-1", limit=3)
        rest = await uow.agents.list_by_owner("owner-1", limit=3, after_id=first[-1].id)
        nobody = await uow.agents.list_by_owner("owner-3", limit=3)
    assert [a.id for a in first] == sorted(a.id for a in mine)[:3]
    assert [a.id for a in rest] == sorted(a.id for a in mine)[3:]
    assert nobody == []
