"""Plane requests per tool call on the stand-in: project details, the project list and a
card just read are not fetched again and again (Plane allows 60 requests a minute)."""

from __future__ import annotations

from typing import Any

import httpx

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import Timing
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.seed import seed_demo
from nodedc_gateway.application.pipeline import RateLimits
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import StateGroup
from tests.support import stand_in
from tests.support.fake_plane import API_KEY, FakePlane, PlaneSandbox
from tests.support.gateway import build_memory_gateway
from tests.support.plane_session import CACHED_READ_TARGET, SESSION_TARGET, realistic_session


async def test_a_realistic_session_stays_within_planes_request_budget() -> None:
    time = stand_in.FakeTime()
    plane = FakePlane(FixedClock())
    sandbox = PlaneSandbox(plane)
    demo = await seed_demo(sandbox)
    transport = stand_in.StandInTransport(plane.handle)
    async with httpx.AsyncClient(transport=transport) as client:
        port = PlaneTasker(
            base_url="https://plane.test",
            api_key=SecretStr(API_KEY),
            workspaces=sandbox.workspace_policies,
            client=client,
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        writes = RatePolicy("writes", 1000, 60, 1000)
        gateway = await build_memory_gateway(tasker=port, limits=RateLimits(writes=writes))
        alice = demo.alice.id
        agent_id = await gateway.create_agent(owner=alice)
        await gateway.grant(agent_id, owner=alice)
        token = await gateway.token(agent_id, owner=alice)

        async def call(tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
            return dict((await gateway.call(token, tool, arguments)).body)

        def think() -> None:
            time.now += 2.0  # an agent takes a moment between calls

        report = await realistic_session(
            call,
            lambda: len(transport.sent),
            workspace="demo",
            project="DEMO",
            member_email="bob@demo.local",
            label="bug",
            think=think,
        )
    print("\nPlane requests per tool call (stand-in):\n" + report.table())
    assert report.per_call <= SESSION_TARGET, report.table()
    assert max(report.of("get_project")[1:]) <= CACHED_READ_TARGET, report.table()
    assert max(report.of("list_projects")[1:]) <= CACHED_READ_TARGET, report.table()


async def test_states_labels_and_members_added_in_plane_are_seen_at_once() -> None:
    time = stand_in.FakeTime()
    plane = FakePlane(FixedClock())
    sandbox = PlaneSandbox(plane)
    demo = await seed_demo(sandbox)
    transport = stand_in.StandInTransport(plane.handle)
    async with httpx.AsyncClient(transport=transport) as client:
        port = PlaneTasker(
            base_url="https://plane.test",
            api_key=SecretStr(API_KEY),
            workspaces=sandbox.workspace_policies,
            client=client,
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        gateway = await build_memory_gateway(tasker=port)
        alice = demo.alice.id
        agent_id = await gateway.create_agent(owner=alice)
        await gateway.grant(agent_id, owner=alice)
        token = await gateway.token(agent_id, owner=alice)
        demo_project = {"workspace_slug": "demo", "project_id": "DEMO"}
        key = (await gateway.call(token, "create_issue", {**demo_project, "name": "Fresh"})).body[
            "issue"
        ]["identifier"]
        await gateway.call(token, "get_project", demo_project)  # details are cached now
        time.now += 2.0
        await sandbox.ensure_label(demo.project.id, "urgent-fix")
        await sandbox.ensure_state(demo.project.id, "Review", StateGroup.STARTED)
        dave = await sandbox.ensure_workspace_member("demo", "dave@demo.local", "Dave")
        await sandbox.ensure_project_member(demo.project.id, dave.id)
        on_card = {**demo_project, "issue": key}
        labelled = await gateway.call(token, "set_issue_labels", {**on_card, "add": ["urgent-fix"]})
        assert [lb["name"] for lb in labelled.body["issue"]["labels"]] == ["urgent-fix"]
        time.now += 2.0
        moved = await gateway.call(token, "move_issue", {**on_card, "state": "Review"})
        assert moved.body["issue"]["state"]["name"] == "Review"
        time.now += 2.0
        assigned = await gateway.call(
            token, "set_issue_assignees", {**on_card, "add": ["dave@demo.local"]}
        )
        assert [a["email"] for a in assigned.body["issue"]["assignees"]] == ["dave@demo.local"]
        time.now += 2.0
        found = await gateway.call(
            token, "search_issues", {**demo_project, "assignee": "dave@demo.local"}
        )
        assert [i["identifier"] for i in found.body["items"]] == [key]
