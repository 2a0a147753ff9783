"""Persistence backends under the contract suites: memory, SQLite and PostgreSQL.

Each yields a unit-of-work factory and a rate-limit store on a fresh, empty store; the
SQL ones on a schema built by the real Alembic migrations. PostgreSQL follows the rule of
`tests.support.databases.require_postgres`: skipped locally when unreachable, a failure
under CI.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
from nodedc_gateway.adapters.persistence.sql import (
    SqlCallerLookup,
    SqlUnitOfWorkFactory,
    create_engine,
)
from nodedc_gateway.adapters.persistence.sql.admission import SqlCallerAdmission
from nodedc_gateway.adapters.ratelimit.memory import MemoryRateLimitStore
from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
from nodedc_gateway.application.callers import RepositoryCallerLookup, SequentialAdmission
from nodedc_gateway.ports.callers import CallerAdmission, CallerLookup
from nodedc_gateway.ports.ratelimit import RateLimitStore
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url


@attrs.frozen
class PersistenceUnderTest:
    name: str
    uow: UnitOfWorkFactory
    rate_limits: RateLimitStore
    callers: CallerLookup
    admission: CallerAdmission
    url: str | None = None  # SQL backends: where the database is
    engine: AsyncEngine | None = None


@asynccontextmanager
async def memory_backend() -> AsyncIterator[PersistenceUnderTest]:
    uow = MemoryUnitOfWorkFactory()
    rate_limits, callers = MemoryRateLimitStore(), RepositoryCallerLookup(uow)
    admission = SequentialAdmission(callers, rate_limits, uow)
    yield PersistenceUnderTest("memory", uow, rate_limits, callers, admission)


@asynccontextmanager
async def sql_backend(name: str, url: str) -> AsyncIterator[PersistenceUnderTest]:
    engine = create_engine(url)
    try:
        yield PersistenceUnderTest(
            name,
            SqlUnitOfWorkFactory(engine),
            SqlRateLimitStore(engine),
            SqlCallerLookup(engine),
            SqlCallerAdmission(engine),
            url,
            engine,
        )
    finally:
        await engine.dispose()


@asynccontextmanager
async def sqlite_backend() -> AsyncIterator[PersistenceUnderTest]:
    with tempfile.TemporaryDirectory(prefix="nodedc_test_") as directory:
        async with sql_backend("sqlite", await migrated_sqlite_url(Path(directory))) as backend:
            yield backend


@asynccontextmanager
async def postgres_backend() -> AsyncIterator[PersistenceUnderTest]:
    async with sql_backend("postgres", await migrated_postgres_url()) as backend:
        yield backend


BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[PersistenceUnderTest]]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}
SQL_BACKENDS = ("sqlite", "postgres")


def backend_params(names: tuple[str, ...] = tuple(BACKENDS)) -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.postgres] if name == "postgres" else [], id=name)
        for name in names
    ]


def backend_fixture(names: tuple[str, ...] = tuple(BACKENDS)) -> Any:
    """A `backend` fixture over the named backends, for a contract module to bind:
    `backend = backend_fixture()`."""

    @pytest.fixture(params=backend_params(names))
    async def backend(request: pytest.FixtureRequest) -> AsyncIterator[PersistenceUnderTest]:
        async with BACKENDS[request.param]() as under_test:
            yield under_test

    return backend
