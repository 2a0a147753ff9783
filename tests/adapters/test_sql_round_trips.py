"""Pooled PostgreSQL connections the server closed are never handed out, and checking
that costs no round trip (the pool does not ping before every transaction)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import create_engine
from tests.support.databases import migrated_postgres_url, postgres_url

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await migrated_postgres_url(), pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


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


async def test_a_connection_the_server_closed_is_replaced_before_use(engine: AsyncEngine) -> None:
    first = await _backend_pid(engine)
    await _terminate(first)  # the pool's only connection, idle between transactions
    second = await _backend_pid(engine)  # no error: a fresh connection was taken
    assert second != first


async def test_checking_a_pooled_connection_sends_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    async with engine.connect() as connection:  # the pool's connection, traced from here on
        raw = await connection.get_raw_connection()
        pgconn = raw.driver_connection.pgconn  # type: ignore[union-attr]
    trace = tmp_path / "libpq.trace"
    descriptor = os.open(trace, os.O_WRONLY | os.O_CREAT, 0o600)
    pgconn.trace(descriptor)
    pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 41 + 1"))
    finally:
        pgconn.untrace()
        os.close(descriptor)
    sent = [
        line.split("\t")[3].strip().strip('"')
        for line in trace.read_text().splitlines()
        if line.startswith("F\t")
    ]
    assert sent == ["BEGIN", "SELECT 41 + 1", "COMMIT"]  # no ping (`;`) before them
