"""The client side: the official `mcp` client over Streamable HTTP, calling `create_issue`
the way Codex would (a fresh idempotency key per write) or `get_issue` on one issue, one
call at a time for latency and from several clients at once for throughput."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import attrs
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

_serial = itertools.count()


@attrs.frozen
class Target:
    """A server and how to call it: URL, bearer token (None for the bare server), the
    project to write into, and the tool: `create_issue`, or `get_issue` of `issue_id`."""

    url: str
    token: str | None
    workspace_slug: str
    project_id: str
    keyed: bool = True  # send an idempotency key, as Codex is told to on every write
    issue_id: str | None = None  # set: the target reads this issue instead of writing

    @property
    def tool(self) -> str:
        return "create_issue" if self.issue_id is None else "get_issue"

    def reading(self, issue_id: str) -> Target:
        """The same server, reading `issue_id` with `get_issue`."""
        return attrs.evolve(self, issue_id=issue_id)


class CallFailed(RuntimeError):
    pass


@contextlib.asynccontextmanager
async def client(target: Target) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    http = create_mcp_http_client(headers=headers)
    transport = streamable_http_client(f"{target.url}/mcp", http_client=http)
    async with Client(transport, mode="auto") as connected:
        yield connected


def arguments(target: Target) -> dict[str, Any]:
    if target.issue_id is not None:
        return {
            "workspace_slug": target.workspace_slug,
            "project_id": target.project_id,
            "issue": target.issue_id,
        }
    n = next(_serial)
    call = {
        "workspace_slug": target.workspace_slug,
        "project_id": target.project_id,
        "name": f"Benchmark card {n}",
    }
    if target.keyed:
        call["idempotency_key"] = f"bench-{n}-{secrets.token_hex(8)}"
    return call


async def call(session: Client, target: Target) -> None:
    """One call of the target's tool; an error result raises."""
    result = await session.call_tool(target.tool, arguments(target))
    if result.is_error:
        raise CallFailed(str(result.structured_content or result.content))


@attrs.frozen
class Session:
    """An open client session with one server (one agent, on the gateway)."""

    target: Target
    client: Client


@contextlib.asynccontextmanager
async def held(target: Target) -> AsyncIterator[Client]:
    """A client session opened, held and closed by a task of its own, as a client process
    of its own would. Opened one after another in one task, each session's task group
    nests in the ones opened before it, and the SDK's tasks of a session opened later walk
    a longer chain of cancel scopes at every checkpoint: with 16 sessions per server, the
    client spent more CPU per call on whichever server's sessions were opened second."""
    opened: asyncio.Future[Client] = asyncio.get_running_loop().create_future()
    done = asyncio.Event()

    async def hold() -> None:
        try:
            async with client(target) as connected:
                opened.set_result(connected)
                await done.wait()
        except BaseException as error:
            if not opened.done():
                opened.set_exception(error)
            raise

    holder = asyncio.create_task(hold())
    try:
        yield await asyncio.shield(opened)
    finally:
        done.set()
        await holder


@contextlib.asynccontextmanager
async def sessions(targets: Sequence[Target], warmup: int = 10) -> AsyncIterator[list[Session]]:
    """Open one session per target (each held by a task of its own) and warm each up with
    `warmup` untimed calls."""
    async with contextlib.AsyncExitStack() as stack:
        opened = [Session(t, await stack.enter_async_context(held(t))) for t in targets]
        for session in opened:
            for _ in range(warmup):
                await call(session.client, session.target)
        yield opened


async def timed(session: Session, calls: int) -> list[float]:
    """Seconds per call, one call in flight at a time."""
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        await call(session.client, session.target)
        samples.append(time.perf_counter() - t0)
    return samples


async def sequential(
    target: Target, calls: int, warmup: int = 20, on_warm: Callable[[], None] | None = None
) -> list[float]:
    """Seconds per call on a fresh session, after `warmup` untimed calls (then `on_warm`
    is called)."""
    async with sessions([target], warmup) as (session,):
        if on_warm is not None:
            on_warm()
        return await timed(session, calls)


@attrs.frozen
class Burst:
    calls: int
    seconds: float
    samples: list[float]  # seconds per counted call, from every client


async def burst(opened: Sequence[Session], duration_s: float) -> Burst:
    """Every session calling back-to-back at once for `duration_s`: the calls that ended
    within it (those still in flight at the end are not counted) and how long each took."""
    samples: list[float] = []
    stop = asyncio.Event()

    async def worker(session: Session) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await call(session.client, session.target)
            if not stop.is_set():
                samples.append(time.perf_counter() - t0)

    async with asyncio.TaskGroup() as group:
        t0 = time.perf_counter()
        for session in opened:
            group.create_task(worker(session))
        await asyncio.sleep(duration_s)
        counted, elapsed = list(samples), time.perf_counter() - t0
        stop.set()
    return Burst(len(counted), elapsed, counted)
