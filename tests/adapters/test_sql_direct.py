"""Statements run straight on psycopg (PostgreSQL): the same values in and out as through
SQLAlchemy, bad parameters refused before anything is sent, and pooled connections
handed back as they were taken, or thrown away when they broke."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from sqlalchemy import JSON, Boolean, Float, String, bindparam, event, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import direct, transaction
from nodedc_gateway.adapters.persistence.sql.direct import DirectStatement
from nodedc_gateway.adapters.persistence.sql.types import UtcDateTime
from tests.support.databases import engine_dsn, migrated_postgres_url, single_connection_postgres

pytestmark = pytest.mark.postgres

#: Every kind of conversion the admission and the record rely on: a type with its own
#: bind and result processing (UTC timestamps), JSON, a Boolean, a bound default (a
#: `literal`), and plain strings.
_STATEMENT = select(
    bindparam("at", type_=UtcDateTime()).label("at"),
    bindparam("document", type_=JSON()).label("document"),
    bindparam("flag", type_=Boolean()).label("flag"),
    (literal("agent:") + bindparam("name", type_=String())).label("scoped"),
)
_VALUES: dict[str, Any] = {
    "at": datetime(2026, 12, 6, 1, 2, 3, 456789, tzinfo=timezone(timedelta(hours=3))),
    "document": {"b": [1, "ü", None], "a": {"nested": True}},
    "flag": False,
    "name": "x'y %s",
}


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with single_connection_postgres() as engine:
        yield engine


async def test_values_go_in_and_come_out_as_through_sqlalchemy(engine: AsyncEngine) -> None:
    statement = DirectStatement(_STATEMENT, engine.dialect)
    (row,) = await statement.run(engine, _VALUES)
    async with transaction(engine) as connection:
        (expected,) = (await connection.execute(_STATEMENT, _VALUES)).all()

    assert_as_through_sqlalchemy(row, expected)


def assert_as_through_sqlalchemy(row: Any, expected: Any) -> None:
    """`row`, run direct, holds what SQLAlchemy's own execution gave (`expected`), and
    that is `_VALUES` back."""
    assert tuple(row) == tuple(expected)
    assert row.at == _VALUES["at"]
    assert row.at.tzinfo == UTC  # back in UTC, to the µs
    assert row.document == _VALUES["document"]
    assert row.flag is False
    assert row.scoped == "agent:x'y %s"


async def test_parameters_missing_or_unknown_are_refused_before_anything_runs(
    engine: AsyncEngine,
) -> None:
    statement = DirectStatement(_STATEMENT, engine.dialect)
    seen: list[str] = []

    def observe(sql: str, _connection: Any) -> None:
        seen.append(sql)

    direct.listen(engine, observe)
    try:
        values = {k: v for k, v in _VALUES.items() if k != "flag"} | {"flog": True}
        with pytest.raises(ValueError, match=r"missing \['flag'\], unknown \['flog'\]"):
            await statement.run(engine, values)
    finally:
        direct.unlisten(engine, observe)
    assert seen == []


def test_a_column_without_a_name_is_refused(engine: AsyncEngine) -> None:
    with pytest.raises(ValueError, match="label every selected column"):
        DirectStatement(select(bindparam("a", type_=String()) + "b"), engine.dialect)


async def test_the_connection_goes_back_to_the_pool_out_of_autocommit(
    engine: AsyncEngine,
) -> None:
    await DirectStatement(_STATEMENT, engine.dialect).run(engine, _VALUES)
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        assert raw.driver_connection.autocommit is False
        # A transaction on it still rolls back: the direct run left no autocommit behind.
        await connection.exec_driver_sql("CREATE TEMPORARY TABLE direct_probe (n int)")
        await connection.rollback()
        exists = await connection.exec_driver_sql("SELECT to_regclass('direct_probe')")
        assert exists.scalar() is None


async def test_a_connection_that_broke_is_not_pooled_again(engine: AsyncEngine) -> None:
    statement = DirectStatement(_STATEMENT, engine.dialect)
    killed: list[int] = []
    dsn = engine_dsn(engine)

    def kill(_sql: str, connection: psycopg.AsyncConnection[Any]) -> None:
        if not killed:
            killed.append(connection.info.backend_pid)
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [killed[0]])

    direct.listen(engine, kill)
    try:
        with pytest.raises(psycopg.OperationalError):
            await statement.run(engine, _VALUES)
        (row,) = await statement.run(engine, _VALUES)  # the pool's only connection: a new one
    finally:
        direct.unlisten(engine, kill)
    assert row.flag is False
    async with direct.direct(engine) as connection:
        assert connection.info.backend_pid != killed[0]


async def test_a_call_cancelled_mid_statement_leaves_the_pool_usable(engine: AsyncEngine) -> None:
    sleeping = DirectStatement(
        select(func.pg_sleep(bindparam("seconds", type_=Float())).label("slept")),
        engine.dialect,
    )
    sent = asyncio.Event()

    def started(_sql: str, _connection: Any) -> None:
        sent.set()

    direct.listen(engine, started)
    try:
        running = asyncio.create_task(sleeping.run(engine, {"seconds": 60.0}))
        await sent.wait()  # the statement is on its way (the observer runs just before)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    finally:
        direct.unlisten(engine, started)
    (row,) = await DirectStatement(_STATEMENT, engine.dialect).run(engine, _VALUES)
    assert row.flag is False
    async with direct.direct(engine) as connection:
        assert connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


@pytest.fixture
async def roomy() -> AsyncIterator[AsyncEngine]:
    """An engine whose pool can spare connections for direct statements to keep."""
    from nodedc_gateway.adapters.persistence.sql import create_engine

    engine = create_engine(await migrated_postgres_url(), pool_size=3, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


def _used(engine: AsyncEngine) -> list[psycopg.AsyncConnection[Any]]:
    """The driver connection of every direct statement on `engine` from now on."""
    used: list[psycopg.AsyncConnection[Any]] = []
    direct.listen(engine, lambda _sql, connection: used.append(connection))
    return used


async def test_the_next_direct_statement_runs_on_the_kept_connection(roomy: AsyncEngine) -> None:
    checkouts: list[int] = []
    event.listen(roomy.sync_engine, "checkout", lambda *_: checkouts.append(1))
    used = _used(roomy)
    statement = DirectStatement(_STATEMENT, roomy.dialect)

    for _ in range(3):
        (row,) = await statement.run(roomy, _VALUES)
        assert row.flag is False

    assert len(checkouts) == 1  # taken from the pool once, then kept between statements
    assert len({connection.info.backend_pid for connection in used}) == 1
    async with roomy.connect() as connection:  # a transaction still gets a connection
        assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1


async def test_a_kept_connection_the_server_ended_is_not_used_again(roomy: AsyncEngine) -> None:
    used = _used(roomy)
    statement = DirectStatement(_STATEMENT, roomy.dialect)
    await statement.run(roomy, _VALUES)
    ended = used[-1].info.backend_pid
    with psycopg.connect(engine_dsn(roomy), autocommit=True) as admin:
        # Returns once the backend has exited, its goodbye sent to the kept connection.
        admin.execute("SELECT pg_terminate_backend(%s, 10000)", [ended])

    (row,) = await statement.run(roomy, _VALUES)  # no error: a fresh connection serves

    assert row.flag is False
    assert used[-1].info.backend_pid != ended


async def test_kept_connections_are_closed_with_the_engines_pool(roomy: AsyncEngine) -> None:
    used = _used(roomy)
    await DirectStatement(_STATEMENT, roomy.dialect).run(roomy, _VALUES)
    kept = used[-1]
    assert not kept.closed  # kept, open
    pid = kept.info.backend_pid

    await roomy.dispose()

    assert kept.closed
    await DirectStatement(_STATEMENT, roomy.dialect).run(roomy, _VALUES)  # the new pool serves
    assert used[-1].info.backend_pid != pid
