"""UnitOfWork contract: one transaction over every repository, rolled back unless
committed, on memory, SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest

from nodedc_gateway.ports.unit_of_work import UnitOfWork
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()


class Boom(Exception):
    pass


async def _write_everywhere(uow: UnitOfWork, agent_id: str, key: str) -> None:
    agent = e.agent()
    agent.id = agent_id
    await uow.agents.add(agent)
    await uow.tokens.add(e.token(agent_id))
    grant, version = e.grant(agent_id)
    await uow.grants.add(grant, version)
    await uow.pairing_codes.add(e.pairing_code(agent_id))
    await uow.idempotency.claim(e.claim(key))
    await uow.audit.append([e.draft(agent_id)])


async def _traces(backend: PersistenceUnderTest, agent_id: str, key: str) -> list[object]:
    async with backend.uow() as uow:
        return [
            await uow.agents.get(agent_id),
            list(await uow.tokens.list_by_agent(agent_id)),
            list(await uow.grants.list_by_agent(agent_id)),
            await uow.idempotency.claim(e.claim(key, fingerprint="probe")),
            list(await uow.audit.chain(agent_id)),
        ]


async def test_what_is_not_committed_is_rolled_back(backend: PersistenceUnderTest) -> None:
    agent_id = e.new_id()
    async with backend.uow() as uow:
        await _write_everywhere(uow, agent_id, "k")
        assert await uow.agents.get(agent_id) is not None  # visible inside the transaction
    assert await _traces(backend, agent_id, "k") == [None, [], [], None, []]


async def test_an_error_rolls_back_and_propagates(backend: PersistenceUnderTest) -> None:
    agent_id = e.new_id()

    async def fail_midway() -> None:
        async with backend.uow() as uow:
            await _write_everywhere(uow, agent_id, "k")
            raise Boom

    with pytest.raises(Boom):
        await fail_midway()
    assert await _traces(backend, agent_id, "k") == [None, [], [], None, []]


async def test_committed_work_stays_and_later_work_needs_its_own_commit(
    backend: PersistenceUnderTest,
) -> None:
    kept, dropped = e.new_id(), e.new_id()
    async with backend.uow() as uow:
        await _write_everywhere(uow, kept, "kept")
        await uow.commit()
        await _write_everywhere(uow, dropped, "dropped")
    traces = await _traces(backend, kept, "kept")
    assert traces[0] is not None
    assert all(traces[1:])
    assert await _traces(backend, dropped, "dropped") == [None, [], [], None, []]


async def test_rollback_discards_and_the_unit_goes_on(backend: PersistenceUnderTest) -> None:
    discarded, kept = e.new_id(), e.new_id()
    async with backend.uow() as uow:
        await _write_everywhere(uow, discarded, "discarded")
        await uow.rollback()
        assert await uow.agents.get(discarded) is None
        await _write_everywhere(uow, kept, "kept")
        await uow.commit()
    assert await _traces(backend, discarded, "discarded") == [None, [], [], None, []]
    assert (await _traces(backend, kept, "kept"))[0] is not None
