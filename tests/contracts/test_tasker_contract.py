"""The Tasker port's contract: every backend (memory, sandbox, Plane, Tasker HTTP) passes
exactly these tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.tasker import (
    Actor,
    Issue,
    IssueChanges,
    IssueDraft,
    IssueKey,
    IssueQuery,
    Priority,
    StateGroup,
)
from tests.contracts.tasker_backends import BACKENDS, TaskerUnderTest

ACTOR = Actor(
    agent_id="01900000-0000-7000-8000-000000000001",
    owner_user_id="owner-1",
    display_name="Codex Agent: Contract",
    email="agent+01900000-0000-7000-8000-000000000001@agents.nodedc.local",
)


@pytest.fixture(params=sorted(BACKENDS))
async def tasker(request: pytest.FixtureRequest) -> AsyncIterator[TaskerUnderTest]:
    async with BACKENDS[request.param]() as backend:
        yield backend


def state(t: TaskerUnderTest, name: str) -> str:
    return next(s.id for s in t.demo.states if s.name == name)


def label(t: TaskerUnderTest, name: str) -> str:
    return next(lb.id for lb in t.demo.labels if lb.name == name)


async def create(t: TaskerUnderTest, name: str = "Card", **kwargs: Any) -> Issue:
    return await t.port.create_issue(
        t.ws, t.demo.project.id, IssueDraft(name=name, **kwargs), actor=ACTOR
    )


def emails(t: TaskerUnderTest, *who: str) -> list[str]:
    """The emails of the demo's people (`alice`, `bob`, `carol`) in this backend, sorted."""
    return sorted(getattr(t.demo, name).email for name in who)


def key(t: TaskerUnderTest, number: int) -> str:
    return f"{t.demo.project.identifier}-{number}"


async def test_projects_are_listed_and_found_by_id_or_identifier(tasker: TaskerUnderTest) -> None:
    projects = await tasker.port.list_projects(tasker.ws)
    ident = tasker.demo.project.identifier
    if tasker.shared:  # other people's projects are there too
        assert ident in [p.identifier for p in projects]
    else:
        assert [p.identifier for p in projects] == [ident]
    assert (await tasker.port.find_project(tasker.ws, ident)).id == tasker.demo.project.id
    assert (await tasker.port.find_project(tasker.ws, tasker.demo.project.id)).identifier == ident


async def test_a_project_of_another_workspace_is_not_found(tasker: TaskerUnderTest) -> None:
    with pytest.raises(NotFound):
        await tasker.port.find_project(tasker.ws, tasker.demo.other_project.id)
    with pytest.raises(NotFound):
        await tasker.port.find_project(tasker.ws, "OTH")
    with pytest.raises(NotFound):
        await tasker.port.get_project(tasker.ws, tasker.demo.other_project.id)


async def test_project_details_carry_states_labels_and_members(tasker: TaskerUnderTest) -> None:
    details = await tasker.port.get_project(tasker.ws, tasker.demo.project.id)
    assert [(s.name, s.group) for s in details.states] == [
        ("Backlog", StateGroup.BACKLOG),
        ("Todo", StateGroup.UNSTARTED),
        ("In Progress", StateGroup.STARTED),
        ("Done", StateGroup.COMPLETED),
        ("Cancelled", StateGroup.CANCELLED),
    ]
    assert sorted(lb.name for lb in details.labels) == ["bug", "docs", "feature"]
    assert sorted(m.email for m in details.members) == emails(tasker, "alice", "bob")


async def test_workspace_members_policy_and_access(tasker: TaskerUnderTest) -> None:
    members = await tasker.port.list_workspace_members(tasker.ws)
    assert sorted(m.email for m in members) == emails(tasker, "alice", "bob", "carol")
    assert (await tasker.port.workspace_policy(tasker.ws)).agents_allowed
    assert await tasker.port.user_has_access(tasker.ws, tasker.demo.carol.id)
    assert not await tasker.port.user_has_access(tasker.other_ws, tasker.demo.carol.id)
    await tasker.admin.set_workspace_policy(tasker.ws, agents_allowed=False)
    assert not (await tasker.port.workspace_policy(tasker.ws)).agents_allowed


async def test_created_issues_get_sequential_keys_and_defaults(tasker: TaskerUnderTest) -> None:
    first = await create(tasker, "First")
    second = await create(tasker, "Second")
    assert (first.identifier, second.identifier) == (key(tasker, 1), key(tasker, 2))
    assert first.state.group is StateGroup.BACKLOG
    assert first.priority is Priority.NONE
    assert first.labels == ()
    assert first.assignees == ()


async def test_an_issue_is_created_with_every_field(tasker: TaskerUnderTest) -> None:
    parent = await tasker.port.create_issue(
        tasker.ws, tasker.demo.project.id, IssueDraft(name="Parent"), actor=ACTOR
    )
    issue = await tasker.port.create_issue(
        tasker.ws,
        tasker.demo.project.id,
        IssueDraft(
            name="Full",
            description_html="<p>Body</p>",
            priority=Priority.HIGH,
            state_id=state(tasker, "Todo"),
            label_ids=(label(tasker, "bug"), label(tasker, "docs")),
            assignee_ids=(tasker.demo.bob.id,),
            start_date=date(2026, 12, 1),
            target_date=date(2026, 12, 24),
            parent_id=parent.id,
        ),
        actor=ACTOR,
    )
    read = await tasker.port.get_issue(tasker.ws, issue.id)
    assert read.name == "Full"
    assert "Body" in read.description_html
    assert read.priority is Priority.HIGH
    assert read.state.name == "Todo"
    assert sorted(lb.name for lb in read.labels) == ["bug", "docs"]
    assert [m.email for m in read.assignees] == emails(tasker, "bob")
    assert (read.start_date, read.target_date) == (date(2026, 12, 1), date(2026, 12, 24))
    assert read.parent_id == parent.id


async def test_references_outside_the_project_are_refused(tasker: TaskerUnderTest) -> None:
    project_id = tasker.demo.project.id
    with pytest.raises(ValidationFailed):  # carol is in the workspace, not the project
        await tasker.port.create_issue(
            tasker.ws,
            project_id,
            IssueDraft(name="x", assignee_ids=(tasker.demo.carol.id,)),
            actor=ACTOR,
        )
    with pytest.raises(ValidationFailed):
        await tasker.port.create_issue(
            tasker.ws,
            project_id,
            IssueDraft(name="x", state_id="01900000-0000-7000-8000-00000000dead"),
            actor=ACTOR,
        )
    with pytest.raises(ValidationFailed):
        await tasker.port.create_issue(
            tasker.ws,
            project_id,
            IssueDraft(name="x", label_ids=("01900000-0000-7000-8000-00000000beef",)),
            actor=ACTOR,
        )
    with pytest.raises(NotFound):
        await tasker.port.create_issue(
            tasker.ws, tasker.demo.other_project.id, IssueDraft(name="x"), actor=ACTOR
        )


async def test_a_keyed_create_is_made_once(tasker: TaskerUnderTest) -> None:
    project_id = tasker.demo.project.id
    first = await tasker.port.create_issue(
        tasker.ws, project_id, IssueDraft(name="Once"), actor=ACTOR, external_id="ndc-key-1"
    )
    again = await tasker.port.create_issue(
        tasker.ws, project_id, IssueDraft(name="Once"), actor=ACTOR, external_id="ndc-key-1"
    )
    assert again.id == first.id
    page = await tasker.port.search_issues(tasker.ws, project_id, IssueQuery(text="Once"))
    assert [i.id for i in page.items] == [first.id]


async def test_issues_are_found_by_key_and_by_id_only_where_they_are(
    tasker: TaskerUnderTest,
) -> None:
    issue = await create(tasker, "Findable")
    port, project_id = tasker.port, tasker.demo.project.id
    ident = tasker.demo.project.identifier
    assert (await port.get_issue(tasker.ws, IssueKey(ident, 1))).id == issue.id
    assert (await port.get_issue(tasker.ws, issue.id, project_id)).identifier == key(tasker, 1)
    with pytest.raises(NotFound):
        await port.get_issue(tasker.ws, IssueKey(ident, 99))
    with pytest.raises(NotFound):
        await port.get_issue(tasker.other_ws, issue.id)
    with pytest.raises(NotFound):
        await port.get_issue(tasker.ws, issue.id, tasker.demo.other_project.id)


async def test_updates_change_only_what_they_name(tasker: TaskerUnderTest) -> None:
    port, project_id = tasker.port, tasker.demo.project.id
    issue = await port.create_issue(
        tasker.ws,
        project_id,
        IssueDraft(name="Before", priority=Priority.LOW, label_ids=(label(tasker, "bug"),)),
        actor=ACTOR,
    )
    renamed = await port.update_issue(
        tasker.ws,
        project_id,
        issue.id,
        IssueChanges(name="After", priority=Priority.URGENT),
        actor=ACTOR,
    )
    assert (renamed.name, renamed.priority) == ("After", Priority.URGENT)
    assert [lb.name for lb in renamed.labels] == ["bug"]
    moved = await port.update_issue(
        tasker.ws,
        project_id,
        issue.id,
        IssueChanges(state_id=state(tasker, "In Progress")),
        actor=ACTOR,
    )
    assert moved.state.group is StateGroup.STARTED
    assert moved.name == "After"
    relabelled = await port.update_issue(
        tasker.ws,
        project_id,
        issue.id,
        IssueChanges(label_ids=(label(tasker, "feature"),), assignee_ids=(tasker.demo.alice.id,)),
        actor=ACTOR,
    )
    assert [lb.name for lb in relabelled.labels] == ["feature"]
    assert [m.email for m in relabelled.assignees] == emails(tasker, "alice")
    dated = await port.update_issue(
        tasker.ws, project_id, issue.id, IssueChanges(target_date=date(2027, 1, 1)), actor=ACTOR
    )
    assert dated.target_date == date(2027, 1, 1)
    cleared = await port.update_issue(
        tasker.ws, project_id, issue.id, IssueChanges(target_date=None), actor=ACTOR
    )
    assert cleared.target_date is None
    assert (await port.get_issue(tasker.ws, issue.id)).state.name == "In Progress"


async def test_dates_in_the_wrong_order_are_refused(tasker: TaskerUnderTest) -> None:
    issue = await create(tasker, "Dated", start_date=date(2026, 12, 10))
    with pytest.raises(ValidationFailed):
        await tasker.port.update_issue(
            tasker.ws,
            tasker.demo.project.id,
            issue.id,
            IssueChanges(target_date=date(2026, 12, 1)),
            actor=ACTOR,
        )


async def test_a_parent_must_be_in_the_project_and_not_a_descendant(
    tasker: TaskerUnderTest,
) -> None:
    port, project_id = tasker.port, tasker.demo.project.id
    parent = await create(tasker, "Parent")
    child = await create(tasker, "Child", parent_id=parent.id)
    with pytest.raises(ValidationFailed):
        await port.update_issue(
            tasker.ws, project_id, parent.id, IssueChanges(parent_id=child.id), actor=ACTOR
        )
    unparented = await port.update_issue(
        tasker.ws, project_id, child.id, IssueChanges(parent_id=None), actor=ACTOR
    )
    assert unparented.parent_id is None


async def test_comments_are_added_once_per_key_and_listed_newest_first(
    tasker: TaskerUnderTest,
) -> None:
    port, project_id = tasker.port, tasker.demo.project.id
    issue = await create(tasker, "Discussed")
    first = await port.add_comment(tasker.ws, project_id, issue.id, "<p>one</p>", actor=ACTOR)
    tasker.clock.advance(seconds=1)
    second = await port.add_comment(
        tasker.ws, project_id, issue.id, "<p>two</p>", actor=ACTOR, external_id="ndc-c-1"
    )
    again = await port.add_comment(
        tasker.ws, project_id, issue.id, "<p>two</p>", actor=ACTOR, external_id="ndc-c-1"
    )
    assert again.id == second.id
    comments = await port.list_comments(tasker.ws, project_id, issue.id)
    assert [c.id for c in comments] == [second.id, first.id]
    assert "two" in comments[0].body_html
    assert (
        ACTOR.display_name in comments[0].author_display_name
        or comments[0].agent_id == ACTOR.agent_id
    )


async def test_only_existing_workspace_members_join_a_project(tasker: TaskerUnderTest) -> None:
    port, project_id = tasker.port, tasker.demo.project.id
    added = await port.add_project_member(tasker.ws, project_id, tasker.demo.carol.id, actor=ACTOR)
    assert added.email == tasker.demo.carol.email
    again = await port.add_project_member(tasker.ws, project_id, tasker.demo.carol.id, actor=ACTOR)
    assert again.id == added.id
    details = await port.get_project(tasker.ws, project_id)
    assert tasker.demo.carol.email in {m.email for m in details.members}
    with pytest.raises(NotFound):
        await port.add_project_member(
            tasker.ws, project_id, "01900000-0000-7000-8000-00000000f00d", actor=ACTOR
        )


async def test_search_filters_and_pages_through_results(tasker: TaskerUnderTest) -> None:
    port, project_id = tasker.port, tasker.demo.project.id
    for n in range(7):
        tasker.clock.advance(seconds=1)
        await create(
            tasker,
            f"Task {n}",
            state_id=state(tasker, "Done" if n % 2 else "Todo"),
            label_ids=(label(tasker, "bug"),) if n < 3 else (),
            assignee_ids=(tasker.demo.bob.id,) if n == 6 else (),
        )
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await port.search_issues(tasker.ws, project_id, IssueQuery(limit=3, cursor=cursor))
        seen += [i.name for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"Task {n}" for n in range(7))
    assert len(seen) == 7
    done = await port.search_issues(
        tasker.ws, project_id, IssueQuery(state_group=StateGroup.COMPLETED)
    )
    assert sorted(i.name for i in done.items) == ["Task 1", "Task 3", "Task 5"]
    bugs = await port.search_issues(
        tasker.ws, project_id, IssueQuery(label_id=label(tasker, "bug"))
    )
    assert sorted(i.name for i in bugs.items) == ["Task 0", "Task 1", "Task 2"]
    bobs = await port.search_issues(
        tasker.ws, project_id, IssueQuery(assignee_id=tasker.demo.bob.id)
    )
    assert [i.name for i in bobs.items] == ["Task 6"]
    text = await port.search_issues(tasker.ws, project_id, IssueQuery(text="task 4"))
    assert [i.name for i in text.items] == ["Task 4"]


async def test_comment_lists_are_newest_first_and_limited(tasker: TaskerUnderTest) -> None:
    port, project_id = tasker.port, tasker.demo.project.id
    issue = await create(tasker, "Chatty")
    for n in range(3):
        tasker.clock.advance(seconds=1)
        await port.add_comment(tasker.ws, project_id, issue.id, f"<p>c{n}</p>", actor=ACTOR)
    newest = await port.list_comments(tasker.ws, project_id, issue.id, limit=2)
    assert len(newest) == 2
    assert ["c2" in newest[0].body_html, "c1" in newest[1].body_html] == [True, True]


async def test_a_search_cursor_that_was_never_given_is_refused(tasker: TaskerUnderTest) -> None:
    with pytest.raises(ValidationFailed):
        await tasker.port.search_issues(
            tasker.ws, tasker.demo.project.id, IssueQuery(cursor="not-a-cursor")
        )


async def test_access_to_an_unknown_workspace_is_simply_no(tasker: TaskerUnderTest) -> None:
    assert not await tasker.port.user_has_access("nowhere", tasker.demo.alice.id)


async def test_an_issue_key_means_nothing_in_another_workspace(tasker: TaskerUnderTest) -> None:
    await create(tasker, "Local")
    with pytest.raises(NotFound):
        await tasker.port.get_issue(tasker.other_ws, IssueKey(tasker.demo.project.identifier, 1))


async def test_search_text_folds_case_beyond_ascii_and_matches_keys(
    tasker: TaskerUnderTest,
) -> None:
    await create(tasker, "Straße reparieren")
    tasker.clock.advance(seconds=1)
    await create(tasker, "100% done_ish")
    port, project_id = tasker.port, tasker.demo.project.id
    by_text = await port.search_issues(tasker.ws, project_id, IssueQuery(text="STRASSE"))
    assert [i.identifier for i in by_text.items] == [key(tasker, 1)]
    by_key = await port.search_issues(
        tasker.ws, project_id, IssueQuery(text=key(tasker, 2).lower())
    )
    assert [i.name for i in by_key.items] == ["100% done_ish"]
    # characters that are wildcards to SQL LIKE are plain text here
    literal = await port.search_issues(tasker.ws, project_id, IssueQuery(text="0% d"))
    assert [i.identifier for i in literal.items] == [key(tasker, 2)]
    assert (await port.search_issues(tasker.ws, project_id, IssueQuery(text="_ish_"))).items == ()
