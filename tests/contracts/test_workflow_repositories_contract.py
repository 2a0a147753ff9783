"""Access requests, work sessions, project policies and workspace-wide grant reads: memory,
SQLite and PostgreSQL store and read them alike."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from nodedc_gateway.domain.access_requests import AccessRequest, RequestStatus
from nodedc_gateway.domain.cards import BlockName, CardRules
from nodedc_gateway.domain.grants import GrantMode
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.work_sessions import SessionOutcome, SessionStatus, WorkSession
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()
PROJECT = "01900000-0000-7000-8000-0000000000a1"


async def _agent(backend: PersistenceUnderTest, owner: str = "owner-1") -> str:
    agent = e.agent(owner)
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    return agent.id


def _request(
    agent_id: str, owner: str = "owner-1", scopes: tuple[str, ...] = ("issue:label",)
) -> AccessRequest:
    return AccessRequest.file(
        request_id=e.new_id(),
        agent_id=agent_id,
        owner_user_id=owner,
        workspace_slug="demo",
        project_ref="DEMO",
        scopes=scopes,
        justification="to label bugs",
        now=e.T0,
    )


async def test_access_requests_round_trip_with_their_decision(
    backend: PersistenceUnderTest,
) -> None:
    agent_id = await _agent(backend)
    first, second = _request(agent_id), _request(agent_id, scopes=("issue:assign", "issue:move"))
    async with backend.uow() as uow:
        await uow.access_requests.add(first)
        await uow.access_requests.add(second)
        with pytest.raises(ValueError, match="exists"):
            await uow.access_requests.add(first)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.access_requests.get(first.id) == first
        assert await uow.access_requests.count_pending(agent_id) == 2
        first.approve(by_user_id="admin", now=e.T0 + timedelta(hours=1), note="ok")
        await uow.access_requests.save(first)
        second.suggest(by_user_id="admin", now=e.T0, scopes=["issue:comment"], note="instead")
        await uow.access_requests.save(second)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.access_requests.get(first.id) == first
        assert await uow.access_requests.get(second.id) == second
        assert await uow.access_requests.count_pending(agent_id) == 0
        assert await uow.access_requests.get(e.new_id()) is None
    read = await _get(backend, first.id)
    assert read.decision is not None
    assert read.decision.at == e.T0 + timedelta(hours=1)


async def _get(backend: PersistenceUnderTest, request_id: str) -> AccessRequest:
    async with backend.uow() as uow:
        request = await uow.access_requests.get(request_id)
    assert request is not None
    return request


async def test_access_requests_list_newest_first_by_agent_and_by_owner(
    backend: PersistenceUnderTest,
) -> None:
    mine, theirs = await _agent(backend, "owner-1"), await _agent(backend, "owner-2")
    requests = [_request(mine) for _ in range(3)] + [_request(theirs, "owner-2")]
    async with backend.uow() as uow:
        for request in requests:
            await uow.access_requests.add(request)
        denied = requests[0]
        denied.deny(by_user_id="admin", now=e.T0, note="no")
        await uow.access_requests.save(denied)
        await uow.commit()
    newest_first = sorted((r.id for r in requests[:3]), reverse=True)
    async with backend.uow() as uow:
        assert [
            r.id for r in await uow.access_requests.list_by_agent(mine, limit=10)
        ] == newest_first
        owned = await uow.access_requests.list_by_owner("owner-1", status=None, limit=10)
        assert [r.id for r in owned] == newest_first
        pending = await uow.access_requests.list_by_owner(
            "owner-1", status=RequestStatus.PENDING, limit=10
        )
        assert sorted(r.id for r in pending) == sorted(r.id for r in requests[1:3])
        page = await uow.access_requests.list_by_owner(
            "owner-1", status=None, limit=1, before_id=newest_first[0]
        )
        assert [r.id for r in page] == [newest_first[1]]
        assert await uow.access_requests.list_by_owner("owner-3", status=None, limit=10) == []


def _session(agent_id: str, issue: str = "i-1", workspace: str = "demo") -> WorkSession:
    return WorkSession.start(
        session_id=e.new_id(),
        agent_id=agent_id,
        owner_user_id="owner-1",
        workspace_slug=workspace,
        project_id=PROJECT,
        issue_id=issue,
        issue_identifier="DEMO-1",
        summary="working",
        now=e.T0,
    )


async def test_work_sessions_round_trip_and_list_open_ones(backend: PersistenceUnderTest) -> None:
    agent_id = await _agent(backend)
    sessions = [_session(agent_id, f"i-{n}") for n in range(3)] + [
        _session(agent_id, workspace="other")
    ]
    async with backend.uow() as uow:
        for session in sessions:
            await uow.work_sessions.add(session)
        await uow.commit()
    async with backend.uow() as uow:
        sessions[0].report(e.T0 + timedelta(minutes=5))
        await uow.work_sessions.save(sessions[0])
        sessions[1].finish(SessionOutcome.BLOCKED, "stuck", e.T0 + timedelta(minutes=9))
        await uow.work_sessions.save(sessions[1])
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.work_sessions.get(sessions[0].id) == sessions[0]
        finished = await uow.work_sessions.get(sessions[1].id)
        opened = await uow.work_sessions.list_open("demo", limit=10)
        assert await uow.work_sessions.get(e.new_id()) is None
    assert finished == sessions[1]
    assert finished is not None
    assert finished.status is SessionStatus.FINISHED
    assert [s.id for s in opened] == sorted([sessions[0].id, sessions[2].id])


async def test_project_policies_are_stored_and_replaced(backend: PersistenceUnderTest) -> None:
    policy = ProjectPolicy(
        "demo",
        PROJECT,
        CardRules(
            required_blocks=frozenset({BlockName.GOAL, BlockName.ACCEPTANCE}), max_checkers=7
        ),
        timedelta(minutes=45),
    )
    async with backend.uow() as uow:
        assert await uow.project_policies.get("demo", PROJECT) is None
        await uow.project_policies.put(policy)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.project_policies.get("demo", PROJECT) == policy
        replaced = attrs.evolve(policy, stale_after=timedelta(hours=2))
        await uow.project_policies.put(replaced)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.project_policies.get("demo", PROJECT) == replaced
        assert await uow.project_policies.get("other", PROJECT) is None


async def test_grants_are_read_workspace_wide(backend: PersistenceUnderTest) -> None:
    first, second = await _agent(backend), await _agent(backend)
    grants = [
        e.grant(first),
        e.grant(second, mode=GrantMode.REPORTING),
        e.grant(first, workspace="other"),
    ]
    async with backend.uow() as uow:
        for grant, version in grants:
            await uow.grants.add(grant, version)
        revoked, _ = grants[1]
        await uow.grants.save(revoked, revoked.revoke(by_user_id="admin", now=e.T0))
        await uow.commit()
    async with backend.uow() as uow:
        found = await uow.grants.list_by_workspace("demo")
    assert [g.id for g in found] == [grants[0][0].id]
