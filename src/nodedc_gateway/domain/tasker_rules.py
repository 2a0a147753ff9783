"""Tasker's rules for a card's fields, as every in-process Tasker checks them.

States, labels and assignees belong to the card's project; a parent is an issue of the same
project and never the card itself or one of its descendants; a new card without a state
gets the project's default; a search finds what `matches` says. Every in-process Tasker
(in-memory, the SQL sandbox, the Plane adapter's own checks) calls these, so they refuse
and find the same things with the same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.tasker import (
    Issue,
    IssuePage,
    IssueQuery,
    Label,
    Member,
    State,
    StateGroup,
)

MAX_ANCESTRY = 10_000  # parent chains are acyclic by construction; this only bounds a walk
MAX_CURSOR = 64


def state_of(states: Sequence[State], state_id: str) -> State:
    """The project's state with this id; anything else names the states there are."""
    for state in states:
        if state.id == state_id:
            return state
    raise ValidationFailed.choice("state", state_id, "state", (s.name for s in states))


def default_state(states: Sequence[State]) -> State:
    """Tasker's default for a new card: the first backlog state, else the first unstarted
    one, else the first state."""
    for group in (StateGroup.BACKLOG, StateGroup.UNSTARTED):
        for state in states:
            if state.group is group:
                return state
    if not states:
        raise ValidationFailed.field("state", "the project has no states")
    return states[0]


def labels_of(labels: Sequence[Label], label_ids: Sequence[str]) -> tuple[Label, ...]:
    """The project's labels with these ids, each once, in the order given."""
    by_id = {label.id: label for label in labels}
    unknown = [i for i in label_ids if i not in by_id]
    if unknown:
        raise ValidationFailed.choice("labels", unknown[0], "label", (lb.name for lb in labels))
    return tuple(by_id[i] for i in dict.fromkeys(label_ids))


def members_of(members: Sequence[Member], user_ids: Sequence[str]) -> tuple[Member, ...]:
    """The project's members with these ids, each once, in the order given."""
    by_id = {member.id: member for member in members}
    unknown = [u for u in user_ids if u not in by_id]
    if unknown:
        raise ValidationFailed.choice(
            "assignees", unknown[0], "project member", (m.email for m in members)
        )
    return tuple(by_id[u] for u in dict.fromkeys(user_ids))


def check_parent_project(parent_project_id: str | None, project_id: str) -> None:
    """A parent must exist (`parent_project_id` None means it does not) in the same project."""
    if parent_project_id != project_id:
        raise parent_elsewhere()


def check_ancestry(chain: Iterable[str | None], child_id: str | None) -> None:
    """`chain` walks up from the parent (the parent, its parent, …, None at the top): the
    child may not be in it, or the card would be its own ancestor."""
    for depth, ancestor in enumerate(chain):
        if ancestor is None:
            return
        if depth >= MAX_ANCESTRY:
            break
        if ancestor == child_id:
            raise own_ancestor()
    else:
        return
    raise parent_chain_too_deep()


def parent_elsewhere() -> ValidationFailed:
    return ValidationFailed.field("parent", "must be an issue of the same project")


def own_ancestor() -> ValidationFailed:
    return ValidationFailed.field("parent", "would make the issue its own ancestor")


def parent_chain_too_deep() -> ValidationFailed:
    return ValidationFailed.field("parent", "the parent chain is too deep")


def no_workspace(workspace_slug: str) -> NotFound:
    return NotFound(f"No workspace {workspace_slug!r}.")


def no_project(project_ref: str, workspace_slug: str) -> NotFound:
    return NotFound(f"No project {project_ref!r} in workspace {workspace_slug!r}.")


def no_issue(issue_ref: object) -> NotFound:
    return NotFound(f"No issue {issue_ref} here.")


def not_a_workspace_member() -> NotFound:
    """Adding to a project someone outside the workspace: agents never invite."""
    return NotFound("That user is not a member of the workspace; agents never invite.")


def tasker_id(value: object, what: str) -> str:
    """An id Tasker could hold (a UUID, lower-cased); anything else names nothing there."""
    if not isinstance(value, str) or not validation.is_uuid(value):
        raise NotFound(f"No {what} {value!r} here.")
    return value.lower()


def not_a_cursor() -> ValidationFailed:
    """The refusal of a search cursor this Tasker did not hand out."""
    return ValidationFailed.field("cursor", "not a cursor this search returned")


def matches(issue: Issue, query: IssueQuery) -> bool:
    """Whether a search finds the issue: the text (case-folded) in its name or as its
    whole key, and the state group, assignee and label when the query names them."""
    text = (query.text or "").casefold()
    return (
        (not text or text in issue.name.casefold() or text == issue.identifier.casefold())
        and (query.state_group is None or issue.state.group is query.state_group)
        and (query.assignee_id is None or any(a.id == query.assignee_id for a in issue.assignees))
        and (query.label_id is None or any(lb.id == query.label_id for lb in issue.labels))
    )


def offset_of(cursor: str | None) -> int:
    """The position a search that pages by position handed out as its cursor."""
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 9:
        raise not_a_cursor()
    return int(cursor)


def page_at(found: Sequence[Issue], offset: int, limit: int) -> IssuePage:
    """The page of `found` (newest first, at least up to one past the page) at `offset`,
    with the next page's cursor if there is more."""
    more = len(found) > offset + limit
    return IssuePage(tuple(found[offset : offset + limit]), str(offset + limit) if more else None)
