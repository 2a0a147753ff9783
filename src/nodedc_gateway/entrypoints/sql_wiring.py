"""Wiring the SQL adapters into the container: the engine as a resource (disposed at
shutdown), the unit of work and rate limits on it, and the sandbox Tasker in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.console.sql import SqlConsoleSessionStore
from nodedc_gateway.adapters.persistence.sql import (
    SqlCallerLookup,
    SqlUnitOfWorkFactory,
    create_engine,
)
from nodedc_gateway.adapters.persistence.sql.admission import SqlCallerAdmission
from nodedc_gateway.adapters.persistence.sql.call_record import SqlCallRecorder
from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.entrypoints.libraries import providers
from nodedc_gateway.entrypoints.settings import Settings, TaskerBackend


async def _engine(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


def _readiness(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return check


def with_sql(container: Any, settings: Settings) -> None:
    """Override the in-process defaults of a `Gateway` container with the SQL adapters."""
    engine = providers.Resource(_engine, settings.database_url)
    persistence = container.persistence
    persistence.uow.override(providers.Singleton(SqlUnitOfWorkFactory, engine))
    persistence.callers.override(providers.Singleton(SqlCallerLookup, engine))
    # The sandbox Tasker is in this database: the admission reads workspace policies too.
    sandbox = settings.tasker_backend is TaskerBackend.SANDBOX
    persistence.admission.override(
        providers.Singleton(SqlCallerAdmission, engine, workspace_policies=sandbox)
    )
    persistence.recorder.override(providers.Singleton(SqlCallRecorder, engine))
    persistence.rate_limits.override(providers.Singleton(SqlRateLimitStore, engine))
    persistence.console_sessions.override(providers.Singleton(SqlConsoleSessionStore, engine))
    persistence.ready.override(providers.Singleton(_readiness, engine))
    container.tasker.sandbox.override(
        # Each agent write is followed by the call's record, committed synchronously in
        # this database: the sandbox's own create commits without waiting for the flush.
        providers.Singleton(
            SqlSandboxTasker, engine, container.core.ids, container.core.clock, recorded=True
        )
    )
