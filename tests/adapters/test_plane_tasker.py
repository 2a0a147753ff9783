"""The Plane adapter against Plane's v1 API stand-in: what it sends, and what it survives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import httpx
import pytest

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import BreakerPolicy, RetryPolicy, Timing
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, seed_demo
from nodedc_gateway.domain.errors import (
    GatewayError,
    NotFound,
    TaskerUnavailable,
    ValidationFailed,
)
from nodedc_gateway.domain.idempotency import agent_scope, external_id
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import Actor, IssueChanges, IssueDraft, IssueKey, IssueQuery
from tests.support import stand_in
from tests.support.fake_plane import API_KEY, FakePlane, PlaneSandbox

ACTOR = Actor(
    agent_id="01900000-0000-7000-8000-0000000000a1",
    owner_user_id="01900000-0000-7000-8000-0000000000b1",
    display_name="Codex Agent: Plane test",
    email="agent+01900000-0000-7000-8000-0000000000a1@agents.nodedc.local",
)
KEY = external_id(agent_scope(ACTOR.agent_id), "create-once")


@attrs.define
class PlaneRig:
    plane: FakePlane
    sandbox: PlaneSandbox
    transport: stand_in.StandInTransport
    time: stand_in.FakeTime
    port: PlaneTasker
    demo: DemoTasker

    @property
    def project_id(self) -> str:
        return self.demo.project.id

    def sent(self, method: str, path_part: str = "") -> list[stand_in.Sent]:
        return [s for s in self.transport.sent if s.method == method and path_part in s.path]

    def cards(self, name: str) -> list[dict[str, Any]]:
        return [i for i in self.plane.issues.values() if i["name"] == name]


@asynccontextmanager
async def plane_rig(
    *,
    page_size: int = 2,
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    rate_limit: int | None = None,
    base_url: str = "https://plane.test",
    transport: httpx.AsyncBaseTransport | None = None,
    request_timeout: httpx.Timeout | None = None,
) -> AsyncIterator[PlaneRig]:
    time = stand_in.FakeTime()
    plane = FakePlane(FixedClock(), monotonic=time.monotonic, rate_limit_per_minute=rate_limit)
    sandbox = PlaneSandbox(plane)
    demo = await seed_demo(sandbox)
    stand = stand_in.StandInTransport(plane.handle)
    async with httpx.AsyncClient(transport=transport or stand) as client:
        port = PlaneTasker(
            base_url=base_url,
            api_key=SecretStr(API_KEY),
            workspaces=sandbox.workspace_policies,
            client=client,
            page_size=page_size,
            retry=retry,
            breaker=breaker,
            timing=Timing(time.monotonic, time.sleep, time.random),
            **({"timeout": request_timeout} if request_timeout else {}),
        )
        yield PlaneRig(plane, sandbox, stand, time, port, demo)


@pytest.fixture
async def rig() -> AsyncIterator[PlaneRig]:
    async with plane_rig() as built:
        yield built


# --- Plane's API as it is -----------------------------------------------------------------


async def test_every_request_is_v1_with_the_key_and_a_trailing_slash(rig: PlaneRig) -> None:
    issue = await rig.port.create_issue("demo", rig.project_id, IssueDraft(name="x"), actor=ACTOR)
    await rig.port.get_issue("demo", IssueKey("DEMO", 1))
    await rig.port.add_comment("demo", rig.project_id, issue.id, "<p>c</p>", actor=ACTOR)
    await rig.port.list_workspace_members("demo")
    assert rig.transport.sent
    for sent in rig.transport.sent:
        assert sent.path.startswith("/api/v1/")
        assert sent.path.endswith("/")
        assert sent.headers["x-api-key"] == API_KEY


async def test_lists_follow_next_cursor_over_several_pages(rig: PlaneRig) -> None:
    details = await rig.port.get_project("demo", rig.project_id)
    assert len(details.states) == 5
    cursors = [s.query.get("cursor") for s in rig.sent("GET", "/states/")]
    assert cursors == [None, "2:1:0", "2:2:0"]
    assert {s.query["per_page"] for s in rig.sent("GET", "/states/")} == {"2"}


async def test_search_reads_only_as_many_pages_as_it_needs(rig: PlaneRig) -> None:
    for n in range(9):
        rig.plane.clock.advance(seconds=1)
        await rig.port.create_issue(
            "demo", rig.project_id, IssueDraft(name=f"Task {n}"), actor=ACTOR
        )
    before = len(rig.sent("GET", "/work-items/"))
    page = await rig.port.search_issues("demo", rig.project_id, IssueQuery(limit=2))
    assert [i.name for i in page.items] == ["Task 8", "Task 7"]
    assert page.next_cursor == "2"
    assert len(rig.sent("GET", "/work-items/")) - before == 2  # 3 results known: stop


async def test_an_issue_is_fetched_by_its_key(rig: PlaneRig) -> None:
    created = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="keyed"), actor=ACTOR
    )
    found = await rig.port.get_issue("demo", IssueKey("DEMO", 1))
    assert found.id == created.id
    assert rig.sent("GET", "/api/v1/workspaces/demo/work-items/DEMO-1/")


async def test_an_issue_is_found_by_id_without_its_project(rig: PlaneRig) -> None:
    alpha = await rig.sandbox.ensure_project("demo", "ALPHA", "Listed first")
    created = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="by id"), actor=ACTOR
    )
    assert (await rig.port.get_issue("demo", created.id)).identifier == "DEMO-1"
    # one request per project that does not hold it, no project details fetched for it
    assert len(rig.sent("GET", f"/projects/{alpha.id}/work-items/{created.id}/")) == 1
    assert rig.sent("GET", f"/projects/{alpha.id}/states/") == []


async def test_a_workspace_the_gateway_is_not_set_up_for_is_never_asked_about(
    rig: PlaneRig,
) -> None:
    with pytest.raises(NotFound):
        await rig.port.list_projects("elsewhere")
    with pytest.raises(NotFound):
        await rig.port.workspace_policy("elsewhere")
    assert not await rig.port.user_has_access("elsewhere", rig.demo.alice.id)
    assert rig.transport.sent == []


async def test_a_public_project_the_gateway_is_not_in_is_invisible(rig: PlaneRig) -> None:
    public = await rig.sandbox.ensure_project("demo", "PUB", "Public", gateway_member=False)
    assert [p.identifier for p in await rig.port.list_projects("demo")] == ["DEMO"]
    with pytest.raises(NotFound):
        await rig.port.find_project("demo", public.id)
    with pytest.raises(NotFound):
        await rig.port.get_project("demo", public.id)


async def test_the_gateways_own_plane_user_is_nobody_to_assign(rig: PlaneRig) -> None:
    bot = rig.plane.bot["id"]
    members = await rig.port.list_workspace_members("demo")
    details = await rig.port.get_project("demo", rig.project_id)
    assert bot not in {m.id for m in members} | {m.id for m in details.members}
    with pytest.raises(ValidationFailed):
        await rig.port.create_issue(
            "demo", rig.project_id, IssueDraft(name="x", assignee_ids=(bot,)), actor=ACTOR
        )


async def test_timestamps_in_the_api_users_time_zone_come_back_in_utc(rig: PlaneRig) -> None:
    issue = await rig.port.create_issue("demo", rig.project_id, IssueDraft(name="tz"), actor=ACTOR)
    raw = rig.plane.issues[issue.id]
    raw["created_at"] = "2026-11-22T17:30:00+05:30"
    read = await rig.port.get_issue("demo", issue.id, rig.project_id)
    assert read.created_at.isoformat() == "2026-11-22T12:00:00+00:00"


# --- the actor -----------------------------------------------------------------------------


async def test_writes_are_signed_with_the_agent_and_its_owner(rig: PlaneRig) -> None:
    issue = await rig.port.create_issue(
        "demo",
        rig.project_id,
        IssueDraft(name="signed", description_html="<p>Body</p>"),
        actor=ACTOR,
    )
    stored = rig.plane.issues[issue.id]
    for text in (ACTOR.display_name, ACTOR.agent_id, ACTOR.owner_user_id, ACTOR.email):
        assert text in stored["description_html"]
    assert stored["external_source"] == (
        f"nodedc-gateway:agent={ACTOR.agent_id};owner={ACTOR.owner_user_id}"
    )
    assert issue.description_html == "<p>Body</p>"  # the footer is Tasker's, not the card's
    comment = await rig.port.add_comment(
        "demo", rig.project_id, issue.id, "<p>note</p>", actor=ACTOR
    )
    assert ACTOR.agent_id in rig.plane.comments[comment.id]["comment_html"]
    assert comment.body_html == "<p>note</p>"
    assert (comment.agent_id, comment.author_display_name) == (ACTOR.agent_id, ACTOR.display_name)
    updated = await rig.port.update_issue(
        "demo",
        rig.project_id,
        issue.id,
        IssueChanges(description_html=issue.description_html + "<p>more</p>"),
        actor=ACTOR,
    )
    assert updated.description_html == "<p>Body</p><p>more</p>"
    assert rig.plane.issues[issue.id]["description_html"].count("nodedc-actor") == 1


async def test_a_humans_comment_names_its_plane_author(rig: PlaneRig) -> None:
    issue = await rig.port.create_issue("demo", rig.project_id, IssueDraft(name="x"), actor=ACTOR)
    alice = rig.demo.alice.id
    rig.plane.comments["01900000-0000-7000-8000-00000000c001"] = {
        "id": "01900000-0000-7000-8000-00000000c001",
        "seq": 99,
        "project": rig.project_id,
        "issue": issue.id,
        "comment_html": "<p>from a human</p>",
        "actor": alice,
        "external_source": None,
        "created_at": "2026-11-23T00:00:00Z",
    }
    [comment] = await rig.port.list_comments("demo", rig.project_id, issue.id)
    assert (comment.author_display_name, comment.author_email) == ("Alice", "alice@demo.local")
    assert comment.agent_id is None


# --- what Plane does not check --------------------------------------------------------------


async def test_refused_references_never_reach_plane(rig: PlaneRig) -> None:
    carol = rig.demo.carol.id  # in the workspace, not the project: Plane would drop her
    with pytest.raises(ValidationFailed):
        await rig.port.create_issue(
            "demo", rig.project_id, IssueDraft(name="x", assignee_ids=(carol,)), actor=ACTOR
        )
    other_label = await rig.sandbox.ensure_label(rig.demo.other_project.id, "foreign")
    with pytest.raises(ValidationFailed):
        await rig.port.create_issue(
            "demo",
            rig.project_id,
            IssueDraft(name="x", label_ids=(other_label.id,)),
            actor=ACTOR,
        )
    assert rig.sent("POST") == []


async def test_a_state_added_in_plane_since_the_last_look_is_accepted(rig: PlaneRig) -> None:
    await rig.port.get_project("demo", rig.project_id)
    rig.time.advance(5)
    review = await rig.sandbox.ensure_state(rig.project_id, "Review", rig.demo.states[2].group)
    issue = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="x", state_id=review.id), actor=ACTOR
    )
    assert issue.state.name == "Review"


async def test_dates_are_checked_against_the_cards_current_dates(rig: PlaneRig) -> None:
    from datetime import date

    issue = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="x", start_date=date(2026, 12, 10)), actor=ACTOR
    )
    with pytest.raises(ValidationFailed):
        await rig.port.update_issue(
            "demo",
            rig.project_id,
            issue.id,
            IssueChanges(target_date=date(2026, 12, 1)),
            actor=ACTOR,
        )
    assert rig.sent("PATCH") == []  # Plane alone would have taken it


async def test_members_join_as_members_never_guests_and_guests_stay_guests(rig: PlaneRig) -> None:
    added = await rig.port.add_project_member(
        "demo", rig.project_id, rig.demo.carol.id, actor=ACTOR
    )
    assert added.email == "carol@demo.local"
    [post] = rig.sent("POST", "/members/")
    assert post.body == {"member": rig.demo.carol.id, "role": 15}
    assert rig.plane.projects[rig.project_id]["members"][rig.demo.carol.id] == 15
    await rig.port.add_project_member("demo", rig.project_id, rig.demo.carol.id, actor=ACTOR)
    assert len(rig.sent("POST", "/members/")) == 1  # already in: nothing sent
    guest = await rig.sandbox.ensure_workspace_member("demo", "gus@demo.local", "Gus", role=5)
    with pytest.raises(ValidationFailed):
        await rig.port.add_project_member("demo", rig.project_id, guest.id, actor=ACTOR)
    assert len(rig.sent("POST", "/members/")) == 1


# --- dedupe and lost responses --------------------------------------------------------------


async def test_a_second_keyed_create_gets_the_409s_card(rig: PlaneRig) -> None:
    first = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="once"), actor=ACTOR, external_id=KEY
    )
    again = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="once"), actor=ACTOR, external_id=KEY
    )
    assert again == first
    assert len(rig.cards("once")) == 1
    assert len(rig.sent("POST", "/work-items/")) == 2


@pytest.mark.parametrize("lost", [stand_in.DROP_AFTER, stand_in.TIMEOUT_AFTER])
async def test_a_keyed_create_whose_answer_was_lost_leaves_one_card_and_returns_it(
    rig: PlaneRig, lost: stand_in.Fault
) -> None:
    rig.transport.faults.add(lost, method="POST", path_contains="/work-items/")
    issue = await rig.port.create_issue(
        "demo", rig.project_id, IssueDraft(name="lost answer"), actor=ACTOR, external_id=KEY
    )
    [card] = rig.cards("lost answer")
    assert issue.id == card["id"]
    assert issue.identifier == "DEMO-1"
    assert [s.body["external_id"] for s in rig.sent("POST", "/work-items/")] == [KEY, KEY]


async def test_a_create_without_a_key_is_not_retried_after_a_lost_answer(rig: PlaneRig) -> None:
    rig.transport.faults.add(stand_in.DROP_AFTER, method="POST")
    with pytest.raises(TaskerUnavailable):
        await rig.port.create_issue("demo", rig.project_id, IssueDraft(name="unkeyed"), actor=ACTOR)
    assert len(rig.sent("POST")) == 1
    assert len(rig.cards("unkeyed")) == 1  # the outcome is the caller's to check


async def test_a_keyed_comment_whose_answer_was_lost_is_made_once(rig: PlaneRig) -> None:
    issue = await rig.port.create_issue("demo", rig.project_id, IssueDraft(name="x"), actor=ACTOR)
    rig.transport.faults.add(stand_in.DROP_AFTER, method="POST", path_contains="/comments/")
    key = external_id(agent_scope(ACTOR.agent_id), "comment-once")
    comment = await rig.port.add_comment(
        "demo", rig.project_id, issue.id, "<p>once</p>", actor=ACTOR, external_id=key
    )
    assert list(rig.plane.comments) == [comment.id]


# --- a struggling Plane ---------------------------------------------------------------------


async def test_429_retry_after_is_waited_out(rig: PlaneRig) -> None:
    rig.transport.faults.add(stand_in.throttle(2), method="GET")
    await rig.port.list_projects("demo")
    assert rig.time.sleeps == [2.0]


async def test_planes_own_rate_limit_is_respected() -> None:
    async with plane_rig(rate_limit=5, retry=RetryPolicy(max_retry_after_s=90)) as rig:
        for _ in range(12):  # member lists are never cached: each is a request
            assert await rig.port.list_workspace_members("demo")
        throttled = [s for s in rig.time.sleeps if s >= 1]
        assert throttled  # it was told to wait, and did
        assert rig.time.now - 1_000.0 >= 60  # 12 requests at 5/min need over a minute


@pytest.mark.parametrize(
    "fault", [stand_in.status(502), stand_in.TIMEOUT_AFTER, stand_in.DROP_AFTER, stand_in.REFUSE]
)
async def test_reads_survive_one_failure(rig: PlaneRig, fault: stand_in.Fault) -> None:
    rig.transport.faults.add(fault, method="GET")
    assert len(await rig.port.list_projects("demo")) == 1


async def test_a_plane_that_keeps_failing_is_refused_fast() -> None:
    async with plane_rig(breaker=BreakerPolicy(failure_threshold=3, open_for_s=60)) as rig:
        rig.transport.faults.always(stand_in.status(503))
        with pytest.raises(TaskerUnavailable):
            await rig.port.list_projects("demo")
        sent = len(rig.transport.sent)
        for _ in range(20):
            with pytest.raises(TaskerUnavailable):
                await rig.port.get_project("demo", rig.project_id)
        assert len(rig.transport.sent) == sent
        rig.transport.faults.clear()
        rig.time.advance(60)
        assert len(await rig.port.list_projects("demo")) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, TaskerUnavailable), (403, NotFound), (404, NotFound), (400, ValidationFailed)],
)
async def test_planes_refusals_map_to_the_contracts_errors(
    rig: PlaneRig, status: int, error: type[GatewayError]
) -> None:
    rig.transport.faults.add(stand_in.status(status), method="GET")
    with pytest.raises(error):
        await rig.port.list_projects("demo")


async def test_a_wrong_api_key_is_unavailability_not_the_agents_fault(rig: PlaneRig) -> None:
    wrong = PlaneTasker(
        base_url="https://plane.test",
        api_key=SecretStr("wrong-key"),
        workspaces={"demo": True},
        client=httpx.AsyncClient(transport=rig.transport),
    )
    with pytest.raises(TaskerUnavailable) as raised:
        await wrong.check()
    assert "API key" in raised.value.message


async def test_a_workspace_plane_refuses_is_not_found_but_a_wrong_key_says_so_everywhere(
    rig: PlaneRig,
) -> None:
    # Real Plane answers 403 both for a wrong key and for a workspace its user is not in.
    configured = PlaneTasker(
        base_url="https://plane.test",
        api_key=SecretStr(API_KEY),
        workspaces={"demo": True, "gone": True},
        client=httpx.AsyncClient(transport=rig.transport),
    )
    with pytest.raises(NotFound):
        await configured.list_projects("gone")
    assert not await configured.user_has_access("gone", rig.demo.alice.id)
    wrong = PlaneTasker(
        base_url="https://plane.test",
        api_key=SecretStr("wrong-key"),
        workspaces={"demo": True, "gone": True},
        client=httpx.AsyncClient(transport=rig.transport),
    )
    for workspace in ("demo", "gone"):
        with pytest.raises(TaskerUnavailable):
            await wrong.list_projects(workspace)


async def test_the_api_key_never_shows(rig: PlaneRig) -> None:
    assert API_KEY not in repr(rig.port)
    messages: list[str] = []
    for fault in (stand_in.status(401), stand_in.status(500), stand_in.REFUSE):
        rig.transport.faults.always(fault)
        try:
            await rig.port.check()
        except GatewayError as error:
            messages += [str(error), repr(error), str(error.as_payload())]
        rig.transport.faults.clear()
        rig.time.advance(120)
    assert messages
    assert not any(API_KEY in m for m in messages)


# --- real sockets ---------------------------------------------------------------------------


@asynccontextmanager
async def loopback(behaviour: str) -> AsyncIterator[str]:
    """A TCP server on 127.0.0.1 that reads a request, then hangs up or says nothing."""
    done = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1024)
        if behaviour == "silent":
            await done.wait()  # never answers within the client's timeout
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            done.set()
            await asyncio.sleep(0)


@pytest.mark.parametrize("behaviour", ["hang_up", "silent"])
async def test_a_real_dropped_or_silent_connection_is_tasker_unavailable(behaviour: str) -> None:
    async with (
        loopback(behaviour) as url,
        plane_rig(
            base_url=url,
            transport=httpx.AsyncHTTPTransport(),
            request_timeout=httpx.Timeout(0.05),
        ) as rig,
    ):
        with pytest.raises(TaskerUnavailable) as raised:
            await rig.port.check()
        expected = "dropped the connection" if behaviour == "hang_up" else "in time"
        assert expected in raised.value.message
        assert len(rig.time.sleeps) == 2  # three attempts, fake backoff between them
