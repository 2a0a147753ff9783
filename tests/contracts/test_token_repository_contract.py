"""TokenRepository contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()


async def _stored(backend: PersistenceUnderTest, *tokens: AgentToken, agent: Agent) -> None:
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        for token in tokens:
            await uow.tokens.add(token)
        await uow.commit()


async def test_a_token_is_found_by_any_of_its_candidate_hashes(
    backend: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    token, other = e.token(agent.id), e.token(agent.id)
    await _stored(backend, token, other, agent=agent)
    async with backend.uow() as uow:
        assert await uow.tokens.get(token.id) == token
        assert await uow.tokens.find_by_hash([e.fake_hash("unknown"), token.token_hash]) == token
        # several match: the first candidate (the current pepper's hash) wins
        assert await uow.tokens.find_by_hash([other.token_hash, token.token_hash]) == other
        assert await uow.tokens.find_by_hash([e.fake_hash("unknown")]) is None
        assert await uow.tokens.find_by_hash([]) is None
        assert await uow.tokens.get(e.new_id()) is None


async def test_a_second_token_with_the_same_hash_is_refused(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id, label="same")
    await _stored(backend, token, agent=agent)
    async with backend.uow() as uow:
        with pytest.raises(ValueError, match="exists"):
            await uow.tokens.add(e.token(agent.id, label="same"))
        await uow.commit()
    async with backend.uow() as uow:
        assert [t.id for t in await uow.tokens.list_by_agent(agent.id)] == [token.id]


async def test_recording_a_use_writes_last_used_at_alone(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, token, agent=agent)
    async with backend.uow() as uow:
        stale = await uow.tokens.get(token.id)  # what a request authenticated with
    async with backend.uow() as uow:  # meanwhile the owner revokes the token
        current = await uow.tokens.get(token.id)
        assert current is not None
        current.revoke()
        await uow.tokens.save(current)
        await uow.commit()
    used_at = e.T0 + timedelta(minutes=3)
    async with backend.uow() as uow:
        assert stale is not None
        await uow.tokens.record_use(stale.id, used_at)
        await uow.tokens.record_use(e.new_id(), used_at)  # an unknown token: nothing happens
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.tokens.get(token.id)
    assert read is not None
    assert read.last_used_at == used_at
    assert read.status is TokenStatus.REVOKED  # the use did not write the stale status back


async def test_tokens_are_listed_per_agent_in_id_order(backend: PersistenceUnderTest) -> None:
    agent, other_agent = e.agent(), e.agent()
    tokens = [e.token(agent.id) for _ in range(3)]
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.agents.add(other_agent)
        for token in reversed(tokens):
            await uow.tokens.add(token)
        await uow.tokens.add(e.token(other_agent.id))
        await uow.commit()
    async with backend.uow() as uow:
        listed = await uow.tokens.list_by_agent(agent.id)
    assert [t.id for t in listed] == sorted(t.id for t in tokens)


async def test_revoking_all_changes_only_the_agents_active_tokens(
    backend: PersistenceUnderTest,
) -> None:
    agent, other_agent = e.agent(), e.agent()
    active, revoked = e.token(agent.id), e.token(agent.id)
    revoked.revoke()
    expired = e.token(agent.id, now=e.T0 - timedelta(days=100), days=1)  # still "active"
    others = e.token(other_agent.id)
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.agents.add(other_agent)
        for token in (active, revoked, expired, others):
            await uow.tokens.add(token)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tokens.revoke_all(agent.id) == 2
        await uow.commit()
    async with backend.uow() as uow:
        statuses = {t.id: t.status for t in await uow.tokens.list_by_agent(agent.id)}
        untouched = await uow.tokens.get(others.id)
        assert await uow.tokens.revoke_all(agent.id) == 0
    assert set(statuses.values()) == {TokenStatus.REVOKED}
    assert untouched is not None
    assert untouched.status is TokenStatus.ACTIVE


async def test_a_saved_token_keeps_its_changes(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, token, agent=agent)
    async with backend.uow() as uow:
        read = await uow.tokens.get(token.id)
        assert read is not None
        read.revoke()
        read.last_used_at = e.T0 + timedelta(seconds=1)
        await uow.tokens.save(read)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.tokens.get(token.id) == read
