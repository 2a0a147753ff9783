"""AuditLog contract: memory, SQLite and PostgreSQL link, store and read events alike,
and every chain verifies."""

from __future__ import annotations

from datetime import timedelta

from nodedc_gateway.domain.audit import (
    GENESIS_HASH,
    SYSTEM_CHAIN,
    AuditDecision,
    ChainHead,
    verify_chain,
)
from nodedc_gateway.ports.audit import AuditQuery
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()


async def test_appended_events_link_into_a_verifiable_chain(backend: PersistenceUnderTest) -> None:
    agent_id = e.new_id()
    async with backend.uow() as uow:
        first = await uow.audit.append([e.draft(agent_id)])
        await uow.commit()
    async with backend.uow() as uow:
        more = await uow.audit.append(
            [e.draft(agent_id, now=e.T0 + timedelta(seconds=n)) for n in (1, 2)]
        )
        await uow.commit()
    async with backend.uow() as uow:
        chain = await uow.audit.chain(agent_id)
        head = await uow.audit.head(agent_id)
    assert [event.seq for event in chain] == [1, 2, 3]
    assert chain == [*first, *more]  # what was stored reads back exactly
    assert chain[0].prev_hash == GENESIS_HASH
    assert head == ChainHead(agent_id, 3, chain[-1].hash)
    assert verify_chain(agent_id, chain, head).ok


async def test_one_append_can_feed_several_chains(backend: PersistenceUnderTest) -> None:
    agent_a, agent_b = sorted([e.new_id(), e.new_id()], reverse=True)
    drafts = [e.draft(agent_a), e.draft(None), e.draft(agent_b), e.draft(agent_a)]
    async with backend.uow() as uow:
        events = await uow.audit.append(drafts)
        await uow.commit()
    assert [(ev.chain_id, ev.seq) for ev in events] == [
        (agent_a, 1),
        (SYSTEM_CHAIN, 1),
        (agent_b, 1),
        (agent_a, 2),
    ]
    async with backend.uow() as uow:
        assert await uow.audit.chain_ids() == sorted([agent_a, agent_b, SYSTEM_CHAIN])
        for chain_id in (agent_a, agent_b, SYSTEM_CHAIN):
            chain = await uow.audit.chain(chain_id)
            assert verify_chain(chain_id, chain, await uow.audit.head(chain_id)).ok
        assert await uow.audit.head(e.new_id()) is None
        assert await uow.audit.chain(e.new_id()) == []
        assert await uow.audit.append([]) == []


async def test_a_rolled_back_append_leaves_no_trace(backend: PersistenceUnderTest) -> None:
    agent_id = e.new_id()
    async with backend.uow() as uow:
        await uow.audit.append([e.draft(agent_id)])
    async with backend.uow() as uow:
        assert await uow.audit.head(agent_id) is None
        assert await uow.audit.chain_ids() == []
        events = await uow.audit.append([e.draft(agent_id)])
        await uow.commit()
    assert events[0].seq == 1


async def test_queries_read_newest_first_with_filters_and_a_cursor(
    backend: PersistenceUnderTest,
) -> None:
    agent_id, other = e.new_id(), e.new_id()
    drafts = [
        e.draft(
            agent_id,
            now=e.T0 + timedelta(minutes=n),
            operation="add_comment" if n % 2 else "create_issue",
            decision=AuditDecision.DENY if n % 3 == 0 else AuditDecision.ALLOW,
            event_type="grant.created" if n == 4 else "tool_call",
        )
        for n in range(1, 8)
    ]
    async with backend.uow() as uow:
        await uow.audit.append(drafts)
        await uow.audit.append([e.draft(other)])
        await uow.commit()

    async def seqs(**filters: object) -> list[int]:
        async with backend.uow() as uow:
            found = await uow.audit.query(AuditQuery(agent_id=agent_id, **filters))  # type: ignore[arg-type]
        assert all(event.agent_id == agent_id for event in found)
        return [event.seq for event in found]

    assert await seqs() == [7, 6, 5, 4, 3, 2, 1]
    assert await seqs(limit=3) == [7, 6, 5]
    assert await seqs(limit=3, before_seq=5) == [4, 3, 2]
    assert await seqs(operation="add_comment") == [7, 5, 3, 1]
    assert await seqs(decision=AuditDecision.DENY) == [6, 3]
    assert await seqs(event_type="grant.created") == [4]
    assert await seqs(since=e.T0 + timedelta(minutes=3)) == [7, 6, 5, 4, 3]
    assert await seqs(until=e.T0 + timedelta(minutes=3)) == [2, 1]
    assert await seqs(operation="create_issue", decision=AuditDecision.DENY, limit=1) == [6]


async def test_a_chain_reads_in_batches(backend: PersistenceUnderTest) -> None:
    agent_id = e.new_id()
    async with backend.uow() as uow:
        await uow.audit.append([e.draft(agent_id) for _ in range(5)])
        await uow.commit()
    async with backend.uow() as uow:
        assert [ev.seq for ev in await uow.audit.chain(agent_id, limit=2)] == [1, 2]
        assert [ev.seq for ev in await uow.audit.chain(agent_id, after_seq=2, limit=2)] == [3, 4]
        assert [ev.seq for ev in await uow.audit.chain(agent_id, after_seq=4)] == [5]
