"""Concurrency done by the database (issue 3's acceptance), on real connections.

Every test runs its workers on separate connections (and, where it matters, separate
engines, as separate gateway replicas would), on PostgreSQL and on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import SqlUnitOfWorkFactory, create_engine
from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
from nodedc_gateway.application.pipeline import Outcome, RateLimits
from nodedc_gateway.domain.audit import verify_chain
from nodedc_gateway.domain.errors import IdempotencyInFlight
from nodedc_gateway.domain.idempotency import RecordStatus, agent_scope
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.tasker import Actor, Issue, IssueDraft
from nodedc_gateway.ports.tasker import TaskerPort
from tests.contracts.persistence_backends import (
    BACKENDS,
    SQL_BACKENDS,
    PersistenceUnderTest,
    backend_params,
)
from tests.support import entities as e
from tests.support.gateway import build_sql_gateway


@pytest.fixture(params=backend_params(SQL_BACKENDS))
async def database(request: pytest.FixtureRequest) -> AsyncIterator[PersistenceUnderTest]:
    async with BACKENDS[request.param]() as backend:
        yield backend


@pytest.fixture(params=backend_params(("postgres",)))
async def postgres(request: pytest.FixtureRequest) -> AsyncIterator[PersistenceUnderTest]:
    async with BACKENDS[request.param]() as backend:
        yield backend


async def _engines(url: str | None, count: int, **options: Any) -> list[AsyncEngine]:
    assert url is not None
    return [create_engine(url, **options) for _ in range(count)]


async def _dispose(engines: Sequence[AsyncEngine]) -> None:
    for engine in engines:
        await engine.dispose()


class CountingTasker:
    """The seeded Tasker, counting how often the operation under test really ran."""

    def __init__(self) -> None:
        self.inner: TaskerPort | None = None
        self.creates = 0

    async def create_issue(
        self,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Issue:
        assert self.inner is not None
        self.creates += 1
        return await self.inner.create_issue(
            workspace_slug, project_id, draft, actor=actor, external_id=external_id
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_fifty_concurrent_executions_with_one_key_run_the_operation_once(
    database: PersistenceUnderTest,
) -> None:
    (engine,) = await _engines(database.url, 1, pool_size=50, max_overflow=0)
    try:
        tasker = CountingTasker()
        roomy = RatePolicy("writes", limit=100_000, period_s=60, burst=1_000)
        gateway = await build_sql_gateway(engine, limits=RateLimits(writes=roomy), tasker=tasker)  # type: ignore[arg-type]
        tasker.inner = gateway.tasker
        agent_id, token = await gateway.agent_with_token()
        args = {
            "workspace_slug": "demo",
            "project_id": "DEMO",
            "name": "Exactly once",
            "idempotency_key": "one-key",
        }
        start = asyncio.Barrier(50)

        async def execute() -> Outcome | BaseException:
            await start.wait()
            try:
                return await gateway.call(token, "create_issue", args)
            except IdempotencyInFlight as refused:
                return refused

        results = await asyncio.gather(*(execute() for _ in range(50)))
        async with gateway.uow() as uow:
            record = await uow.idempotency.claim(
                e.claim("one-key", scope=agent_scope(agent_id), fingerprint="probe")
            )
            chain = list(await uow.audit.chain(agent_id))
            head = await uow.audit.head(agent_id)
    finally:
        await engine.dispose()

    assert tasker.creates == 1
    outcomes = [r for r in results if isinstance(r, Outcome)]
    refusals = [r for r in results if isinstance(r, IdempotencyInFlight)]
    assert len(outcomes) + len(refusals) == 50
    assert [o.replayed for o in outcomes].count(False) == 1
    assert len({repr(o.body) for o in outcomes}) == 1  # every replay is the first answer
    assert record is not None
    assert record.status is RecordStatus.COMPLETED
    assert verify_chain(agent_id, chain, head).ok
    assert [ev.draft.operation for ev in chain].count("create_issue") == 50


async def test_twenty_concurrent_appends_leave_an_unbroken_chain(
    database: PersistenceUnderTest,
) -> None:
    engines = await _engines(database.url, 20)
    agent_id = e.new_id()
    start = asyncio.Barrier(20)

    async def append(engine: AsyncEngine) -> str:
        draft = e.draft(agent_id)
        await start.wait()
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await uow.audit.append([draft])
            await uow.commit()
        return draft.id

    try:
        ids = await asyncio.gather(*(append(engine) for engine in engines))
    finally:
        await _dispose(engines)
    async with database.uow() as uow:
        chain = list(await uow.audit.chain(agent_id))
        head = await uow.audit.head(agent_id)
    assert [ev.seq for ev in chain] == list(range(1, 21))
    assert {ev.id for ev in chain} == set(ids)
    check = verify_chain(agent_id, chain, head)
    assert check.ok, check


async def test_appends_crossing_two_chains_in_either_order_do_not_deadlock(
    database: PersistenceUnderTest,
) -> None:
    engines = await _engines(database.url, 10)
    a, b = e.new_id(), e.new_id()
    start = asyncio.Barrier(10)

    async def append(engine: AsyncEngine, order: tuple[str, str]) -> None:
        drafts = [e.draft(order[0]), e.draft(order[1])]
        await start.wait()
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await uow.audit.append(drafts)
            await uow.commit()

    try:
        await asyncio.gather(
            *(append(engine, (a, b) if n % 2 else (b, a)) for n, engine in enumerate(engines))
        )
    finally:
        await _dispose(engines)
    async with database.uow() as uow:
        for chain_id in (a, b):
            chain = list(await uow.audit.chain(chain_id))
            assert len(chain) == 10
            assert verify_chain(chain_id, chain, await uow.audit.head(chain_id)).ok


async def test_eight_concurrent_workers_admit_exactly_the_budget(
    database: PersistenceUnderTest,
) -> None:
    engines = await _engines(database.url, 8)
    policy = RatePolicy("writes", limit=120, period_s=60, burst=25)
    start = asyncio.Barrier(8)

    async def worker(engine: AsyncEngine) -> int:
        store = SqlRateLimitStore(engine)
        await start.wait()
        admitted = 0
        for _ in range(10):
            admitted += (await store.check("agent:x:writes", policy, e.T0)).allowed
        return admitted

    try:
        admitted = await asyncio.gather(*(worker(engine) for engine in engines))
    finally:
        await _dispose(engines)
    assert sum(admitted) == policy.burst  # 80 attempts in one instant: the burst, no more


async def test_of_concurrent_claims_of_one_key_exactly_one_wins(
    postgres: PersistenceUnderTest,
) -> None:
    engines = await _engines(postgres.url, 12)
    start = asyncio.Barrier(12)

    async def claim(engine: AsyncEngine, n: int) -> bool:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await start.wait()  # every transaction is open before anyone inserts
            won = await uow.idempotency.claim(e.claim(fingerprint=f"f{n}")) is None
            await uow.commit()
            return won

    try:
        wins = await asyncio.gather(*(claim(engine, n) for n, engine in enumerate(engines)))
    finally:
        await _dispose(engines)
    assert wins.count(True) == 1


async def test_of_concurrent_redeems_of_one_pairing_code_exactly_one_wins(
    postgres: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    code = e.pairing_code(agent.id)
    async with postgres.uow() as uow:
        await uow.agents.add(agent)
        await uow.pairing_codes.add(code)
        await uow.commit()
    engines = await _engines(postgres.url, 10)
    start = asyncio.Barrier(10)

    async def redeem(engine: AsyncEngine) -> bool:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            await start.wait()
            consumed = await uow.pairing_codes.consume(code.id, e.T0)
            await uow.commit()
            return consumed

    try:
        consumed = await asyncio.gather(*(redeem(engine) for engine in engines))
    finally:
        await _dispose(engines)
    assert consumed.count(True) == 1


async def test_of_concurrent_edits_of_one_grant_version_exactly_one_is_saved(
    postgres: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    grant, v1 = e.grant(agent.id)
    async with postgres.uow() as uow:
        await uow.agents.add(agent)
        await uow.grants.add(grant, v1)
        await uow.commit()
    engines = await _engines(postgres.url, 6)
    start = asyncio.Barrier(6)

    async def edit(engine: AsyncEngine, n: int) -> bool:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            stored = await uow.grants.get(grant.id)
            assert stored is not None
            version = stored.change(by_user_id=f"user-{n}", now=e.T0, mode="reporting")
            await start.wait()  # all read version 1 before anyone writes
            try:
                await uow.grants.save(stored, version)
            except ValueError:
                return False
            await uow.commit()
            return True

    try:
        saved = await asyncio.gather(*(edit(engine, n) for n, engine in enumerate(engines)))
    finally:
        await _dispose(engines)
    assert saved.count(True) == 1
    async with postgres.uow() as uow:
        assert [v.version for v in await uow.grants.versions(grant.id)] == [1, 2]
