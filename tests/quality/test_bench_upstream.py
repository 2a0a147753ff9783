"""The benchmark's in-memory Tasker (`bench/upstream.py`, part 5) answers the gateway's own
client as `docs/tasker-adapter.md` says, for every request it serves, and times them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from bench import upstream

from nodedc_gateway.adapters.tasker.http import HttpTasker
from nodedc_gateway.domain.errors import NotFound, TaskerUnavailable, ValidationFailed
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import Actor, IssueDraft, Priority

TOKEN = "upstream-test-token-0123456789abcdef"
BASE = "http://upstream.test"
ACTOR = Actor(
    agent_id="01900000-0000-7000-8000-0000000000a1",
    owner_user_id=upstream.OWNER_ID,
    display_name="Codex Agent: bench",
    email="agent+01900000-0000-7000-8000-0000000000a1@agents.nodedc.local",
)


@pytest.fixture
async def served() -> AsyncIterator[tuple[upstream.Upstream, httpx.AsyncClient]]:
    app = upstream.Upstream(TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as client:
        yield app, client


def tasker(client: httpx.AsyncClient, token: str = TOKEN) -> HttpTasker:
    return HttpTasker(base_url=BASE, token=SecretStr(token), client=client)


async def test_the_bench_upstream_serves_what_a_grant_and_a_create_ask(
    served: tuple[upstream.Upstream, httpx.AsyncClient],
) -> None:
    app, client = served
    port = tasker(client)
    await port.check()
    assert (await port.workspace_policy(upstream.WORKSPACE)).agents_allowed
    assert await port.user_has_access(upstream.WORKSPACE, upstream.OWNER_ID)
    assert not await port.user_has_access(upstream.WORKSPACE, ACTOR.agent_id)
    project = await port.find_project(upstream.WORKSPACE, upstream.PROJECT_IDENTIFIER)
    assert project.id == upstream.PROJECT_ID
    details = await port.get_project(upstream.WORKSPACE, project.id)
    assert [m.id for m in details.members] == [upstream.OWNER_ID]
    assert details.states[0].name == "Backlog"

    draft = IssueDraft(name="A card", priority=Priority.HIGH)
    first = await port.create_issue(
        upstream.WORKSPACE, project.id, draft, actor=ACTOR, external_id="ndc-" + "a" * 40
    )
    assert (first.identifier, first.name, first.state.name) == ("DEMO-1", "A card", "Backlog")
    again = await port.create_issue(
        upstream.WORKSPACE, project.id, draft, actor=ACTOR, external_id="ndc-" + "a" * 40
    )
    assert again == first  # the known external_id finds the first write
    other = await port.create_issue(upstream.WORKSPACE, project.id, draft, actor=ACTOR)
    assert other.identifier == "DEMO-2"
    assert app.store.authors[first.id]["agent_id"] == ACTOR.agent_id

    timings = (await client.post(upstream.TIMINGS_PATH)).json()
    assert {op: len(times) for op, times in timings.items()} == {
        "check": 1,
        "workspace_policy": 1,
        "user_has_access": 2,
        "find_project": 1,
        "get_project": 1,
        "create_issue": 3,
    }
    assert (await client.post(upstream.TIMINGS_PATH)).json() == {}  # handed over, forgotten


async def test_the_bench_upstream_refuses_as_documented(
    served: tuple[upstream.Upstream, httpx.AsyncClient],
) -> None:
    _, client = served
    port = tasker(client)
    with pytest.raises(NotFound):
        await port.workspace_policy("elsewhere")
    with pytest.raises(NotFound):
        await port.get_project(upstream.WORKSPACE, upstream.OWNER_ID)
    with pytest.raises(ValidationFailed):
        await port.create_issue(
            upstream.WORKSPACE,
            upstream.PROJECT_ID,
            IssueDraft(name="A card", state_id=upstream.OWNER_ID),
            actor=ACTOR,
        )
    with pytest.raises(NotFound):  # not served here: as a path it does not know
        await port.list_projects(upstream.WORKSPACE)
    with pytest.raises(TaskerUnavailable):
        await tasker(client, token="wrong-token-0123456789abcdef0123").check()
    body = {"actor": {}, "issue": {"name": "x"}, "created_by": "someone"}
    path = f"{upstream.PREFIX}workspaces/demo/projects/{upstream.PROJECT_ID}/issues"
    answer = await client.post(path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "validation_failed"
