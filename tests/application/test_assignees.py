"""Adding and removing assignees through the gateway, on every Tasker backend: an assignee
who is also a project member (the normal case) can be removed again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.contracts.tasker_backends import BACKENDS, TaskerUnderTest
from tests.support.gateway import build_memory_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}


@pytest.fixture(params=["memory", "sandbox-sqlite", "plane"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[TaskerUnderTest]:
    async with BACKENDS[request.param]() as under_test:
        yield under_test


async def test_an_assignee_is_added_then_removed_by_email_or_id(backend: TaskerUnderTest) -> None:
    gateway = await build_memory_gateway(tasker=backend.port)
    alice = backend.demo.alice.id  # the owner, as this Tasker knows her
    agent_id = await gateway.create_agent(owner=alice)
    await gateway.grant(agent_id, owner=alice)
    token = await gateway.token(agent_id, owner=alice)
    created = await gateway.call(token, "create_issue", {**DEMO, "name": "Shared work"})
    key = created.body["issue"]["identifier"]

    def emails(outcome: object) -> list[str]:
        return [a["email"] for a in outcome.body["issue"]["assignees"]]  # type: ignore[attr-defined]

    both = await gateway.call(
        token,
        "set_issue_assignees",
        {**DEMO, "issue": key, "add": ["bob@demo.local", "alice@demo.local"]},
    )
    assert sorted(emails(both)) == ["alice@demo.local", "bob@demo.local"]
    bob_gone = await gateway.call(
        token, "set_issue_assignees", {**DEMO, "issue": key, "remove": ["BOB@demo.local"]}
    )
    assert emails(bob_gone) == ["alice@demo.local"]
    nobody = await gateway.call(
        token, "set_issue_assignees", {**DEMO, "issue": key, "remove": [alice]}
    )
    assert emails(nobody) == []
    read = await gateway.call(token, "get_issue", {"workspace_slug": "demo", "issue": key})
    assert read.body["issue"]["assignees"] == []
