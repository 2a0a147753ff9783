"""SQLite write transactions run on the driver in one hop (`direct.write_transaction`):
the same values in and out as through SQLAlchemy, all or nothing, in turn with the
engine's other transactions (a cancelled caller's included), and closed with the engine."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Integer, bindparam, column, select, table, text
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import create_engine, direct, transaction
from nodedc_gateway.adapters.persistence.sql.direct import DirectStatement, Transaction
from nodedc_gateway.adapters.persistence.sql.engine import _sqlite_lock
from tests.adapters.test_sql_direct import _STATEMENT, _VALUES, assert_as_through_sqlalchemy

_counts = table("counts", column("n", Integer()))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'direct.db'}")
    async with transaction(engine) as connection:
        await connection.execute(text("CREATE TABLE counts (n INTEGER NOT NULL UNIQUE)"))
    try:
        yield engine
    finally:
        await engine.dispose()


def _insert(engine: AsyncEngine) -> DirectStatement:
    return DirectStatement(
        insert(_counts).values(n=bindparam("n", type_=Integer())).returning(_counts.c.n),
        engine.dialect,
    )


async def _counted(engine: AsyncEngine) -> list[int]:
    async with transaction(engine) as connection:
        return list((await connection.execute(text("SELECT n FROM counts ORDER BY n"))).scalars())


async def test_values_go_in_and_come_out_as_through_sqlalchemy(engine: AsyncEngine) -> None:
    statement = DirectStatement(_STATEMENT, engine.dialect)
    (row,) = await direct.write_transaction(engine, lambda tx: tx.run(statement, _VALUES))
    async with transaction(engine) as connection:
        (expected,) = (await connection.execute(_STATEMENT, _VALUES)).all()

    assert_as_through_sqlalchemy(row, expected)


async def test_a_transaction_commits_what_it_wrote_and_says_what_it_sent(
    engine: AsyncEngine,
) -> None:
    statement = _insert(engine)
    seen: list[str] = []

    def observe(sql: str, _connection: Any) -> None:
        seen.append(sql.split(maxsplit=1)[0])

    def work(tx: Transaction) -> list[int]:
        return [row.n for n in (1, 2) for row in tx.run(statement, {"n": n})]

    direct.listen(engine, observe)
    try:
        assert await direct.write_transaction(engine, work) == [1, 2]
    finally:
        direct.unlisten(engine, observe)
    assert seen == ["BEGIN", "INSERT", "INSERT", "COMMIT"]
    assert await _counted(engine) == [1, 2]


async def test_a_transaction_that_raises_writes_nothing(engine: AsyncEngine) -> None:
    statement = _insert(engine)

    def work(tx: Transaction) -> None:
        tx.run(statement, {"n": 1})
        tx.run(statement, {"n": 1})  # UNIQUE

    with pytest.raises(sqlite3.IntegrityError):
        await direct.write_transaction(engine, work)
    assert await _counted(engine) == []
    await direct.write_transaction(engine, lambda tx: tx.run(statement, {"n": 3}))
    assert await _counted(engine) == [3]


async def test_bad_parameters_are_refused_before_anything_is_written(engine: AsyncEngine) -> None:
    statement = _insert(engine)

    def work(tx: Transaction) -> None:
        tx.run(statement, {"n": 1})
        tx.run(statement, {"m": 2})

    with pytest.raises(ValueError, match=r"missing \['n'\], unknown \['m'\]"):
        await direct.write_transaction(engine, work)
    assert await _counted(engine) == []


async def test_a_cancelled_caller_holds_the_engine_until_its_transaction_ended(
    engine: AsyncEngine,
) -> None:
    """The work cannot be stopped once in its thread: the engine's next transaction
    (through SQLAlchemy here) waits for it to commit rather than finding the database
    locked or seeing half of it."""
    statement = _insert(engine)
    started, release = threading.Event(), threading.Event()

    def work(tx: Transaction) -> None:
        tx.run(statement, {"n": 1})
        started.set()
        release.wait()
        tx.run(statement, {"n": 2})

    call = asyncio.create_task(direct.write_transaction(engine, work))
    await asyncio.to_thread(started.wait)
    call.cancel()
    after = asyncio.create_task(_counted(engine))
    for _ in range(3):  # a cancellation not held back would have ended the call by now
        await asyncio.sleep(0)
    assert not call.done()
    lock = _sqlite_lock(engine)
    assert lock is not None
    assert lock.locked()  # the engine's turn still taken: `after` waits on it
    assert not after.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await after == [1, 2]


async def test_the_lane_closes_with_the_engine_and_opens_again(engine: AsyncEngine) -> None:
    statement = _insert(engine)
    await direct.write_transaction(engine, lambda tx: tx.run(statement, {"n": 1}))
    threads = {t.name for t in threading.enumerate()}
    assert any(name.startswith("nodedc-sqlite") for name in threads)

    await engine.dispose()

    await direct.write_transaction(engine, lambda tx: tx.run(statement, {"n": 2}))
    assert await _counted(engine) == [1, 2]


def test_an_in_memory_sqlite_database_is_refused() -> None:
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        with pytest.raises(ValueError, match="needs a database file"):
            create_engine(url)


def test_a_statement_for_another_paramstyle_is_refused(engine: AsyncEngine) -> None:
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="pyformat or qmark: named"):
        DirectStatement(select(bindparam("a").label("a")), sqlite.dialect(paramstyle="named"))
