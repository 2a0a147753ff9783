"""The sandbox Tasker's rows: reading them into Tasker values, the parent rule over
them, writing labels, assignees and members, and the search's text match and cursor."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.engine import (
    insert,
    is_sqlite,
    relaxed_commit,
)
from nodedc_gateway.adapters.persistence.sql.mapping import AnyRow
from nodedc_gateway.domain.canonical import to_microseconds
from nodedc_gateway.domain.errors import NotFound
from nodedc_gateway.domain.tasker import (
    Comment,
    Issue,
    IssueKey,
    Label,
    Member,
    Priority,
    Project,
    State,
    StateGroup,
)
from nodedc_gateway.domain.tasker_rules import (
    MAX_ANCESTRY,
    MAX_CURSOR,
    check_ancestry,
    check_parent_project,
    no_issue,
    no_project,
    no_workspace,
    not_a_cursor,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_ws, _users, _ws_members = t.sandbox_workspaces, t.sandbox_users, t.sandbox_workspace_members
_projects, _states, _labels = t.sandbox_projects, t.sandbox_states, t.sandbox_labels
_project_members, _issues = t.sandbox_project_members, t.sandbox_issues
_issue_labels, _issue_assignees = t.sandbox_issue_labels, t.sandbox_issue_assignees
_comments = t.sandbox_comments


# --- reading rows ------------------------------------------------------------------------


def member_from(row: AnyRow) -> Member:
    return Member(id=row.id, display_name=row.display_name, email=row.email)


def project_from(row: AnyRow) -> Project:
    return Project(row.id, row.workspace_slug, row.identifier, row.name)


def state_from(row: AnyRow) -> State:
    return State(row.id, row.name, StateGroup(row.state_group))


def comment_from(row: AnyRow) -> Comment:
    return Comment(
        id=row.id,
        issue_id=row.issue_id,
        body_html=row.body_html,
        author_display_name=row.author_display_name,
        author_email=row.author_email,
        agent_id=row.agent_id,
        created_at=row.created_at,
    )


def agents_allowed_in(slug: Any) -> Any:
    """Whether the workspace `slug` (a value or a bound parameter) lets agents in, as a
    scalar subquery: NULL when there is no such workspace. For a statement of the
    gateway's that reads the policy beside its own tables (the admission)."""
    return select(_ws.c.agents_allowed).where(_ws.c.slug == slug).scalar_subquery()


async def require_workspace(c: AsyncConnection, slug: str) -> AnyRow:
    row = (await c.execute(select(_ws).where(_ws.c.slug == slug))).first()
    if row is None:
        raise no_workspace(slug)
    return row


async def require_project(c: AsyncConnection, project_id: str) -> None:
    row = (await c.execute(select(_projects.c.id).where(_projects.c.id == project_id))).first()
    if row is None:
        raise NotFound(f"No project {project_id!r}.")


async def project_in(c: AsyncConnection, workspace_slug: str, project_id: str) -> Project:
    values = {"project_id": project_id, "workspace_slug": workspace_slug}
    row = (await c.execute(_project_query(), values)).first()
    if row is None:
        raise no_project(project_id, workspace_slug)
    return project_from(row)


async def project_for_create(
    c: AsyncConnection,
    workspace_slug: str,
    project_id: str,
    *,
    relaxed: bool = False,
) -> tuple[Project, list[State]]:
    """What a create reads before it writes, in one round trip: the project and its states
    in their order. With `relaxed` (PostgreSQL), the transaction it runs in then commits
    without waiting for the WAL flush (`relaxed_commit`)."""
    values = {"project_id": project_id, "workspace_slug": workspace_slug}
    rows = (await c.execute(_project_query(states=True, relaxed=relaxed), values)).all()
    if not rows:
        raise no_project(project_id, workspace_slug)
    states = [
        State(row.state_id, row.state_name, StateGroup(row.state_group))
        for row in rows
        if row.state_id is not None
    ]
    return project_from(rows[0]), states


@functools.cache
def _project_query(*, states: bool = False, relaxed: bool = False) -> Select[Any]:
    """The project by id in its workspace, with one row per state of it (in their order;
    one row of NULLs when it has none) when `states`: built once (SQLAlchemy then
    memoizes its cache key too), as it runs on every create."""
    columns: list[Any] = [_projects]
    joined: Any = _projects
    if states:
        joined = joined.outerjoin(_states, _states.c.project_id == _projects.c.id)
        columns += [
            _states.c.id.label("state_id"),
            _states.c.name.label("state_name"),
            _states.c.state_group,
        ]
    if relaxed:
        joined = relaxed_commit().join(joined, true())
    query = (
        select(*columns)
        .select_from(joined)
        .where(
            _projects.c.id == bindparam("project_id"),
            _projects.c.workspace_slug == bindparam("workspace_slug"),
        )
    )
    return query.order_by(_states.c.position, _states.c.id) if states else query


async def project_states(c: AsyncConnection, project_id: str) -> list[State]:
    rows = await c.execute(
        select(_states)
        .where(_states.c.project_id == project_id)
        .order_by(_states.c.position, _states.c.id)
    )
    return [state_from(row) for row in rows]


async def project_labels(c: AsyncConnection, project_id: str) -> list[Label]:
    rows = await c.execute(
        select(_labels)
        .where(_labels.c.project_id == project_id)
        .order_by(_labels.c.position, _labels.c.id)
    )
    return [Label(row.id, row.name) for row in rows]


async def project_member_list(c: AsyncConnection, project: Project) -> list[Member]:
    """The project's members (who are still in its workspace), in the order they joined."""
    rows = await c.execute(
        select(_users)
        .join(_project_members, _project_members.c.user_id == _users.c.id)
        .join(
            _ws_members,
            and_(
                _ws_members.c.user_id == _users.c.id,
                _ws_members.c.workspace_slug == project.workspace_slug,
            ),
        )
        .where(_project_members.c.project_id == project.id)
        .order_by(_project_members.c.position, _users.c.id)
    )
    return [member_from(row) for row in rows]


async def get_issue(
    c: AsyncConnection,
    workspace_slug: str,
    issue_ref: str | IssueKey,
    project_id: str | None,
    *,
    lock: bool = False,
) -> Issue:
    i = _issues.c
    query = select(i.id).join(_projects, _projects.c.id == i.project_id)
    query = query.where(_projects.c.workspace_slug == workspace_slug)
    if isinstance(issue_ref, IssueKey):
        query = query.where(
            or_(
                _projects.c.identifier == issue_ref.project_identifier,
                _projects.c.id == issue_ref.project_identifier,
            ),
            i.sequence_id == issue_ref.sequence_id,
        )
    else:
        query = query.where(i.id == issue_ref)
    if project_id is not None:
        query = query.where(i.project_id == project_id)
    if lock:
        query = query.with_for_update(of=_issues)
    row = (await c.execute(query.limit(1))).first()
    if row is None:
        raise no_issue(issue_ref)
    return (await load_issues(c, [row.id]))[0]


async def issue_by_external_id(
    c: AsyncConnection, project_id: str, external_id: str
) -> Issue | None:
    row = (
        await c.execute(
            select(_issues.c.id).where(
                _issues.c.project_id == project_id, _issues.c.external_id == external_id
            )
        )
    ).first()
    return (await load_issues(c, [row.id]))[0] if row is not None else None


async def load_issues(c: AsyncConnection, issue_ids: Sequence[str]) -> list[Issue]:
    """Whole issues (state, labels, assignees, key), in the order of `issue_ids`."""
    if not issue_ids:
        return []
    i = _issues.c
    rows = await c.execute(
        select(
            _issues,
            _states.c.name.label("state_name"),
            _states.c.state_group,
            _projects.c.identifier,
            _projects.c.workspace_slug,
        )
        .join(_states, _states.c.id == i.state_id)
        .join(_projects, _projects.c.id == i.project_id)
        .where(i.id.in_(list(issue_ids)))
    )
    labels: dict[str, list[Label]] = {issue_id: [] for issue_id in issue_ids}
    for row in await c.execute(
        select(_issue_labels.c.issue_id, _labels.c.id, _labels.c.name)
        .join(_labels, _labels.c.id == _issue_labels.c.label_id)
        .where(_issue_labels.c.issue_id.in_(list(issue_ids)))
        .order_by(_issue_labels.c.issue_id, _issue_labels.c.position)
    ):
        labels[row.issue_id].append(Label(row.id, row.name))
    assignees: dict[str, list[Member]] = {issue_id: [] for issue_id in issue_ids}
    for row in await c.execute(
        select(_issue_assignees.c.issue_id, _users)
        .join(_users, _users.c.id == _issue_assignees.c.user_id)
        .where(_issue_assignees.c.issue_id.in_(list(issue_ids)))
        .order_by(_issue_assignees.c.issue_id, _issue_assignees.c.position)
    ):
        assignees[row.issue_id].append(member_from(row))
    by_id = {
        row.id: Issue(
            id=row.id,
            workspace_slug=row.workspace_slug,
            project_id=row.project_id,
            identifier=f"{row.identifier}-{row.sequence_id}",
            name=row.name,
            description_html=row.description_html,
            priority=Priority(row.priority),
            state=State(row.state_id, row.state_name, StateGroup(row.state_group)),
            labels=tuple(labels[row.id]),
            assignees=tuple(assignees[row.id]),
            parent_id=row.parent_id,
            start_date=row.start_date,
            target_date=row.target_date,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    }
    return [by_id[issue_id] for issue_id in issue_ids if issue_id in by_id]


# --- the parent rule, over rows ------------------------------------------------------------


async def parent_in(
    c: AsyncConnection, project_id: str, parent_id: str | None, child_id: str | None
) -> str | None:
    if parent_id is None:
        return None
    row = (
        await c.execute(
            select(_issues.c.project_id, _issues.c.parent_id).where(_issues.c.id == parent_id)
        )
    ).first()
    check_parent_project(row.project_id if row else None, project_id)
    chain: list[str | None] = [parent_id]
    while chain[-1] is not None and chain[-1] != child_id and len(chain) <= MAX_ANCESTRY:
        chain.append(
            (
                await c.execute(select(_issues.c.parent_id).where(_issues.c.id == chain[-1]))
            ).scalar_one_or_none()
        )
    check_ancestry(chain, child_id)
    return parent_id


# --- writing rows ------------------------------------------------------------------------


def next_position(table: Any, project_id: str) -> Any:
    """The next place in a project's list (states, labels, members), in insertion order."""
    return (
        select(func.coalesce(func.max(table.c.position), 0) + 1)
        .where(table.c.project_id == project_id)
        .scalar_subquery()
    )


async def add_project_member(c: AsyncConnection, project_id: str, user_id: str) -> None:
    await c.execute(
        insert(c, _project_members)
        .values(
            project_id=project_id,
            user_id=user_id,
            position=next_position(_project_members, project_id),
        )
        .on_conflict_do_nothing()
    )


async def insert_or_get(
    c: AsyncConnection, table: Table, key: Mapping[str, Any], **values: Any
) -> AnyRow:
    """The row whose unique `key` columns hold these values, inserted with `values` unless
    it exists already (then it is left as it is)."""
    await c.execute(insert(c, table).values(**key, **values).on_conflict_do_nothing())
    wanted = [table.c[column] == value for column, value in key.items()]
    return (await c.execute(select(table).where(*wanted))).one()


async def write_labels(c: AsyncConnection, issue_id: str, labels: Sequence[Label]) -> None:
    await _write_in_order(c, _issue_labels, issue_id, "label_id", [lb.id for lb in labels])


async def write_assignees(c: AsyncConnection, issue_id: str, members: Sequence[Member]) -> None:
    await _write_in_order(c, _issue_assignees, issue_id, "user_id", [m.id for m in members])


async def _write_in_order(
    c: AsyncConnection, table: Table, issue_id: str, column: str, ids: Sequence[str]
) -> None:
    """The issue's links to `ids`, in their order (the card shows them so)."""
    if ids:
        await c.execute(
            insert(c, table),
            [{"issue_id": issue_id, column: id_, "position": n} for n, id_ in enumerate(ids)],
        )


# --- search ------------------------------------------------------------------------------


def matches_text(c: AsyncConnection, project: Project, folded: str) -> ColumnElement[bool]:
    """Like MemoryTasker: the casefolded text is in the casefolded name, or is the key."""
    position = (
        func.instr(_issues.c.name_folded, folded)
        if is_sqlite(c)
        else func.strpos(_issues.c.name_folded, folded)
    )
    condition: ColumnElement[bool] = position > 0
    prefix = project.identifier.casefold() + "-"
    number = folded.removeprefix(prefix)
    if (
        folded.startswith(prefix)
        and number.isascii()
        and number.isdigit()
        and str(int(number)) == number
    ):
        condition = or_(condition, _issues.c.sequence_id == int(number))
    return condition


def encode_cursor(created_at: datetime, sequence_id: int) -> str:
    raw = f"{to_microseconds(created_at)}.{sequence_id}".encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (created_at, sequence) of the last issue a previous page showed."""
    if cursor is None:
        return None
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        micros, sequence = raw.split(".")
        return _EPOCH + timedelta(microseconds=int(micros)), int(sequence)
    except (ValueError, binascii.Error, OverflowError):
        raise not_a_cursor() from None
