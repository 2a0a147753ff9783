"""What PostgreSQL work costs in round trips: no ping before a transaction (a pooled
connection the server closed is still never handed out), and no BEGIN/COMMIT around
work made of self-contained statements."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import SqlUnitOfWorkFactory
from tests.support import entities as e
from tests.support.databases import postgres_url, single_connection_postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with single_connection_postgres() as engine:
        yield engine


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _terminate(pid: int) -> None:
    dsn = postgres_url().replace("postgresql+psycopg://", "postgresql://", 1)
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(500):  # until the backend is gone
            row = await (
                await admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))
            ).fetchone()
            if row is not None and row[0] == 0:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} did not go away")


@contextlib.asynccontextmanager
async def _sent(engine: AsyncEngine, directory: Path) -> AsyncIterator[list[str]]:
    """What the pool's one connection sends during the block, from libpq's own trace:
    one entry per simple query (its text) or extended-protocol statement (`Sync`)."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        pgconn = raw.driver_connection.pgconn  # type: ignore[union-attr]
    trace = directory / "libpq.trace"
    descriptor = os.open(trace, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pgconn.trace(descriptor)
    pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
    sent: list[str] = []
    try:
        yield sent
    finally:
        pgconn.untrace()
        os.close(descriptor)
    for line in trace.read_text().splitlines():
        parts = line.split("\t")
        if parts[0] == "F" and parts[2] == "Query":
            sent.append(parts[3].strip().strip('"'))
        elif parts[0] == "F" and parts[2] == "Sync":
            sent.append("statement")


async def test_a_connection_the_server_closed_is_replaced_before_use(engine: AsyncEngine) -> None:
    first = await _backend_pid(engine)
    await _terminate(first)  # the pool's only connection, idle between transactions
    second = await _backend_pid(engine)  # no error: a fresh connection was taken
    assert second != first


async def test_a_transaction_is_not_preceded_by_a_ping(engine: AsyncEngine, tmp_path: Path) -> None:
    async with _sent(engine, tmp_path) as sent, engine.begin() as connection:
        await connection.execute(text("SELECT 41 + 1"))
    assert sent == ["BEGIN", "SELECT 41 + 1", "COMMIT"]


async def test_an_autocommit_unit_of_work_sends_its_statements_alone(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    uow = SqlUnitOfWorkFactory(engine)
    record = e.claim("autocommit-key")
    async with _sent(engine, tmp_path) as sent, uow(autocommit=True) as work:
        assert await work.idempotency.claim(record) is None
        # no commit(): the claim stands by itself
    assert sent == ["statement"]
    async with uow() as other:
        assert await other.idempotency.claim(record) == record  # already there


async def _durable(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:  # the pool's one connection, durable
        await connection.execute(text("SET synchronous_commit = on"))  # (tests run without)
        await connection.commit()


async def _still_durable(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:  # the same connection again
        setting = await connection.execute(text("SHOW synchronous_commit"))
        return bool(setting.scalar_one() == "on")


async def test_a_standalone_claims_relaxed_commit_stays_in_its_statement(
    engine: AsyncEngine,
) -> None:
    """The in-flight marker commits without waiting for the WAL flush; the connection
    it ran on (handed to whatever comes next) still commits durably."""
    await _durable(engine)
    async with SqlUnitOfWorkFactory(engine)(autocommit=True) as work:
        assert await work.idempotency.claim(e.claim("relaxed-key")) is None
    assert await _still_durable(engine)


async def test_the_rate_limiters_relaxed_commit_stays_in_its_statement(
    engine: AsyncEngine,
) -> None:
    """Each check commits without waiting for the WAL flush; the connection it ran on
    (handed to whatever comes next) still commits durably."""
    from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
    from nodedc_gateway.domain.ratelimit import RatePolicy

    await _durable(engine)
    decision = await SqlRateLimitStore(engine).check("k", RatePolicy("w", 60, 60, 5), e.T0)
    assert decision.allowed
    assert await _still_durable(engine)


async def _seeded(engine: AsyncEngine) -> str:
    """An agent with a token; its hash."""
    agent = e.agent()
    token = e.token(agent.id)
    async with SqlUnitOfWorkFactory(engine)() as uow:
        await uow.agents.add(agent)
        await uow.tokens.add(token)
        await uow.commit()
    return token.token_hash


async def _admit(engine: AsyncEngine, token_hash: str, claim: bool) -> None:
    from nodedc_gateway.adapters.persistence.sql.admission import SqlCallerAdmission
    from nodedc_gateway.domain.ratelimit import RatePolicy
    from nodedc_gateway.ports.callers import ClaimRequest

    request = ClaimRequest(e.new_id(), e.fake_hash("fp"), "create_issue") if claim else None
    policy = RatePolicy("writes", 60, 60, 5)
    admission = await SqlCallerAdmission(engine).admit([token_hash], e.T0, policy, request)
    assert admission is not None
    assert admission.budget is not None
    assert admission.budget.allowed
    assert (admission.claimed is not None) is claim


@pytest.mark.parametrize("claim", [True, False], ids=["keyed", "unkeyed"])
async def test_an_admission_is_one_statement(
    engine: AsyncEngine, tmp_path: Path, claim: bool
) -> None:
    """Caller, budget and claim: one round trip, its own transaction (no BEGIN/COMMIT)."""
    token_hash = await _seeded(engine)
    await _admit(engine, token_hash, claim)  # the statement is built once
    async with _sent(engine, tmp_path) as sent:
        await _admit(engine, token_hash, claim)
    assert sent == ["statement"]


async def test_an_admissions_relaxed_commit_stays_in_its_statement(engine: AsyncEngine) -> None:
    token_hash = await _seeded(engine)
    await _durable(engine)
    await _admit(engine, token_hash, True)
    assert await _still_durable(engine)
