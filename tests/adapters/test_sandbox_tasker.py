"""The sandbox Tasker's own promises beyond the port contract: its data lives in the
database, and concurrent writers cannot break keys or external-id dedupe."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.persistence.sql.engine import is_sqlite
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.adapters.tasker.seed import seed_demo
from nodedc_gateway.adapters.turns import Turns
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.tasker import (
    Actor,
    IssueChanges,
    IssueDraft,
    IssueQuery,
    Priority,
    StateGroup,
)
from tests.contracts.tasker_backends import BACKENDS, TaskerUnderTest
from tests.support.transactions import TransactionLog

ACTOR = Actor(
    agent_id="01900000-0000-7000-8000-000000000002",
    owner_user_id="owner-1",
    display_name="Codex Agent: Sandbox",
    email="agent+01900000-0000-7000-8000-000000000002@agents.nodedc.local",
)


@pytest.fixture(
    params=[
        pytest.param("sandbox-sqlite", id="sqlite"),
        pytest.param("sandbox-postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[TaskerUnderTest]:
    async with BACKENDS[request.param]() as backend:
        yield backend


def _engine_url(sandbox: TaskerUnderTest) -> str:
    assert isinstance(sandbox.port, SqlSandboxTasker)
    return sandbox.port._engine.url.render_as_string(hide_password=False)


async def _separate_taskers(sandbox: TaskerUnderTest, count: int) -> list[SqlSandboxTasker]:
    """Taskers on their own engines (own connections): as separate replicas would be."""
    url = _engine_url(sandbox)
    return [
        SqlSandboxTasker(create_engine(url), UUIDv7Generator(), sandbox.clock) for _ in range(count)
    ]


async def _dispose(taskers: list[SqlSandboxTasker]) -> None:
    for tasker in taskers:
        await tasker._engine.dispose()


async def test_the_data_outlives_the_process_that_wrote_it(sandbox: TaskerUnderTest) -> None:
    project_id = sandbox.demo.project.id
    issue = await sandbox.port.create_issue(
        "demo", project_id, IssueDraft(name="Kept"), actor=ACTOR
    )
    engine = create_engine(_engine_url(sandbox))
    try:
        reopened = SqlSandboxTasker(engine, UUIDv7Generator(), FixedClock())
        assert await reopened.get_issue("demo", issue.id) == issue
        assert await seed_demo(reopened) == sandbox.demo  # seeding again changes nothing
    finally:
        await engine.dispose()


async def test_a_created_issue_is_answered_as_it_reads_back(sandbox: TaskerUnderTest) -> None:
    """`create_issue` answers with what it wrote, not with a read of it: every field of
    that answer must be what `get_issue` then reads (state, labels and assignees in their
    order, dates, parent, priority, key, times)."""
    demo = sandbox.demo
    parent = await sandbox.port.create_issue(
        "demo", demo.project.id, IssueDraft(name="Parent"), actor=ACTOR
    )
    sandbox.clock.advance(timedelta(seconds=1, microseconds=123_457))
    draft = IssueDraft(
        name="Child ÄÖ",
        description_html="<p>Body</p>",
        priority=Priority.HIGH,
        state_id=demo.states[-1].id,
        label_ids=tuple(label.id for label in reversed(demo.labels)),
        assignee_ids=(demo.bob.id, demo.alice.id),
        start_date=date(2026, 12, 1),
        target_date=date(2026, 12, 24),
        parent_id=parent.id,
    )
    created = await sandbox.port.create_issue(
        "demo", demo.project.id, draft, actor=ACTOR, external_id="ndc-read-back"
    )
    assert len(created.labels) == len(demo.labels)
    assert [m.id for m in created.assignees] == [demo.bob.id, demo.alice.id]
    assert created.parent_id == parent.id
    assert await sandbox.port.get_issue("demo", created.id) == created
    again = await sandbox.port.create_issue(
        "demo", demo.project.id, draft, actor=ACTOR, external_id="ndc-read-back"
    )
    assert again == created


async def test_a_create_locks_its_project_only_for_its_writes(sandbox: TaskerUnderTest) -> None:
    """Creates in one project queue on its row lock (the sequence number): the lock must
    be taken by the `UPDATE` that takes the number, after every read, and be followed by
    nothing but the inserts. Taken earlier (a `SELECT … FOR UPDATE` first), it was held
    through a dozen round trips, and 16 clients on one project saw a p99 21.7× their p50."""
    demo = sandbox.demo
    assert isinstance(sandbox.port, SqlSandboxTasker)
    log = TransactionLog(sandbox.port._engine)
    try:
        draft = IssueDraft(
            name="Locked briefly",
            label_ids=(demo.labels[0].id,),
            assignee_ids=(demo.alice.id,),
        )
        await sandbox.port.create_issue(
            "demo", demo.project.id, draft, actor=ACTOR, external_id="ndc-lock"
        )
    finally:
        log.close()
    [statements] = [tx for tx in log.closed if any("INTO sandbox_issues " in s for s in tx)]
    verbs = [s.split(None, 1)[0].upper() for s in statements]
    [taking] = [n for n, s in enumerate(statements) if "UPDATE sandbox_projects" in s]
    assert not any("FOR UPDATE" in s.upper() for s in statements)
    assert set(verbs[:taking]) == {"SELECT"}  # the reads: project, states and key, ...
    if is_sqlite(sandbox.port._engine):
        assert verbs[taking:] == ["UPDATE"] + ["INSERT"] * 3  # the issue, label, assignee
    else:  # the UPDATE a CTE of the issue's INSERT (one round trip), then label, assignee
        assert "INSERT INTO sandbox_issues " in statements[taking]
        assert verbs[taking:] == ["WITH", "INSERT", "INSERT"]


async def test_a_plain_create_reads_once_and_only_what_it_needs(
    sandbox: TaskerUnderTest,
) -> None:
    """A create without labels or assignees reads the project and its states in one
    statement, and neither the labels nor the members, nor (keyed as it is) any card: 8
    round trips were 5 (BEGIN, that read, the sequence, the issue, COMMIT), and on
    PostgreSQL 4 (the number taken in the issue's INSERT). The states still decide the
    default (the first backlog one in the project's order, whichever was made first), and
    a project with none refuses the card rather than inventing one."""
    assert isinstance(sandbox.port, SqlSandboxTasker)
    engine = sandbox.port._engine
    project = await sandbox.admin.ensure_project("demo", "BARE", "Bare")
    draft = IssueDraft(name="Plain")
    with pytest.raises(ValidationFailed, match="no states"):
        await sandbox.port.create_issue("demo", project.id, draft, actor=ACTOR)
    await sandbox.admin.ensure_state(project.id, "Doing", StateGroup.STARTED)
    later = await sandbox.admin.ensure_state(project.id, "Later", StateGroup.BACKLOG)
    await sandbox.admin.ensure_state(project.id, "Someday", StateGroup.BACKLOG)
    log = TransactionLog(sandbox.port._engine)
    try:
        created = await sandbox.port.create_issue(
            "demo", project.id, draft, actor=ACTOR, external_id="ndc-plain"
        )
    finally:
        log.close()
    assert created.state == later
    assert created.identifier == "BARE-1"
    [statements] = [tx for tx in log.closed if any("INTO sandbox_issues " in s for s in tx)]
    verbs = [s.split(None, 1)[0].upper() for s in statements]
    # PostgreSQL: the UPDATE that takes the number is a CTE of the INSERT (one round trip)
    assert verbs == (["SELECT", "UPDATE", "INSERT"] if is_sqlite(engine) else ["SELECT", "WITH"])
    assert not any("sandbox_labels" in s or "sandbox_project_members" in s for s in statements)
    # The key is the unique (project, external_id)'s to keep, not a lookup's.
    assert "sandbox_issues" not in statements[0]


async def test_a_repeated_keyed_create_answers_with_the_first_and_takes_no_number(
    sandbox: TaskerUnderTest,
) -> None:
    """A keyed create whose key is taken (a retry after a lost answer) is refused by the
    unique (project, external_id), undone whole, number included, and answered with the
    card already there, as it is now, even when its draft no longer fits the project:
    the next card takes the very next number."""
    demo = sandbox.demo
    first = await sandbox.port.create_issue(
        "demo", demo.project.id, IssueDraft(name="First"), actor=ACTOR, external_id="ndc-again"
    )
    moved = demo.states[-1]
    await sandbox.port.update_issue(
        "demo", demo.project.id, first.id, IssueChanges(state_id=moved.id), actor=ACTOR
    )
    again = await sandbox.port.create_issue(
        "demo", demo.project.id, IssueDraft(name="Other"), actor=ACTOR, external_id="ndc-again"
    )
    assert again.id == first.id
    assert (again.name, again.state) == ("First", moved)
    gone = IssueDraft(name="First", state_id="no-such-state")  # the state was deleted since
    retried = await sandbox.port.create_issue(
        "demo", demo.project.id, gone, actor=ACTOR, external_id="ndc-again"
    )
    assert retried == again
    with pytest.raises(ValidationFailed):  # without a card under the key, refused as ever
        await sandbox.port.create_issue(
            "demo", demo.project.id, gone, actor=ACTOR, external_id="ndc-fresh"
        )
    after = await sandbox.port.create_issue(
        "demo", demo.project.id, IssueDraft(name="Next"), actor=ACTOR
    )
    prefix, number = first.identifier.rsplit("-", 1)
    assert after.identifier == f"{prefix}-{int(number) + 1}"


@pytest.mark.postgres
async def test_only_a_recorded_create_commits_without_waiting_for_the_flush() -> None:
    """The gateway's sandbox (`recorded`: a synchronous commit of the call's record
    follows every agent write in the same database, flushing it) creates with
    `synchronous_commit` off for that transaction alone; a sandbox on its own (the bench's
    bare server) waits for its flush as any transaction does."""
    async with BACKENDS["sandbox-postgres"]() as sandbox:
        # The test databases default to `off` (tests need no durability): not here.
        engine = create_engine(
            _engine_url(sandbox), connect_args={"options": "-c synchronous_commit=on"}
        )
        at_commit: list[str] = []

        def note(connection: Any) -> None:
            at_commit.append(connection.exec_driver_sql("SHOW synchronous_commit").scalar())

        event.listen(engine.sync_engine, "commit", note)
        try:
            alone = SqlSandboxTasker(engine, UUIDv7Generator(), sandbox.clock)
            recorded = SqlSandboxTasker(engine, UUIDv7Generator(), sandbox.clock, recorded=True)
            draft = IssueDraft(name="Flushed by the record")
            project = sandbox.demo.project.id
            await recorded.create_issue("demo", project, draft, actor=ACTOR, external_id="r-1")
            await alone.create_issue("demo", project, draft, actor=ACTOR)
            await alone.create_issue("demo", project, draft, actor=ACTOR, external_id="r-2")
            await recorded.create_issue("demo", project, draft, actor=ACTOR)
        finally:
            event.remove(engine.sync_engine, "commit", note)
            await engine.dispose()
        assert at_commit == ["off", "on", "on", "off"]


async def test_a_create_takes_its_projects_row_in_its_turn(sandbox: TaskerUnderTest) -> None:
    """The UPDATE that takes the sequence number, and so the project row's lock, is sent
    in the project's turn (`Turns`, first come first served), which ends before the
    inserts: this process's creates in one project never wait on the row more than one
    at a time, the order PostgreSQL does not promise kept by the turns."""
    demo = sandbox.demo
    port = sandbox.port
    assert isinstance(port, SqlSandboxTasker)
    turn = port._creates.of(demo.project.id)
    held: list[tuple[str, bool]] = []

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if "UPDATE sandbox_projects" in sql or "INSERT INTO sandbox_issues " in sql:
            held.append((sql.split(None, 1)[0], turn.locked()))

    engine = port._engine.sync_engine
    event.listen(engine, "before_cursor_execute", statement)
    try:
        await port.create_issue("demo", demo.project.id, IssueDraft(name="Turn"), actor=ACTOR)
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    if is_sqlite(port._engine):
        assert held == [("UPDATE", True), ("INSERT", False)]
    else:  # one statement: the UPDATE is a CTE of the INSERT
        assert held == [("WITH", True)]
    assert not turn.locked()


async def test_creates_in_one_project_are_numbered_in_the_order_they_came(
    sandbox: TaskerUnderTest,
) -> None:
    """Each create comes to the project's turn while the one before it waits on the row
    (PostgreSQL: held by another transaction, as another replica's create would): they
    are numbered in the order they came."""
    demo = sandbox.demo
    port = sandbox.port
    assert isinstance(port, SqlSandboxTasker)
    arrived: list[asyncio.Event] = [asyncio.Event() for _ in range(5)]
    turns, came = port._creates, itertools.count()

    class Arrivals(Turns):
        def of(self, key: str) -> asyncio.Lock:
            arrived[next(came)].set()
            return turns.of(key)

    port._creates = Arrivals()
    other = create_engine(_engine_url(sandbox))
    try:
        async with other.connect() as holder:
            if not is_sqlite(other):  # the row held elsewhere until every create has come
                await holder.execute(
                    text("UPDATE sandbox_projects SET name = name WHERE id = :id"),
                    {"id": demo.project.id},
                )
            creates = []
            for n, came_in in enumerate(arrived):
                draft = IssueDraft(name=f"Came {n}")
                creates.append(
                    asyncio.create_task(
                        port.create_issue("demo", demo.project.id, draft, actor=ACTOR)
                    )
                )
                async with asyncio.timeout(30):  # a deadline, should it never come
                    await came_in.wait()
            await holder.rollback()
            issues = await asyncio.gather(*creates)
    finally:
        port._creates = turns
        await other.dispose()
    numbers = [int(issue.identifier.split("-")[1]) for issue in issues]
    assert numbers == sorted(numbers)
    assert [issue.name for issue in issues] == [f"Came {n}" for n in range(5)]


async def test_concurrent_creates_take_distinct_consecutive_keys(sandbox: TaskerUnderTest) -> None:
    taskers = await _separate_taskers(sandbox, 4)
    project_id = sandbox.demo.project.id
    try:
        issues = await asyncio.gather(
            *(
                taskers[n % 4].create_issue(
                    "demo", project_id, IssueDraft(name=f"Card {n}"), actor=ACTOR
                )
                for n in range(24)
            )
        )
    finally:
        await _dispose(taskers)
    assert sorted(int(i.identifier.split("-")[1]) for i in issues) == list(range(1, 25))


async def test_concurrent_keyed_creates_and_comments_are_made_once(
    sandbox: TaskerUnderTest,
) -> None:
    taskers = await _separate_taskers(sandbox, 4)
    project_id = sandbox.demo.project.id
    try:
        created = await asyncio.gather(
            *(
                t.create_issue(
                    "demo", project_id, IssueDraft(name="Once"), actor=ACTOR, external_id="ndc-k"
                )
                for t in taskers * 3
            )
        )
        issue_id = created[0].id
        comments = await asyncio.gather(
            *(
                t.add_comment(
                    "demo", project_id, issue_id, "<p>hi</p>", actor=ACTOR, external_id="ndc-c"
                )
                for t in taskers * 3
            )
        )
    finally:
        await _dispose(taskers)
    assert {i.id for i in created} == {issue_id}
    assert {c.id for c in comments} == {comments[0].id}
    found = await sandbox.port.search_issues("demo", project_id, IssueQuery(text="once"))
    assert [i.id for i in found.items] == [issue_id]
    assert len(await sandbox.port.list_comments("demo", project_id, issue_id)) == 1


async def test_pages_neither_repeat_nor_skip_when_issues_arrive_between_them(
    sandbox: TaskerUnderTest,
) -> None:
    port, project_id = sandbox.port, sandbox.demo.project.id
    for n in range(5):
        sandbox.clock.advance(seconds=1)
        await port.create_issue("demo", project_id, IssueDraft(name=f"Old {n}"), actor=ACTOR)
    first = await port.search_issues("demo", project_id, IssueQuery(limit=2))
    sandbox.clock.advance(seconds=1)
    await port.create_issue("demo", project_id, IssueDraft(name="New"), actor=ACTOR)
    rest = await port.search_issues(
        "demo", project_id, IssueQuery(limit=10, cursor=first.next_cursor)
    )
    names = [i.name for i in (*first.items, *rest.items)]
    assert names == ["Old 4", "Old 3", "Old 2", "Old 1", "Old 0"]


async def test_comments_remember_who_wrote_them(sandbox: TaskerUnderTest) -> None:
    port, project_id = sandbox.port, sandbox.demo.project.id
    issue = await port.create_issue("demo", project_id, IssueDraft(name="Talk"), actor=ACTOR)
    comment = await port.add_comment("demo", project_id, issue.id, "<p>x</p>", actor=ACTOR)
    assert (comment.author_display_name, comment.author_email, comment.agent_id) == (
        ACTOR.display_name,
        ACTOR.email,
        ACTOR.agent_id,
    )
    assert comment.created_at == sandbox.clock.now()
