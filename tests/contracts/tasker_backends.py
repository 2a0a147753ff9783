"""Tasker backends under the contract suite. Each factory yields a port seeded with the
demo data of CONTRACT §11 (through whatever admin path that backend has)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import attrs
import httpx

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import RetryPolicy, Timing
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.tasker.http import HttpTasker
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, SandboxAdmin, seed_demo
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.ports.tasker import TaskerPort
from tests.support import stand_in
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url
from tests.support.fake_plane import API_KEY, FakePlane, PlaneSandbox
from tests.support.fake_tasker_adapter import TOKEN, FakeTaskerAdapter


@attrs.frozen
class TaskerUnderTest:
    port: TaskerPort
    demo: DemoTasker
    admin: SandboxAdmin  # the backend's own way to change Tasker-side data (policy)
    clock: FixedClock
    ws: str = "demo"  # the demo workspace's slug in this backend
    other_ws: str = "other"
    shared: bool = False  # other people's projects live in the workspace too (real Plane)


@asynccontextmanager
async def memory_backend() -> AsyncIterator[TaskerUnderTest]:
    clock = FixedClock()
    tasker = MemoryTasker(UUIDv7Generator(), clock)
    yield TaskerUnderTest(tasker, await seed_demo(tasker), tasker, clock)


PLANE_URL = "https://plane.test"


@asynccontextmanager
async def _plane(faults: stand_in.FaultPlan | None) -> AsyncIterator[TaskerUnderTest]:
    clock = FixedClock()
    time = stand_in.FakeTime()
    plane = FakePlane(clock)
    sandbox = PlaneSandbox(plane)
    demo = await seed_demo(sandbox)
    transport = stand_in.StandInTransport(plane.handle, faults)
    async with httpx.AsyncClient(transport=transport) as client:
        port = PlaneTasker(
            base_url=PLANE_URL,
            api_key=SecretStr(API_KEY),
            workspaces=sandbox.workspace_policies,
            client=client,
            page_size=2,  # every list spans several pages
            retry=RetryPolicy(attempts=3),
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        yield TaskerUnderTest(port, demo, sandbox, clock)


def plane_backend() -> AbstractAsyncContextManager[TaskerUnderTest]:
    """Plane's v1 API stand-in, small pages."""
    return _plane(None)


def flaky_plane_backend() -> AbstractAsyncContextManager[TaskerUnderTest]:
    """The same, failing every third repeatable request in turn: 503, a dropped connection
    after the work was done, a timeout after it, a 429 with Retry-After, a refusal."""
    faults = [
        stand_in.status(503),
        stand_in.DROP_AFTER,
        stand_in.TIMEOUT_AFTER,
        stand_in.throttle(1),
        stand_in.REFUSE,
    ]
    return _plane(stand_in.EveryNth(3, faults))


TASKER_URL = "https://tasker.test"


@asynccontextmanager
async def tasker_http_backend() -> AsyncIterator[TaskerUnderTest]:
    """Tasker's internal adapter, as docs/tasker-adapter.md defines it, over a memory
    Tasker; lists span several pages."""
    clock = FixedClock()
    time = stand_in.FakeTime()
    tasker = MemoryTasker(UUIDv7Generator(), clock)
    demo = await seed_demo(tasker)
    transport = stand_in.StandInTransport(FakeTaskerAdapter(tasker).handle)
    async with httpx.AsyncClient(transport=transport) as client:
        port = HttpTasker(
            base_url=TASKER_URL,
            token=SecretStr(TOKEN),
            client=client,
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        yield TaskerUnderTest(port, demo, tasker, clock)


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
    "plane": plane_backend,
    "plane-flaky": flaky_plane_backend,
    "tasker-http": tasker_http_backend,
    "sandbox-sqlite": sandbox_sqlite_backend,
    "sandbox-postgres": sandbox_postgres_backend,
}
