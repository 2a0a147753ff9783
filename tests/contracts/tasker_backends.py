"""Tasker backends under the contract suite. Each factory yields a port seeded with the
demo data of CONTRACT §11 (through whatever admin path that backend has)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import attrs

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, SandboxAdmin, seed_demo
from nodedc_gateway.ports.tasker import TaskerPort
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url


@attrs.frozen
class TaskerUnderTest:
    port: TaskerPort
    demo: DemoTasker
    admin: SandboxAdmin  # the backend's own way to change Tasker-side data (policy)
    clock: FixedClock


@asynccontextmanager
async def memory_backend() -> AsyncIterator[TaskerUnderTest]:
    clock = FixedClock()
    tasker = MemoryTasker(UUIDv7Generator(), clock)
    yield TaskerUnderTest(tasker, await seed_demo(tasker), tasker, clock)


@asynccontextmanager
async def _sandbox_on(url: str) -> AsyncIterator[TaskerUnderTest]:
    engine = create_engine(url)
    try:
        clock = FixedClock()
        tasker = SqlSandboxTasker(engine, UUIDv7Generator(), clock)
        yield TaskerUnderTest(tasker, await seed_demo(tasker), tasker, clock)
    finally:
        await engine.dispose()


@asynccontextmanager
async def sandbox_sqlite_backend() -> AsyncIterator[TaskerUnderTest]:
    with tempfile.TemporaryDirectory(prefix="nodedc_test_") as directory:
        async with _sandbox_on(await migrated_sqlite_url(Path(directory))) as backend:
            yield backend


@asynccontextmanager
async def sandbox_postgres_backend() -> AsyncIterator[TaskerUnderTest]:
    async with _sandbox_on(await migrated_postgres_url()) as backend:
        yield backend


#: name -> factory; adapters add their own backends here.
BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[TaskerUnderTest]]] = {
    "memory": memory_backend,
    "sandbox-sqlite": sandbox_sqlite_backend,
    "sandbox-postgres": sandbox_postgres_backend,
}
