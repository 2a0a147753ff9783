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
from sqlalchemy import JSON, Boolean, Float, String, bindparam, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import direct, transaction
from nodedc_gateway.adapters.persistence.sql.direct import DirectStatement
from nodedc_gateway.adapters.persistence.sql.types import UtcDateTime
from tests.support.databases import engine_dsn, single_connection_postgres

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
