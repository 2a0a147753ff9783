"""How many Tasker calls a tool makes: with a real Tasker each one is an HTTP request (and
Plane allows 60 a minute), so a plain create must not read the project first."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import pytest

from nodedc_gateway.application.tools import build_tool
from nodedc_gateway.domain.errors import NotFound
from nodedc_gateway.ports.tasker import TaskerPort
from tests.support.gateway import MemoryGateway, build_memory_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}


class CountingTasker:
    """The gateway's Tasker, counting the calls each tool makes to it."""

    def __init__(self, inner: TaskerPort) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return await method(*args, **kwargs)

        return counted


async def _create(gw: MemoryGateway, tasker: CountingTasker, **arguments: Any) -> Counter[str]:
    _, token = await gw.agent_with_token(scopes=["issue:create", "issue:label", "issue:move"])
    tools = attrs.evolve(gw.tools, tasker=tasker)
    tasker.calls.clear()
    await gw.pipeline.run_agent(token, build_tool(tools, "create_issue", {**DEMO, **arguments}))
    return tasker.calls


async def test_a_plain_create_is_one_tasker_write() -> None:
    gw = await build_memory_gateway()
    tasker = CountingTasker(gw.tools.tasker)
    calls = await _create(gw, tasker, name="Plain")
    # The workspace's agents policy is asked on every call; DEMO is an identifier to resolve.
    assert calls == Counter({"workspace_policy": 1, "find_project": 1, "create_issue": 1})


async def test_names_to_resolve_read_the_project_once() -> None:
    gw = await build_memory_gateway()
    tasker = CountingTasker(gw.tools.tasker)
    calls = await _create(gw, tasker, name="Labelled", labels=["bug"], state="Todo")
    assert calls == Counter(
        {"workspace_policy": 1, "find_project": 1, "get_project": 1, "create_issue": 1}
    )


async def test_a_create_in_a_project_that_does_not_exist_is_not_found() -> None:
    gw = await build_memory_gateway()
    _, token = await gw.agent_with_token(scopes=["issue:create"], project=None)  # all of demo
    missing = {"workspace_slug": "demo", "project_id": "01900000-0000-7000-8000-00000000dead"}
    with pytest.raises(NotFound):
        await gw.call(token, "create_issue", {**missing, "name": "Nowhere"})
