"""PairingCodeRepository contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.pairing import PairingCode, PairingStatus
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()

SOON = e.T0 + timedelta(minutes=1)


async def _stored(backend: PersistenceUnderTest, agent: Agent, *codes: PairingCode) -> None:
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        for code in codes:
            await uow.pairing_codes.add(code)
        await uow.commit()


async def test_a_code_is_found_by_its_hash_and_is_unique(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    agent_id = agent.id
    code = e.pairing_code(agent_id)
    await _stored(backend, agent, code)
    async with backend.uow() as uow:
        assert await uow.pairing_codes.find_by_hash([e.fake_hash("x"), code.code_hash]) == code
        assert await uow.pairing_codes.find_by_hash([e.fake_hash("x")]) is None
        assert await uow.pairing_codes.find_by_hash([]) is None
        twin = e.pairing_code(agent_id)
        twin.code_hash = code.code_hash
        with pytest.raises(ValueError, match="exists"):
            await uow.pairing_codes.add(twin)


async def test_a_code_is_consumed_once(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    agent_id = agent.id
    code = e.pairing_code(agent_id)
    await _stored(backend, agent, code)
    async with backend.uow() as uow:
        assert await uow.pairing_codes.consume(code.id, SOON)
        assert not await uow.pairing_codes.consume(code.id, SOON)
        await uow.commit()
    async with backend.uow() as uow:
        assert not await uow.pairing_codes.consume(code.id, SOON)
        assert not await uow.pairing_codes.consume(e.new_id(), SOON)
        read = await uow.pairing_codes.find_by_hash([code.code_hash])
    assert read is not None
    assert (read.status, read.used_at) == (PairingStatus.USED, SOON)


async def test_expired_or_revoked_codes_are_not_consumed(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    agent_id = agent.id
    expiring, revoked = e.pairing_code(agent_id), e.pairing_code(agent_id)
    revoked.revoke()
    await _stored(backend, agent, expiring, revoked)
    async with backend.uow() as uow:
        assert not await uow.pairing_codes.consume(expiring.id, expiring.expires_at)
        assert not await uow.pairing_codes.consume(revoked.id, SOON)
        read = await uow.pairing_codes.find_by_hash([expiring.code_hash])
    assert read is not None
    assert read.status is PairingStatus.ACTIVE


async def test_revoking_all_changes_only_active_codes(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    agent_id = agent.id
    active, used = e.pairing_code(agent_id), e.pairing_code(agent_id)
    used.redeem(SOON)
    await _stored(backend, agent, active, used)
    async with backend.uow() as uow:
        assert await uow.pairing_codes.revoke_all(agent_id) == 1
        assert await uow.pairing_codes.revoke_all(agent_id) == 0
        await uow.commit()
    async with backend.uow() as uow:
        read_active = await uow.pairing_codes.find_by_hash([active.code_hash])
        read_used = await uow.pairing_codes.find_by_hash([used.code_hash])
    assert read_active is not None
    assert read_used is not None
    assert (read_active.status, read_used.status) == (PairingStatus.REVOKED, PairingStatus.USED)


async def test_purging_deletes_expired_and_spent_codes_only(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    agent_id = agent.id
    live = e.pairing_code(agent_id, ttl=timedelta(hours=1))
    expired = e.pairing_code(agent_id, ttl=timedelta(minutes=5))
    used, revoked = e.pairing_code(agent_id), e.pairing_code(agent_id)
    used.redeem(SOON)
    revoked.revoke()
    await _stored(backend, agent, live, expired, used, revoked)
    now = e.T0 + timedelta(minutes=5)
    async with backend.uow() as uow:
        assert await uow.pairing_codes.purge(now) == 3
        await uow.commit()
    async with backend.uow() as uow:
        left = [
            await uow.pairing_codes.find_by_hash([c.code_hash])
            for c in (live, expired, used, revoked)
        ]
        assert await uow.pairing_codes.purge(now) == 0
    assert left == [live, None, None, None]


async def test_a_saved_code_keeps_its_changes(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    agent_id = agent.id
    code = e.pairing_code(agent_id)
    await _stored(backend, agent, code)
    async with backend.uow() as uow:
        read = await uow.pairing_codes.find_by_hash([code.code_hash])
        assert read is not None
        read.redeem(SOON)
        await uow.pairing_codes.save(read)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.pairing_codes.find_by_hash([code.code_hash]) == read
