"""GrantRepository contract: memory, SQLite and PostgreSQL behave the same, including
the optimistic check that keeps two concurrent edits from both winning."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, GrantChange, GrantMode, GrantStatus
from nodedc_gateway.domain.scopes import Scope
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()

LATER = e.T0 + timedelta(hours=1)


async def _agent(backend: PersistenceUnderTest) -> str:
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    return agent.id


async def test_an_added_grant_reads_back_with_its_first_version(
    backend: PersistenceUnderTest,
) -> None:
    agent_id = await _agent(backend)
    grant, v1 = e.grant(agent_id)
    workspace_grant, w1 = e.grant(agent_id, project_id=WORKSPACE_LEVEL, scopes=["project:read"])
    async with backend.uow() as uow:
        await uow.grants.add(grant, v1)
        await uow.grants.add(workspace_grant, w1)
        with pytest.raises(ValueError, match="exists"):
            await uow.grants.add(grant, v1)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.grants.get(grant.id) == grant
        assert await uow.grants.versions(grant.id) == [v1]
        read = await uow.grants.get(workspace_grant.id)
        assert await uow.grants.get(e.new_id()) is None
        assert await uow.grants.versions(e.new_id()) == []
    assert read is not None
    assert read.project_id == WORKSPACE_LEVEL
    assert read.is_workspace_level
    assert read.scopes == frozenset({Scope.PROJECT_READ})


async def test_every_change_appends_a_version(backend: PersistenceUnderTest) -> None:
    agent_id = await _agent(backend)
    grant, v1 = e.grant(agent_id)
    async with backend.uow() as uow:
        await uow.grants.add(grant, v1)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.grants.get(grant.id)
        assert stored is not None
        v2 = stored.change(by_user_id="owner-2", now=LATER, scopes=["issue:read"], mode="reporting")
        await uow.grants.save(stored, v2)
        v3 = stored.revoke(by_user_id="owner-2", now=LATER)
        await uow.grants.save(stored, v3)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.grants.get(grant.id)
        history = await uow.grants.versions(grant.id)
    assert read == stored
    assert read is not None
    assert (read.version, read.status, read.mode) == (3, GrantStatus.REVOKED, GrantMode.REPORTING)
    assert history == [v1, v2, v3]
    assert [(v.version, v.change) for v in history] == [
        (1, GrantChange.CREATED),
        (2, GrantChange.UPDATED),
        (3, GrantChange.REVOKED),
    ]
    assert history[1].scopes == frozenset({Scope.ISSUE_READ})


async def test_of_two_edits_from_the_same_version_only_the_first_is_saved(
    backend: PersistenceUnderTest,
) -> None:
    agent_id = await _agent(backend)
    grant, v1 = e.grant(agent_id)
    async with backend.uow() as uow:
        await uow.grants.add(grant, v1)
        await uow.commit()
    async with backend.uow() as uow:
        first = await uow.grants.get(grant.id)
        second = await uow.grants.get(grant.id)
    assert first is not None
    assert second is not None
    first_version = first.change(by_user_id="a", now=LATER, scopes=["issue:read"])
    second_version = second.change(by_user_id="b", now=LATER, scopes=["issue:comment"])
    async with backend.uow() as uow:
        await uow.grants.save(first, first_version)
        await uow.commit()
    async with backend.uow() as uow:
        with pytest.raises(ValueError, match="concurrently"):
            await uow.grants.save(second, second_version)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.grants.get(grant.id) == first
        assert await uow.grants.versions(grant.id) == [v1, first_version]


async def test_a_version_that_skips_or_mismatches_is_refused(backend: PersistenceUnderTest) -> None:
    agent_id = await _agent(backend)
    grant, v1 = e.grant(agent_id)
    async with backend.uow() as uow:
        await uow.grants.add(grant, v1)
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.grants.get(grant.id)
        assert stored is not None
        stored.change(by_user_id="a", now=LATER, scopes=["issue:read"])
        v3 = stored.change(by_user_id="a", now=LATER, scopes=["issue:comment"])
        with pytest.raises(ValueError, match="concurrently"):
            await uow.grants.save(stored, v3)  # version 3 over stored version 1
        unknown, u1 = e.grant(agent_id)
        with pytest.raises(ValueError, match="concurrently"):
            await uow.grants.save(unknown, u1)  # never added
        fresh = await uow.grants.get(grant.id)
        assert fresh is not None
        v2 = fresh.change(by_user_id="a", now=LATER, scopes=["issue:read"])
        fresh.version = 5  # the grant and its version disagree
        with pytest.raises(ValueError, match="concurrently"):
            await uow.grants.save(fresh, v2)
    async with backend.uow() as uow:
        assert await uow.grants.versions(grant.id) == [v1]


async def test_an_agents_grants_are_listed_active_first_and_revoked_on_request(
    backend: PersistenceUnderTest,
) -> None:
    agent_id, other_agent = await _agent(backend), await _agent(backend)
    active, a1 = e.grant(agent_id)
    revoked, r1 = e.grant(agent_id)
    others, o1 = e.grant(other_agent)
    async with backend.uow() as uow:
        for grant, version in ((revoked, r1), (active, a1), (others, o1)):
            await uow.grants.add(grant, version)
        stored = await uow.grants.get(revoked.id)
        assert stored is not None
        await uow.grants.save(stored, stored.revoke(by_user_id="a", now=LATER))
        await uow.commit()
    async with backend.uow() as uow:
        current = await uow.grants.list_by_agent(agent_id)
        everything = await uow.grants.list_by_agent(agent_id, include_revoked=True)
    assert [g.id for g in current] == [active.id]
    assert [g.id for g in everything] == sorted([active.id, revoked.id])
