"""The closing record in one step (PostgreSQL: one statement; SQLite: one write
transaction on the driver): everything or nothing, on the head it was linked to, and the
chain whole whoever else appends meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import SqlUnitOfWorkFactory, create_engine
from nodedc_gateway.adapters.persistence.sql.call_record import SqlCallRecorder
from nodedc_gateway.domain.audit import AuditDraft, ChainHead, verify_chain
from nodedc_gateway.domain.idempotency import IdempotencyRecord, RecordStatus, StoredResponse
from nodedc_gateway.domain.tokens import AgentToken
from tests.contracts.persistence_backends import backend_params
from tests.support import entities as e
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await migrated_postgres_url())
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=backend_params(("sqlite", "postgres")))
async def either(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = await migrated_sqlite_url(tmp_path)
    else:
        url = await migrated_postgres_url()
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _agent(engine: AsyncEngine) -> tuple[str, AgentToken, IdempotencyRecord]:
    """An agent whose chain has one event, a token, and a key claimed in flight."""
    agent = e.agent()
    token = e.token(agent.id)
    claimed = e.claim(scope=f"agent:{agent.id}")
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.agents.add(agent)
        await uow.tokens.add(token)
        await uow.audit.append([e.draft(agent.id, event_type="agent_created")])
        assert await uow.idempotency.claim(claimed) is None
        await uow.commit()
    return agent.id, token, claimed


async def _state(
    engine: AsyncEngine, agent_id: str, token: AgentToken, claimed: IdempotencyRecord
) -> tuple[list[AuditDraft], IdempotencyRecord | None, AgentToken | None, bool]:
    async with SqlUnitOfWorkFactory(engine)() as uow:
        events = list(await uow.audit.chain(agent_id))
        head = await uow.audit.head(agent_id)
        stored = await uow.idempotency.claim(claimed)
        stored_token = await uow.tokens.get(token.id)
        await uow.rollback()
    return (
        [ev.draft for ev in events],
        stored,
        stored_token,
        verify_chain(agent_id, events, head).ok,
    )


async def _nothing_more_written(
    engine: AsyncEngine,
    agent_id: str,
    token: AgentToken,
    claimed: IdempotencyRecord,
    *,
    events: int,
) -> None:
    """The chain whole with `events` events, the key still in flight, the token unused."""
    drafts, stored, stored_token, whole = await _state(engine, agent_id, token, claimed)
    assert len(drafts) == events
    assert whole
    assert stored == claimed  # still in flight
    assert stored_token is not None
    assert stored_token.last_used_at is None


async def test_a_record_writes_the_event_the_response_and_the_use_at_once(
    either: AsyncEngine,
) -> None:
    engine = either
    agent_id, token, claimed = await _agent(engine)
    draft = e.draft(agent_id)
    completed = claimed.completed(StoredResponse(True, {"issue": {"id": "i-1"}}))
    used_at = e.T0 + timedelta(minutes=5)

    assert await SqlCallRecorder(engine).record(draft, completed, (token.id, used_at))

    drafts, stored, stored_token, whole = await _state(engine, agent_id, token, claimed)
    assert drafts[-1] == draft
    assert whole
    assert stored == completed
    assert stored is not None
    assert stored.status is RecordStatus.COMPLETED
    assert stored_token is not None
    assert stored_token.last_used_at == used_at


async def test_a_record_links_after_whatever_else_appended_meanwhile(
    either: AsyncEngine,
) -> None:
    """PostgreSQL: the head it remembers is stale (an owner action appended since): the
    swap misses, the head is read again, and the event lands after the other one.
    SQLite: the head is read in the record's own transaction."""
    engine = either
    agent_id, token, claimed = await _agent(engine)
    recorder = SqlCallRecorder(engine)
    first, second = e.draft(agent_id), e.draft(agent_id)
    assert await recorder.record(first, None, None)
    other = e.draft(agent_id, event_type="token_revoked")
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.audit.append([other])
        await uow.commit()

    assert await recorder.record(second, None, None)

    drafts, stored, _, whole = await _state(engine, agent_id, token, claimed)
    assert drafts[-3:] == [first, other, second]
    assert whole
    assert stored == claimed  # untouched: no response was given to store


@pytest.mark.postgres
async def test_nothing_is_written_when_the_head_keeps_moving(engine: AsyncEngine) -> None:
    agent_id, token, claimed = await _agent(engine)

    class Stale(SqlCallRecorder):
        async def _read_head(self, chain: str) -> ChainHead | None:
            return ChainHead(chain, 1, "0" * 64)  # never the head there is

    completed = claimed.completed(StoredResponse(True, {}))
    recorded = await Stale(engine).record(e.draft(agent_id), completed, (token.id, e.T0))

    assert not recorded
    await _nothing_more_written(engine, agent_id, token, claimed, events=1)


@pytest.mark.postgres
async def test_a_chain_without_a_head_is_left_to_the_unit_of_work(engine: AsyncEngine) -> None:
    agent = e.agent()
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    assert not await SqlCallRecorder(engine).record(e.draft(agent.id), None, None)
    async with SqlUnitOfWorkFactory(engine)() as uow:
        assert await uow.audit.head(agent.id) is None


@pytest.mark.postgres
async def test_two_replicas_appending_at_once_keep_one_whole_chain(engine: AsyncEngine) -> None:
    """Two recorders (two processes' memories of the head) and the locking path race on
    one chain; every event lands once, the chain verifies."""
    agent_id, token, claimed = await _agent(engine)
    replicas = [SqlCallRecorder(engine), SqlCallRecorder(engine)]
    uow = SqlUnitOfWorkFactory(engine)
    drafts = [e.draft(agent_id) for _ in range(30)]

    async def append(n: int, draft: AuditDraft) -> None:
        if n % 3 != 2 and await replicas[n % 3].record(draft, None, None):
            return
        async with uow() as work:  # what the pipeline does when the recorder declines
            await work.audit.append([draft])
            await work.commit()

    await asyncio.gather(*(append(n, d) for n, d in enumerate(drafts)))

    written, _, _, whole = await _state(engine, agent_id, token, claimed)
    assert whole
    assert sorted(d.id for d in written[1:]) == sorted(d.id for d in drafts)


async def test_sqlite_a_new_chain_gets_its_head_with_its_first_event(tmp_path: Path) -> None:
    engine = create_engine(await migrated_sqlite_url(tmp_path))
    try:
        agent = e.agent()
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await uow.agents.add(agent)
            await uow.commit()
        drafts = [e.draft(agent.id), e.draft(agent.id)]
        for draft in drafts:
            assert await SqlCallRecorder(engine).record(draft, None, None)
        async with SqlUnitOfWorkFactory(engine)() as uow:
            events = list(await uow.audit.chain(agent.id))
            head = await uow.audit.head(agent.id)
            await uow.rollback()
        assert [ev.draft for ev in events] == drafts
        assert head is not None
        assert head.seq == 2
        assert verify_chain(agent.id, events, head).ok
    finally:
        await engine.dispose()


async def test_sqlite_a_record_that_fails_writes_nothing(tmp_path: Path) -> None:
    """The event's insert fails (an event of that id exists) after the response and the
    token's use were written in the same transaction: all of it is rolled back."""
    engine = create_engine(await migrated_sqlite_url(tmp_path))
    try:
        agent_id, token, claimed = await _agent(engine)
        draft = e.draft(agent_id)
        recorder = SqlCallRecorder(engine)
        assert await recorder.record(draft, None, None)
        completed = claimed.completed(StoredResponse(True, {}))

        with pytest.raises(sqlite3.IntegrityError):
            await recorder.record(draft, completed, (token.id, e.T0))

        await _nothing_more_written(engine, agent_id, token, claimed, events=2)
        assert await recorder.record(e.draft(agent_id), None, None)  # and it goes on
    finally:
        await engine.dispose()


@asynccontextmanager
async def _impatient(engine: AsyncEngine, *, lock_timeout_ms: int) -> AsyncIterator[AsyncEngine]:
    """Another engine on `engine`'s database whose statements give up waiting on a lock
    after `lock_timeout_ms`: a wait becomes an error the test can see."""
    impatient = create_engine(
        engine.url.render_as_string(hide_password=False),
        connect_args={"options": f"-c lock_timeout={lock_timeout_ms}"},
    )
    try:
        yield impatient
    finally:
        await impatient.dispose()


@pytest.mark.postgres
async def test_a_record_never_waits_on_the_token_row_while_it_holds_the_head(
    engine: AsyncEngine,
) -> None:
    """A refusal's unit of work notes the token's use (locking its row), then appends to
    the chain (waiting on the head). Were the record to lock the head and then wait on
    that row, the two would deadlock and PostgreSQL would abort one: the call that made
    the card answering an error. The record skips a token row someone else is writing
    (that writer notes the use itself) and never waits on it: here a lock timeout on the
    recorder's connections turns a wait into a failure."""
    agent_id, token, claimed = await _agent(engine)
    refusal = e.draft(agent_id, event_type="mcp_request")
    recorded = e.draft(agent_id)
    completed = claimed.completed(StoredResponse(True, {"issue": {"id": "i-1"}}))
    uows = SqlUnitOfWorkFactory(engine)
    async with _impatient(engine, lock_timeout_ms=5000) as impatient, uows() as uow:
        await uow.tokens.record_use(token.id, e.T0 + timedelta(minutes=1))  # the row: held

        used = (token.id, e.T0 + timedelta(minutes=2))
        assert await SqlCallRecorder(impatient).record(recorded, completed, used)

        await uow.audit.append([refusal])  # the head: free again
        await uow.commit()

    drafts, stored, stored_token, whole = await _state(engine, agent_id, token, claimed)
    assert drafts[-2:] == [recorded, refusal]
    assert whole
    assert stored == completed
    assert stored_token is not None
    assert stored_token.last_used_at == e.T0 + timedelta(minutes=1)  # the holder's note


@pytest.mark.postgres
async def test_a_record_postgresql_aborts_is_left_to_the_unit_of_work(engine: AsyncEngine) -> None:
    """A statement PostgreSQL aborts on its own (here a lock timeout, as a deadlock would)
    wrote nothing: the record declines, so the locking path records the call rather than
    the call failing after its card was made. Any other failure is raised."""
    agent_id, token, claimed = await _agent(engine)
    completed = claimed.completed(StoredResponse(True, {}))
    held = text("SELECT seq FROM audit_chain_heads WHERE chain_id = :chain FOR UPDATE")
    async with _impatient(engine, lock_timeout_ms=50) as impatient, engine.connect() as holder:
        assert (await holder.execute(held, {"chain": agent_id})).first()  # the head: held
        recorded = await SqlCallRecorder(impatient).record(
            e.draft(agent_id), completed, (token.id, e.T0)
        )
        await holder.rollback()

    assert not recorded
    await _nothing_more_written(engine, agent_id, token, claimed, events=1)


def test_only_a_record_written_on_the_event_loop_is_concurrent(either: AsyncEngine) -> None:
    """On PostgreSQL the statement is the loop's own I/O (psycopg's async connection), so
    the pipeline may write it while the answer is made; on SQLite it is a write
    transaction on a thread of its own, which would contend with that work."""
    recorder = SqlCallRecorder(either)
    assert recorder.concurrent is (either.dialect.name == "postgresql")
