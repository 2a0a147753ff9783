"""The client side: the official `mcp` client over Streamable HTTP, calling `create_issue`
the way Codex would (a fresh idempotency key per write), one call at a time for latency
and from several clients at once for throughput."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

_serial = itertools.count()


@attrs.frozen
class Target:
    """A server and how to call it: URL, bearer token (None for the bare server) and the
    project to write into."""

    url: str
    token: str | None
    workspace_slug: str
    project_id: str
    keyed: bool = True  # send an idempotency key, as Codex is told to on every write


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
    n = next(_serial)
    call = {
        "workspace_slug": target.workspace_slug,
        "project_id": target.project_id,
        "name": f"Benchmark card {n}",
    }
    if target.keyed:
        call["idempotency_key"] = f"bench-{n}-{secrets.token_hex(8)}"
    return call


async def create_issue(session: Client, target: Target) -> None:
    result = await session.call_tool("create_issue", arguments(target))
    if result.is_error:
        raise CallFailed(str(result.structured_content or result.content))


async def sequential(
    target: Target, calls: int, warmup: int = 20, on_warm: Callable[[], None] | None = None
) -> list[float]:
    """Seconds per call, one call in flight at a time, after `warmup` untimed calls
    (then `on_warm` is called)."""
    samples = []
    async with client(target) as session:
        for _ in range(warmup):
            await create_issue(session, target)
        if on_warm is not None:
            on_warm()
        for _ in range(calls):
            t0 = time.perf_counter()
            await create_issue(session, target)
            samples.append(time.perf_counter() - t0)
    return samples


async def concurrent(targets: list[Target], duration_s: float) -> float:
    """Calls per second with one client per target (each its own agent) calling
    back-to-back for `duration_s`, counted once every client is connected and warm."""
    done = 0
    ready = asyncio.Barrier(len(targets) + 1)
    stop = asyncio.Event()

    async def worker(target: Target) -> None:
        nonlocal done
        async with client(target) as session:
            for _ in range(5):
                await create_issue(session, target)
            await ready.wait()
            while not stop.is_set():
                await create_issue(session, target)
                done += 1

    async with asyncio.TaskGroup() as group:
        for target in targets:
            group.create_task(worker(target))
        await ready.wait()
        t0 = time.perf_counter()
        await asyncio.sleep(duration_s)
        counted, elapsed = done, time.perf_counter() - t0
        stop.set()
    return counted / elapsed
