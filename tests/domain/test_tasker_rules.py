"""Tasker's search rules, shared by the in-memory Tasker and the Plane adapter: following
`next_cursor` walks every found issue once, in order, and a cursor not handed out is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.tasker import Issue, IssueQuery, Priority, State, StateGroup
from nodedc_gateway.domain.tasker_rules import matches, offset_of, page_at

_NOW = datetime(2026, 1, 1, tzinfo=UTC)
_TODO = State("s1", "Todo", StateGroup.UNSTARTED)


def _issue(n: int, name: str = "card") -> Issue:
    return Issue(
        id=f"i{n}",
        workspace_slug="demo",
        project_id="p",
        identifier=f"DEMO-{n}",
        name=name,
        description_html="",
        priority=Priority.NONE,
        state=_TODO,
        labels=(),
        assignees=(),
        parent_id=None,
        start_date=None,
        target_date=None,
        created_at=_NOW,
        updated_at=_NOW,
    )


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=12))
def test_following_the_cursor_walks_every_issue_once(count: int, limit: int) -> None:
    found = [_issue(n) for n in range(count)]
    seen: list[Issue] = []
    cursor: str | None = None
    for _ in range(count + 2):
        page = page_at(found, offset_of(cursor), limit)
        assert len(page.items) <= limit
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == found


@pytest.mark.parametrize("cursor", ["", "-1", "x", "1" * 10, "1.5"])
def test_a_cursor_no_search_handed_out_is_refused(cursor: str) -> None:
    with pytest.raises(ValidationFailed):
        offset_of(cursor)


def test_text_matches_the_name_folded_or_the_whole_key() -> None:
    issue = _issue(7, "Fix the Login page")
    assert matches(issue, IssueQuery(text="LOGIN"))
    assert matches(issue, IssueQuery(text="demo-7"))
    assert not matches(issue, IssueQuery(text="demo-"))
    assert not matches(issue, IssueQuery(state_group=StateGroup.COMPLETED))
    assert not matches(issue, IssueQuery(assignee_id="u1"))
    assert not matches(issue, IssueQuery(label_id="l1"))
