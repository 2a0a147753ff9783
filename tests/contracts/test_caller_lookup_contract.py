"""CallerLookup contract: memory, SQLite and PostgreSQL find the same caller, and always
what is committed now (nothing is remembered between calls)."""

from __future__ import annotations

from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.grants import Grant
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()
OTHER_PROJECT = "01900000-0000-7000-8000-0000000000bb"


async def _stored(
    backend: PersistenceUnderTest, agent: Agent, *tokens: AgentToken, grants: int = 0
) -> list[Grant]:
    made = []
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        for token in tokens:
            await uow.tokens.add(token)
        for n in range(grants):
            grant, version = e.grant(agent.id, project_id=e.PROJECT_ID if n else OTHER_PROJECT)
            await uow.grants.add(grant, version)
            made.append(grant)
        await uow.commit()
    return sorted(made, key=lambda g: g.id)


async def test_a_caller_is_its_token_agent_and_active_grants(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    grants = await _stored(backend, agent, token, grants=2)
    found = await backend.callers.find([e.fake_hash("unknown"), token.token_hash])
    assert found is not None
    assert found.token == token
    assert found.agent == agent
    assert found.grants == tuple(grants)


async def test_an_agent_without_grants_is_found_with_none(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent, token)
    found = await backend.callers.find([token.token_hash])
    assert found is not None
    assert (found.agent, found.grants) == (agent, ())


async def test_unknown_hashes_find_nobody(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    await _stored(backend, agent, e.token(agent.id))
    assert await backend.callers.find([e.fake_hash("unknown")]) is None
    assert await backend.callers.find([]) is None


async def test_the_first_candidate_hash_wins(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    current, previous = e.token(agent.id), e.token(agent.id)
    await _stored(backend, agent, current, previous)
    for hashes, expected in (
        ([current.token_hash, previous.token_hash], current),
        ([previous.token_hash, current.token_hash], previous),
    ):
        found = await backend.callers.find(hashes)
        assert found is not None
        assert found.token == expected


async def test_each_lookup_sees_the_latest_commit(backend: PersistenceUnderTest) -> None:
    """Revocations, disabled agents and revoked grants show on the very next lookup."""
    agent = e.agent()
    token = e.token(agent.id)
    kept, dropped = await _stored(backend, agent, token, grants=2)
    assert (found := await backend.callers.find([token.token_hash])) is not None
    assert found.grants == (kept, dropped)

    async with backend.uow() as uow:
        stored_token = await uow.tokens.get(token.id)
        stored_agent = await uow.agents.get(agent.id)
        stored_grant = await uow.grants.get(dropped.id)
        assert stored_token is not None
        assert stored_agent is not None
        assert stored_grant is not None
        stored_token.revoke()
        stored_agent.disable(e.T0)
        await uow.tokens.save(stored_token)
        await uow.agents.save(stored_agent)
        await uow.grants.save(stored_grant, stored_grant.revoke(by_user_id="owner-1", now=e.T0))
        await uow.commit()

    found = await backend.callers.find([token.token_hash])
    assert found is not None
    assert found.token.status is TokenStatus.REVOKED
    assert found.agent.status is AgentStatus.DISABLED
    assert [g.id for g in found.grants] == [kept.id]


async def test_what_a_unit_of_work_has_not_committed_is_not_seen(
    backend: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent)
    async with backend.uow() as uow:
        await uow.tokens.add(token)  # rolled back: never committed
    assert await backend.callers.find([token.token_hash]) is None
