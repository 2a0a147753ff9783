"""Acceptance (issue 6): whatever the gateway asks of Tasker, nothing human-only leaves it.

Hypothesis drives both HTTP Tasker adapters (Plane and Tasker's internal adapter) with
random sequences of every `TaskerPort` operation and random valid (and hostile) arguments,
against their stand-ins, and inspects every request as it left the adapter: never a
DELETE, never an archive, invitation or settings path, never a forbidden field at any
depth, only the routes and query parameters each backend is meant to receive, and project
members only ever added as members.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import Timing
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.tasker.http import HttpTasker
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, seed_demo
from nodedc_gateway.domain.errors import GatewayError
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import (
    Actor,
    IssueChanges,
    IssueDraft,
    IssueKey,
    IssueQuery,
    Priority,
    StateGroup,
)
from nodedc_gateway.ports.tasker import TaskerPort
from tests.support import stand_in
from tests.support.fake_plane import API_KEY, FakePlane, PlaneSandbox
from tests.support.fake_tasker_adapter import TOKEN, FakeTaskerAdapter

# Written out here, independently of the adapters' own allow-lists.
FORBIDDEN_KEYS = {
    "archived_at",
    "archive",
    "is_archived",
    "deleted_at",
    "is_deleted",
    "is_draft",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "owned_by",
    "invite",
    "invitations",
    "emails",
    "settings",
}
FORBIDDEN_PATH_WORDS = ("archive", "invit", "setting", "delete", "attachment", "asset", "bulk")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
SLUG = r"[a-z0-9][a-z0-9_-]*"

PLANE_ROUTES = {
    ("GET", r"users/me/"),
    ("GET", rf"workspaces/{SLUG}/projects/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/states/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/labels/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/members/"),
    ("POST", rf"workspaces/{SLUG}/projects/{UUID}/members/"),
    ("GET", rf"workspaces/{SLUG}/members/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/work-items/"),
    ("POST", rf"workspaces/{SLUG}/projects/{UUID}/work-items/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/work-items/{UUID}/"),
    ("PATCH", rf"workspaces/{SLUG}/projects/{UUID}/work-items/{UUID}/"),
    ("GET", rf"workspaces/{SLUG}/work-items/[A-Z][A-Z0-9]*-[0-9]+/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/work-items/{UUID}/comments/"),
    ("POST", rf"workspaces/{SLUG}/projects/{UUID}/work-items/{UUID}/comments/"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/work-items/{UUID}/comments/{UUID}/"),
}
PLANE_BODIES = {
    "work-items/": {
        "name",
        "description_html",
        "priority",
        "state",
        "labels",
        "assignees",
        "start_date",
        "target_date",
        "parent",
        "external_id",
        "external_source",
    },
    "comments/": {"comment_html", "external_id", "external_source"},
    "members/": {"member", "role"},
}
PLANE_QUERY = {"per_page", "cursor", "order_by", "expand"}
TASKER_ROUTES = {
    ("GET", "health"),
    ("GET", rf"workspaces/{SLUG}/projects"),
    ("GET", rf"workspaces/{SLUG}/projects/({UUID}|[A-Z][A-Z0-9]*)"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/details"),
    ("GET", rf"workspaces/{SLUG}/members"),
    ("GET", rf"workspaces/{SLUG}/policy"),
    ("GET", rf"workspaces/{SLUG}/members/{UUID}/access"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/issues"),
    ("POST", rf"workspaces/{SLUG}/projects/{UUID}/issues"),
    ("PATCH", rf"workspaces/{SLUG}/projects/{UUID}/issues/{UUID}"),
    ("GET", rf"workspaces/{SLUG}/issues/({UUID}|[A-Z][A-Z0-9]*-[0-9]+)"),
    ("GET", rf"workspaces/{SLUG}/projects/{UUID}/issues/{UUID}/comments"),
    ("POST", rf"workspaces/{SLUG}/projects/{UUID}/issues/{UUID}/comments"),
    ("POST", rf"workspaces/{SLUG}/projects/{UUID}/members"),
}
TASKER_QUERY = {"limit", "cursor", "query", "state_group", "assignee_id", "label_id", "project_id"}
ACTOR_KEYS = {"agent_id", "owner_user_id", "display_name", "email", "is_bot"}
ISSUE_KEYS = {
    "name",
    "description_html",
    "priority",
    "state_id",
    "label_ids",
    "assignee_ids",
    "start_date",
    "target_date",
    "parent_id",
}
TASKER_BODIES = {
    "POST issues": {"actor", "external_id", "issue"},
    "PATCH issues": {"actor", "changes"},
    "POST comments": {"actor", "external_id", "body_html"},
    "POST members": {"actor", "user_id"},
}


def test_the_expected_routes_are_themselves_harmless() -> None:
    for method, pattern in PLANE_ROUTES | TASKER_ROUTES:
        assert method in {"GET", "POST", "PATCH"}
        literal = pattern.replace(UUID, "").replace(SLUG, "").lower()
        assert not any(word in literal for word in FORBIDDEN_PATH_WORDS)


# --- a world per example ----------------------------------------------------------------------


@attrs.define
class World:
    backend: str
    port: TaskerPort
    demo: DemoTasker
    transport: stand_in.StandInTransport
    own_user_id: str  # the backend's technical user, which no agent may assign or add
    issue_id: str | None = None


@asynccontextmanager
async def world(backend: str, faults: stand_in.FaultPlan | None) -> AsyncIterator[World]:
    time = stand_in.FakeTime()
    timing = Timing(time.monotonic, time.sleep, time.random)
    if backend == "plane":
        plane = FakePlane(FixedClock())
        sandbox = PlaneSandbox(plane)
        demo = await seed_demo(sandbox)
        transport = stand_in.StandInTransport(plane.handle, faults)
        async with httpx.AsyncClient(transport=transport) as client:
            port: TaskerPort = PlaneTasker(
                base_url="https://plane.test",
                api_key=SecretStr(API_KEY),
                workspaces=sandbox.workspace_policies,
                client=client,
                timing=timing,
            )
            yield World(backend, port, demo, transport, plane.bot["id"])
        return
    memory = MemoryTasker(UUIDv7Generator(), FixedClock())
    demo = await seed_demo(memory)
    transport = stand_in.StandInTransport(FakeTaskerAdapter(memory).handle, faults)
    async with httpx.AsyncClient(transport=transport) as client:
        port = HttpTasker(
            base_url="https://tasker.test", token=SecretStr(TOKEN), client=client, timing=timing
        )
        yield World(backend, port, demo, transport, "01900000-0000-7000-8000-0000000000b0")


# --- what the gateway can ask ------------------------------------------------------------------

hostile_text = st.sampled_from(
    [
        "archived_at",
        '{"archived_at": "2026-01-01", "is_draft": true}',
        "../settings/",
        "DELETE",
        "<p>hi</p>",
        "DEMO-1",
        "",
    ]
)
text = st.text(max_size=12) | hostile_text
# Mostly valid references (so writes get past every check and really leave), sometimes
# ones that exist nowhere or elsewhere (so refusals are exercised too).
DEAD = "01900000-0000-7000-8000-00000000dead"
ids = st.sampled_from([DEAD, "01900000-0000-7000-8000-00000000beef"]) | st.uuids().map(str)
member = st.sampled_from(["alice", "bob", "alice", "bob", "carol", "bot", DEAD])
state = st.sampled_from([0, 1, 2, 3, 4, DEAD])
label = st.sampled_from([0, 1, 2, 0, 1, 2, DEAD])
dates = st.none() | st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
workspace = st.sampled_from(["demo"] * 6 + ["other", "nowhere"])
project = st.sampled_from(["demo"] * 6 + ["other", DEAD])
issue = st.sampled_from(["made"] * 5 + ["key", "other-key", DEAD])
external = st.none() | st.sampled_from(["ndc-k1", "ndc-k2"]) | st.text(min_size=1, max_size=12)

calls = st.one_of(
    st.tuples(st.just("list_projects"), workspace),
    st.tuples(st.just("find_project"), workspace, st.sampled_from(["DEMO", "OTH", "X"]) | ids),
    st.tuples(st.just("get_project"), workspace, project),
    st.tuples(st.just("list_workspace_members"), workspace),
    st.tuples(st.just("workspace_policy"), workspace),
    st.tuples(st.just("user_has_access"), workspace, member | ids | st.text(max_size=10)),
    st.tuples(
        st.just("search_issues"),
        workspace,
        project,
        st.none() | text,
        st.none() | st.sampled_from(StateGroup),
        st.none() | member,
        st.none() | label,
        st.integers(min_value=1, max_value=100),
        st.none() | st.sampled_from(["2", "0", "x"]),
    ),
    st.tuples(st.just("get_issue"), workspace, issue, st.none() | project),
    st.tuples(st.just("list_comments"), workspace, project, issue),
    st.tuples(
        st.just("create_issue"),
        workspace,
        project,
        text,
        text,
        st.sampled_from(Priority),
        st.none() | state,
        st.lists(label, max_size=3),
        st.lists(member, max_size=3),
        dates,
        dates,
        st.none() | issue,
        external,
    ),
    st.tuples(
        st.just("update_issue"),
        workspace,
        project,
        issue,
        st.fixed_dictionaries(
            {},
            optional={
                "name": text,
                "description_html": text,
                "priority": st.sampled_from(Priority),
                "state_id": state,
                "label_ids": st.lists(label, max_size=3),
                "assignee_ids": st.lists(member, max_size=3),
                "start_date": dates,
                "target_date": dates,
                "parent_id": st.none() | issue,
            },
        ),
    ),
    st.tuples(st.just("add_comment"), workspace, project, issue, text, external),
    st.tuples(
        st.just("add_project_member"),
        workspace,
        project,
        st.sampled_from(["carol", "carol", "carol", "alice", "bot", DEAD]),
    ),
    st.tuples(st.just("check")),
)
ACTOR = Actor(
    agent_id="01900000-0000-7000-8000-0000000000a1",
    owner_user_id="owner-1",
    display_name="Codex Agent: Property",
    email="agent+01900000-0000-7000-8000-0000000000a1@agents.nodedc.local",
)


def resolve(w: World, kind: str, value: Any) -> Any:
    """A symbolic argument as the id it stands for in this world."""
    demo = w.demo
    if kind == "member":
        people = {
            "alice": demo.alice.id,
            "bob": demo.bob.id,
            "carol": demo.carol.id,
            "bot": w.own_user_id,
        }
        return people.get(value, value)
    if kind == "state":
        return demo.states[value].id if isinstance(value, int) else value
    if kind == "label":
        return demo.labels[value].id if isinstance(value, int) else value
    if kind == "project":
        return {"demo": demo.project.id, "other": demo.other_project.id}.get(value, value)
    if kind == "issue":
        if value == "made":
            return w.issue_id or "01900000-0000-7000-8000-00000000dead"
        if value == "key":
            return IssueKey("DEMO", 1)
        if value == "other-key":
            return IssueKey("OTH", 1)
        return value
    raise AssertionError(kind)


def issue_id(w: World, value: Any) -> str:
    ref = resolve(w, "issue", value)
    return ref if isinstance(ref, str) else (w.issue_id or "01900000-0000-7000-8000-00000000dead")


async def perform(w: World, call: tuple[Any, ...]) -> None:  # noqa: PLR0912 - one per operation
    name, *args = call
    port = w.port
    r = resolve
    match name:
        case "list_projects" | "list_workspace_members" | "workspace_policy":
            await getattr(port, name)(args[0])
        case "find_project":
            await port.find_project(*args)
        case "get_project":
            await port.get_project(args[0], r(w, "project", args[1]))
        case "user_has_access":
            await port.user_has_access(args[0], r(w, "member", args[1]))
        case "search_issues":
            ws, proj, query, group, assignee, lab, limit, cursor = args
            await port.search_issues(
                ws,
                r(w, "project", proj),
                IssueQuery(
                    text=query,
                    state_group=group,
                    assignee_id=None if assignee is None else r(w, "member", assignee),
                    label_id=None if lab is None else r(w, "label", lab),
                    limit=limit,
                    cursor=cursor,
                ),
            )
        case "get_issue":
            ws, ref, proj = args
            await port.get_issue(
                ws, r(w, "issue", ref), None if proj is None else r(w, "project", proj)
            )
        case "list_comments":
            ws, proj, ref = args
            await port.list_comments(ws, r(w, "project", proj), issue_id(w, ref))
        case "create_issue":
            ws, proj, name_, body, prio, st_, labs, people, start, target, parent, ext = args
            draft = IssueDraft(
                name=name_,
                description_html=body,
                priority=prio,
                state_id=None if st_ is None else r(w, "state", st_),
                label_ids=tuple(r(w, "label", x) for x in labs),
                assignee_ids=tuple(r(w, "member", x) for x in people),
                start_date=start,
                target_date=target,
                parent_id=None if parent is None else issue_id(w, parent),
            )
            made = await port.create_issue(
                ws, r(w, "project", proj), draft, actor=ACTOR, external_id=ext
            )
            w.issue_id = made.id
        case "update_issue":
            ws, proj, ref, fields = args
            changes: dict[str, Any] = dict(fields)
            if "state_id" in changes:
                changes["state_id"] = r(w, "state", changes["state_id"])
            if "label_ids" in changes:
                changes["label_ids"] = tuple(r(w, "label", x) for x in changes["label_ids"])
            if "assignee_ids" in changes:
                changes["assignee_ids"] = tuple(r(w, "member", x) for x in changes["assignee_ids"])
            if changes.get("parent_id") is not None:
                changes["parent_id"] = issue_id(w, changes["parent_id"])
            await port.update_issue(
                ws,
                r(w, "project", proj),
                issue_id(w, ref),
                IssueChanges(**changes),
                actor=ACTOR,
            )
        case "add_comment":
            ws, proj, ref, body, ext = args
            await port.add_comment(
                ws, r(w, "project", proj), issue_id(w, ref), body, actor=ACTOR, external_id=ext
            )
        case "add_project_member":
            ws, proj, who = args
            await port.add_project_member(
                ws, r(w, "project", proj), r(w, "member", who), actor=ACTOR
            )
        case "check":
            await port.check()


def keys(value: Any) -> Iterator[str]:
    """Every key of every object in a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


def check_request(backend: str, sent: stand_in.Sent) -> None:
    assert sent.method in {"GET", "POST", "PATCH"}, sent
    assert sent.method != "DELETE"
    lowered = sent.path.lower()
    if backend == "plane":
        rest = sent.path.removeprefix("/api/v1/")
        routes, allowed_query = PLANE_ROUTES, PLANE_QUERY
    else:
        rest = sent.path.removeprefix("/internal/agent-gateway/v1/")
        routes, allowed_query = TASKER_ROUTES, TASKER_QUERY
    assert any(m == sent.method and re.fullmatch(p, rest) for m, p in routes), sent
    for word in FORBIDDEN_PATH_WORDS:
        assert not re.search(rf"/[^/]*{word}[^/]*/", "/" + re.sub(UUID, "", lowered)), sent
    assert set(sent.query) <= allowed_query, sent
    assert not FORBIDDEN_KEYS & set(keys(sent.body)), sent
    if sent.method == "GET":
        assert sent.body is None
        return
    assert isinstance(sent.body, dict)
    if backend == "plane":
        endpoint = (
            "work-items/"
            if sent.method == "PATCH"
            else next(k for k in PLANE_BODIES if sent.path.endswith(k))
        )
        assert set(sent.body) <= PLANE_BODIES[endpoint], sent
        if endpoint == "members/":
            assert sent.body["role"] == 15
        return
    endpoint = f"{sent.method} {sent.path.rstrip('/').rsplit('/', 1)[-1]}"
    if endpoint.startswith("PATCH"):
        endpoint = "PATCH issues"
    assert set(sent.body) <= TASKER_BODIES[endpoint], sent
    assert set(sent.body["actor"]) == ACTOR_KEYS
    assert sent.body["actor"]["is_bot"] is True
    for part in ("issue", "changes"):
        if part in sent.body:
            assert set(sent.body[part]) <= ISSUE_KEYS


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as run:
        yield run


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    backend=st.sampled_from(["plane", "tasker-http"]),
    sequence=st.lists(calls, min_size=1, max_size=3),
    setup=st.sampled_from([True, True, True, False]),
    flaky=st.booleans(),
)
def test_no_request_is_human_only_or_carries_a_forbidden_field(
    runner: asyncio.Runner,
    backend: str,
    sequence: list[tuple[Any, ...]],
    setup: bool,
    flaky: bool,
) -> None:
    faults = (
        stand_in.EveryNth(2, [stand_in.DROP_AFTER, stand_in.status(503), stand_in.throttle(1)])
        if flaky
        else None
    )

    async def scenario() -> list[stand_in.Sent]:
        async with world(backend, faults) as w:
            if setup:
                made = await w.port.create_issue(
                    "demo", w.demo.project.id, IssueDraft(name="seed"), actor=ACTOR
                )
                w.issue_id = made.id
            for call in sequence:
                # refusals (not found, invalid, unavailable) are outcomes too
                with contextlib.suppress(GatewayError):
                    await perform(w, call)
            return w.transport.sent

    for request in runner.run(scenario()):
        check_request(backend, request)
        if request.method != "GET":
            shape = re.sub(UUID, "{id}", request.path).rsplit("/{id}", 1)[-1] or "/{id}"
            event(f"{backend}: {request.method} …{shape}")
