"""The client of Tasker's internal adapter against the documented contract's stand-in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import BreakerPolicy, Timing
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.tasker import http as http_tasker
from nodedc_gateway.adapters.tasker.http import HttpTasker
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, seed_demo
from nodedc_gateway.domain.errors import (
    GatewayError,
    NotFound,
    TaskerUnavailable,
    ValidationFailed,
)
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import (
    Actor,
    Issue,
    IssueChanges,
    IssueDraft,
    IssueKey,
    IssueQuery,
    Label,
    Member,
    Priority,
    State,
    StateGroup,
)
from tests.support import stand_in
from tests.support.fake_tasker_adapter import TOKEN, FakeTaskerAdapter
from tests.support.fake_tasker_adapter import _issue as documented_issue_json

ACTOR = Actor(
    agent_id="01900000-0000-7000-8000-0000000000a1",
    owner_user_id="owner-7",
    display_name="Codex Agent: HTTP test",
    email="agent+01900000-0000-7000-8000-0000000000a1@agents.nodedc.local",
)
UUID = r"[0-9a-f-]{36}"
DOCUMENTED = [
    ("GET", r"health"),
    ("GET", r"workspaces/[a-z0-9_-]+/projects"),
    ("GET", rf"workspaces/[a-z0-9_-]+/projects/({UUID}|[A-Z][A-Z0-9]*)"),
    ("GET", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/details"),
    ("GET", r"workspaces/[a-z0-9_-]+/members"),
    ("GET", r"workspaces/[a-z0-9_-]+/policy"),
    ("GET", rf"workspaces/[a-z0-9_-]+/members/{UUID}/access"),
    ("GET", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/issues"),
    ("GET", rf"workspaces/[a-z0-9_-]+/issues/({UUID}|[A-Z][A-Z0-9]*-\d+)"),
    ("GET", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/issues/{UUID}/comments"),
    ("POST", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/issues"),
    ("PATCH", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/issues/{UUID}"),
    ("POST", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/issues/{UUID}/comments"),
    ("POST", rf"workspaces/[a-z0-9_-]+/projects/{UUID}/members"),
]


@attrs.define
class TaskerRig:
    memory: MemoryTasker
    adapter: FakeTaskerAdapter
    transport: stand_in.StandInTransport
    time: stand_in.FakeTime
    port: HttpTasker
    demo: DemoTasker

    @property
    def project_id(self) -> str:
        return self.demo.project.id


@asynccontextmanager
async def tasker_rig(breaker: BreakerPolicy | None = None) -> AsyncIterator[TaskerRig]:
    time = stand_in.FakeTime()
    memory = MemoryTasker(UUIDv7Generator(), FixedClock())
    demo = await seed_demo(memory)
    adapter = FakeTaskerAdapter(memory)
    transport = stand_in.StandInTransport(adapter.handle)
    async with httpx.AsyncClient(transport=transport) as client:
        port = HttpTasker(
            base_url="https://tasker.test/",
            token=SecretStr(TOKEN),
            client=client,
            breaker=breaker,
            timing=Timing(time.monotonic, time.sleep, time.random),
        )
        yield TaskerRig(memory, adapter, transport, time, port, demo)


@pytest.fixture
async def rig() -> AsyncIterator[TaskerRig]:
    async with tasker_rig() as built:
        yield built


async def exercise(rig: TaskerRig) -> None:
    """Every operation once."""
    port, pid = rig.port, rig.project_id
    await port.list_projects("demo")
    await port.find_project("demo", "DEMO")
    await port.get_project("demo", pid)
    await port.list_workspace_members("demo")
    await port.workspace_policy("demo")
    await port.user_has_access("demo", rig.demo.carol.id)
    issue = await port.create_issue("demo", pid, IssueDraft(name="x"), actor=ACTOR)
    await port.update_issue("demo", pid, issue.id, IssueChanges(name="y"), actor=ACTOR)
    await port.search_issues("demo", pid, IssueQuery(text="y"))
    await port.get_issue("demo", issue.id, pid)
    await port.get_issue("demo", IssueKey("DEMO", 1))
    await port.add_comment("demo", pid, issue.id, "<p>c</p>", actor=ACTOR)
    await port.list_comments("demo", pid, issue.id)
    await port.add_project_member("demo", pid, rig.demo.carol.id, actor=ACTOR)
    await port.check()


async def test_only_documented_endpoints_are_called_with_the_token(rig: TaskerRig) -> None:
    await exercise(rig)
    for sent in rig.transport.sent:
        assert sent.headers["authorization"] == f"Bearer {TOKEN}"
        assert sent.path.startswith("/internal/agent-gateway/v1/")
        rest = sent.path.removeprefix("/internal/agent-gateway/v1/")
        assert any(m == sent.method and re.fullmatch(p, rest) for m, p in DOCUMENTED), sent
    assert {s.method for s in rig.transport.sent} == {"GET", "POST", "PATCH"}


async def test_every_write_carries_the_actor(rig: TaskerRig) -> None:
    await exercise(rig)
    operations = [op for op, _ in rig.adapter.writes]
    assert operations == ["create_issue", "update_issue", "add_comment", "add_project_member"]
    for _, actor in rig.adapter.writes:
        assert actor == {
            "agent_id": ACTOR.agent_id,
            "owner_user_id": ACTOR.owner_user_id,
            "display_name": ACTOR.display_name,
            "email": ACTOR.email,
            "is_bot": True,
        }
    assert all(actor == ACTOR for _, actor in rig.memory.writes)


async def test_an_update_sends_only_what_changes_and_nulls_what_it_clears(rig: TaskerRig) -> None:
    issue = await rig.port.create_issue(
        "demo",
        rig.project_id,
        IssueDraft(name="x", target_date=date(2026, 12, 24)),
        actor=ACTOR,
    )
    await rig.port.update_issue(
        "demo",
        rig.project_id,
        issue.id,
        IssueChanges(priority=Priority.HIGH, target_date=None),
        actor=ACTOR,
    )
    patch = next(s for s in rig.transport.sent if s.method == "PATCH")
    assert patch.body["changes"] == {"priority": "high", "target_date": None}


async def test_a_keyed_create_whose_answer_was_lost_is_made_once(rig: TaskerRig) -> None:
    rig.transport.faults.add(stand_in.DROP_AFTER, method="POST")
    issue = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="once"), actor=ACTOR, external_id="ndc-k1"
    )
    assert [i.id for i in rig.memory.snapshot().values()] == [issue.id]
    posts = [s for s in rig.transport.sent if s.method == "POST"]
    assert [p.body["external_id"] for p in posts] == ["ndc-k1", "ndc-k1"]


async def test_an_unkeyed_write_is_sent_once_whatever_happens(rig: TaskerRig) -> None:
    rig.transport.faults.add(stand_in.TIMEOUT_AFTER, method="POST")
    with pytest.raises(TaskerUnavailable):
        await rig.port.create_issue("demo", rig.project_id, IssueDraft(name="x"), actor=ACTOR)
    assert len([s for s in rig.transport.sent if s.method == "POST"]) == 1


async def test_validation_problems_come_back_with_their_fields_and_choices(rig: TaskerRig) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await rig.port.create_issue(
            "demo",
            rig.project_id,
            IssueDraft(name="x", label_ids=("01900000-0000-7000-8000-00000000beef",)),
            actor=ACTOR,
        )
    payload = raised.value.as_payload()
    assert payload["errors"][0]["field"] == "labels"
    assert payload["valid_choices"] == ["bug", "docs", "feature"]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (stand_in.status(401), TaskerUnavailable),
        (stand_in.status(403), NotFound),
        (stand_in.status(404), NotFound),
        (stand_in.status(422), ValidationFailed),
        (stand_in.status(418), TaskerUnavailable),
    ],
)
async def test_refusals_map_to_the_contracts_errors(
    rig: TaskerRig, fault: stand_in.Fault, error: type[GatewayError]
) -> None:
    rig.transport.faults.add(fault)
    with pytest.raises(error):
        await rig.port.list_projects("demo")


async def test_reads_are_retried_and_a_dead_tasker_is_refused_fast() -> None:
    async with tasker_rig(BreakerPolicy(failure_threshold=3, open_for_s=30)) as rig:
        rig.transport.faults.add(stand_in.status(503))
        assert len(await rig.port.list_projects("demo")) == 1
        rig.transport.up = False
        with pytest.raises(TaskerUnavailable):
            await rig.port.get_project("demo", rig.project_id)
        sent = len(rig.transport.sent)
        with pytest.raises(TaskerUnavailable):
            await rig.port.get_project("demo", rig.project_id)
        assert len(rig.transport.sent) == sent


async def test_ids_that_cannot_exist_are_answered_without_asking(rig: TaskerRig) -> None:
    with pytest.raises(NotFound):
        await rig.port.get_project("demo", "not-a-uuid")
    with pytest.raises(NotFound):
        await rig.port.find_project("Bad Slug!", "DEMO")
    with pytest.raises(NotFound):
        await rig.port.add_project_member("demo", rig.project_id, "someone", actor=ACTOR)
    assert not await rig.port.user_has_access("demo", "owner-1")
    assert rig.transport.sent == []


@pytest.mark.parametrize(
    "body",
    [
        {"id": "x"},
        {"items": "not a list"},
        [],
        {**{"id": "p"}, "workspace_slug": "demo", "identifier": "DEMO"},  # no name
    ],
)
async def test_an_answer_of_the_wrong_shape_is_unavailability(rig: TaskerRig, body: object) -> None:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    rig.transport._handler = answer
    with pytest.raises(TaskerUnavailable):
        await rig.port.find_project("demo", "DEMO")
    with pytest.raises(TaskerUnavailable):
        await rig.port.list_projects("demo")


async def test_the_token_never_shows(rig: TaskerRig) -> None:
    assert TOKEN not in repr(rig.port)
    rig.transport.faults.add(stand_in.status(401))
    with pytest.raises(TaskerUnavailable) as raised:
        await rig.port.check()
    assert TOKEN not in str(raised.value.as_payload())


# --- the wire shape of an issue ---------------------------------------------------------------

ids = st.sampled_from(
    ["01900000-0000-7000-8000-000000000001", "01900000-0000-7000-8000-0000000000ff"]
)
texts = st.sampled_from(["", "x", "ünï «cødé» ✓", '<p class="a">"q" &amp;</p>', " padded "])
moments = st.integers(min_value=946_684_800, max_value=4_102_444_800).map(
    lambda s: datetime.fromtimestamp(s, UTC)
)
days = st.none() | st.integers(min_value=730_000, max_value=750_000).map(date.fromordinal)
issues = st.builds(
    Issue,
    id=ids,
    workspace_slug=st.sampled_from(["demo", "other", "a_b-1"]),
    project_id=ids,
    identifier=st.integers(min_value=1, max_value=10**6).map(lambda n: f"DEMO-{n}"),
    name=texts,
    description_html=texts,
    priority=st.sampled_from(Priority),
    state=st.builds(State, ids, texts, st.sampled_from(StateGroup)),
    labels=st.lists(st.builds(Label, ids, texts), max_size=2).map(tuple),
    assignees=st.lists(st.builds(Member, ids, texts, texts), max_size=2).map(tuple),
    parent_id=st.none() | ids,
    start_date=days,
    target_date=days,
    created_at=moments,
    updated_at=moments,
)


@given(issue=issues)
def test_an_issue_in_the_documented_json_reads_back_as_itself(issue: Issue) -> None:
    assert http_tasker._read(documented_issue_json(issue), Issue) == issue


def test_a_timestamp_without_an_offset_is_refused() -> None:
    issue_json = documented_issue_json(
        Issue(
            "i",
            "demo",
            "p",
            "DEMO-1",
            "n",
            "",
            Priority.NONE,
            State("s", "S", StateGroup.BACKLOG),
            (),
            (),
            None,
            None,
            None,
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
        )
    )
    issue_json["created_at"] = "2026-01-01T00:00:00"
    with pytest.raises(TaskerUnavailable):
        http_tasker._read(issue_json, Issue)
