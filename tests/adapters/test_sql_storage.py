"""What the SQL adapters promise about storage itself: exact timestamps, tolerant scope
reading, and engines configured as documented."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, select, text, update
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from nodedc_gateway.adapters.persistence.sql import SqlUnitOfWorkFactory, create_engine
from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.types import UtcDateTime
from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.scopes import Scope
from nodedc_gateway.ports.unit_of_work import UnitOfWork
from tests.contracts.persistence_backends import (
    BACKENDS,
    SQL_BACKENDS,
    PersistenceUnderTest,
    backend_params,
)
from tests.support import entities as e
from tests.support.databases import migrated_sqlite_url


@pytest.fixture(params=backend_params(SQL_BACKENDS))
async def database(request: pytest.FixtureRequest) -> AsyncIterator[PersistenceUnderTest]:
    async with BACKENDS[request.param]() as backend:
        yield backend


offsets = st.builds(
    timezone,
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23)),
)
moments = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(2500, 12, 30), timezones=offsets
)
probe = Table(
    "timestamp_probe",
    MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=True),
    prefixes=["TEMPORARY"],
)
probe_ids = iter(range(10**9))


@pytest.fixture
async def probe_connection(database: PersistenceUnderTest) -> AsyncIterator[AsyncConnection]:
    """One connection kept for every example, with a scratch table of one `UtcDateTime`
    column (temporary: it vanishes with the connection)."""
    assert database.engine is not None
    async with database.engine.connect() as connection:
        await connection.run_sync(probe.create)
        yield connection
        await connection.rollback()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=st.none() | moments)
async def test_timestamps_round_trip_to_the_microsecond_in_utc(
    probe_connection: AsyncConnection, moment: datetime | None
) -> None:
    probe_id = next(probe_ids)
    await probe_connection.execute(probe.insert().values(id=probe_id, at=moment))
    stored = (
        await probe_connection.execute(select(probe.c.at).where(probe.c.id == probe_id))
    ).scalar_one()
    if moment is None:
        assert stored is None
        return
    assert stored.tzinfo is UTC
    assert stored == moment  # the same instant
    assert stored.replace(tzinfo=None) == moment.astimezone(UTC).replace(tzinfo=None)


async def test_domain_timestamps_come_back_in_utc(database: PersistenceUnderTest) -> None:
    moscow = timezone(timedelta(hours=3))
    record = attrs.evolve(
        e.claim(),
        created_at=e.T0.astimezone(moscow),
        expires_at=e.T0 + timedelta(days=1),
        locked_until=None,
    )
    async with database.uow() as uow:
        await uow.idempotency.claim(record)
        stored = await uow.idempotency.claim(record)
    assert stored == record
    assert stored is not None
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at.microsecond == 123_456


async def test_naive_timestamps_are_refused(database: PersistenceUnderTest) -> None:
    record = attrs.evolve(e.claim(), created_at=datetime(2026, 1, 1))
    with pytest.raises(StatementError, match="timezone-aware"):
        async with database.uow() as uow:
            await uow.idempotency.claim(record)


async def test_stored_scopes_the_domain_does_not_know_are_dropped(
    database: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    grant, version = e.grant(agent.id, scopes=["issue:read"])
    async with database.uow() as uow:
        await uow.agents.add(agent)
        await uow.grants.add(grant, version)
        await uow.commit()
    stored = ["issue:delete", "issue:read", "issue:teleport", 7]
    assert database.engine is not None
    async with database.engine.begin() as connection:
        for key in (t.grants.c.id, t.grant_versions.c.grant_id):
            await connection.execute(update(key.table).where(key == grant.id).values(scopes=stored))
    async with database.uow() as uow:
        read = await uow.grants.get(grant.id)
        (history,) = await uow.grants.versions(grant.id)
    assert read is not None
    # unknown strings vanish; a denied scope stays (evaluation ignores it by itself)
    assert read.scopes == history.scopes == frozenset({Scope.ISSUE_READ, Scope.ISSUE_DELETE})


async def test_scopes_are_stored_as_a_sorted_list(database: PersistenceUnderTest) -> None:
    agent = e.agent()
    grant, version = e.grant(agent.id, scopes=["issue:read", "issue:comment", "project:read"])
    async with database.uow() as uow:
        await uow.agents.add(agent)
        await uow.grants.add(grant, version)
        await uow.commit()
    assert database.engine is not None
    async with database.engine.connect() as connection:
        stored = (
            await connection.execute(t.grants.select().where(t.grants.c.id == grant.id))
        ).one()
    assert stored.scopes == ["issue:comment", "issue:read", "project:read"]


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/pragmas.db")
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        await engine.dispose()
    assert pragmas == ["wal", 1, 30_000]


async def test_foreign_keys_hold(database: PersistenceUnderTest) -> None:
    async def orphan_token(uow: UnitOfWork) -> None:
        await uow.tokens.add(e.token(e.new_id()))  # no such agent

    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        async with database.uow() as uow:
            await orphan_token(uow)


def test_only_the_supported_drivers_make_engines() -> None:
    with pytest.raises(ValueError, match="unsupported database driver"):
        create_engine("mysql+aiomysql://u@localhost/db")
    with pytest.raises(ValueError, match="unsupported database driver"):
        create_engine("sqlite:///plain-sync-driver.db")


async def test_a_nested_transaction_on_one_sqlite_engine_is_refused_not_deadlocked(
    tmp_path: Path,
) -> None:
    engine = create_engine(await migrated_sqlite_url(tmp_path))
    uow = SqlUnitOfWorkFactory(engine)
    try:
        async with uow():
            with pytest.raises(RuntimeError, match="already open"):
                await uow().__aenter__()
        async with uow() as again:  # once the first is closed, the next one opens
            assert await again.agents.get(e.new_id()) is None
    finally:
        await engine.dispose()


async def test_purging_rate_limits_forgets_only_full_buckets(
    database: PersistenceUnderTest,
) -> None:
    store = database.rate_limits
    assert isinstance(store, SqlRateLimitStore)
    policy = RatePolicy("writes", limit=60, period_s=60, burst=2)  # one per second
    for key in ("busy", "idle"):
        assert (await store.check(key, policy, e.T0)).allowed
    later = e.T0 + timedelta(seconds=1)
    assert (await store.check("busy", policy, later)).allowed
    assert await store.purge(later) == 1  # "idle" is full again: as good as never seen
    assert await store.purge(later) == 0
    assert (await store.check("busy", policy, later)).allowed
    assert not (await store.check("busy", policy, later)).allowed  # its state was kept


def test_a_postgresql_engine_keeps_ten_connections_of_fifteen_unless_told() -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"  # never connected to
    pool: Any = create_engine(url).pool
    assert (pool.size(), pool._max_overflow) == (10, 5)
    told: Any = create_engine(url, pool_size=2, max_overflow=0).pool
    assert (told.size(), told._max_overflow) == (2, 0)
