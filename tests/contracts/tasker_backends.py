"""Tasker backends under the contract suite. Each factory yields a port seeded with the
demo data of CONTRACT §11 (through whatever admin path that backend has)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import attrs

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, SandboxAdmin, seed_demo
from nodedc_gateway.ports.tasker import TaskerPort


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


#: name -> factory; adapters add their own backends here.
BACKENDS: dict[str, Callable[[], AbstractAsyncContextManager[TaskerUnderTest]]] = {
    "memory": memory_backend,
}
