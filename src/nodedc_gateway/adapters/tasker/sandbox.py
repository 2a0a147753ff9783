"""The sandbox Tasker: an embedded Tasker kept in the gateway's own database.

It is what `demo` and the tests run against when no real Tasker is configured, and it
keeps the rules of `MemoryTasker` (states, labels and assignees belong to the project;
keys are `IDENT-n`; a keyed create or comment is made once) with the database enforcing
what concurrency could break: sequence numbers are taken by one `UPDATE … RETURNING` of
the project row (whose lock is then held only for the inserts and the commit), and
external ids are unique per project (issues) and per issue (comments).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, Update, and_, bindparam, exists, or_, select, text, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.engine import (
    autocommit,
    insert,
    is_sqlite,
    transaction,
)
from nodedc_gateway.adapters.tasker import sandbox_rows as stored
from nodedc_gateway.adapters.turns import Turns
from nodedc_gateway.domain.errors import NotFound, TaskerUnavailable, ValidationFailed
from nodedc_gateway.domain.tasker import (
    UNSET,
    Actor,
    Comment,
    Issue,
    IssueChanges,
    IssueDraft,
    IssueKey,
    IssuePage,
    IssueQuery,
    Label,
    Member,
    Project,
    ProjectDetails,
    State,
    StateGroup,
    WorkspacePolicy,
    check_dates,
)
from nodedc_gateway.domain.tasker_rules import (
    default_state,
    labels_of,
    members_of,
    no_project,
    no_workspace,
    not_a_workspace_member,
    state_of,
)
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.ids import IdGenerator

if TYPE_CHECKING:
    from nodedc_gateway.adapters.tasker.seed import SandboxAdmin
    from nodedc_gateway.ports.tasker import TaskerPort

_ws, _users, _ws_members = t.sandbox_workspaces, t.sandbox_users, t.sandbox_workspace_members
_projects, _states, _labels = t.sandbox_projects, t.sandbox_states, t.sandbox_labels
_project_members, _issues = t.sandbox_project_members, t.sandbox_issues
_issue_labels, _issue_assignees = t.sandbox_issue_labels, t.sandbox_issue_assignees
_comments = t.sandbox_comments


#: The columns of a created issue's row other than its number: a create gives each one
#: (a missing one is an error of the driver's, not a NULL).
_ISSUE_VALUES = tuple(column.name for column in _issues.c if column.name != "sequence_id")


@functools.cache
def _take_number() -> Update:
    """The project's next sequence number taken (its row locked until the commit), for the
    project in `numbered_project` (a column's own name is reserved in a DML statement):
    built once, as it runs on every create."""
    return (
        update(_projects)
        .where(_projects.c.id == bindparam("numbered_project"))
        .values(next_sequence=_projects.c.next_sequence + 1)
        .returning(_projects.c.next_sequence)
    )


@functools.cache
def _numbered_insert() -> Insert:
    """PostgreSQL, one round trip: the UPDATE that takes the number is a data-modifying
    CTE of the INSERT that files the issue under it (run exactly once); the issue's other
    columns come with the execution's parameters, each `issue_<column>`. Built once."""
    taken = _take_number().cte("taken")
    # Named apart from the columns: execution parameters named as columns would be taken
    # for the CTE's UPDATE as well (the project has an id and a name too).
    values: dict[str, Any] = {name: bindparam(f"issue_{name}") for name in _ISSUE_VALUES}
    values["sequence_id"] = select(taken.c.next_sequence - 1).scalar_subquery()
    return sa_insert(_issues).values(values).add_cte(taken).returning(_issues.c.sequence_id)


class SqlSandboxTasker:
    """Implements `TaskerPort` and `SandboxAdmin` over the gateway database."""

    def __init__(
        self, engine: AsyncEngine, ids: IdGenerator, clock: Clock, *, recorded: bool = False
    ) -> None:
        """`recorded`: every agent write is followed by a synchronous commit in this same
        database (the gateway's record of the call, which its client waits for), so a
        create's own commit need not wait for the WAL flush: that commit flushes it
        (`relaxed_commit`, on PostgreSQL). Not for a sandbox on its own."""
        self._engine = engine
        self._ids = ids
        self._clock = clock
        self._creates = Turns()  # per project: who takes the next sequence number
        self._relaxed = recorded and not is_sqlite(engine)

    def _tx(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction."""
        return _answering(transaction(self._engine))

    def _read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """One read that stands alone: no BEGIN/COMMIT around it (PostgreSQL)."""
        return _answering(autocommit(self._engine))

    # --- SandboxAdmin: what seeding may do (an agent never can) -------------------------

    async def ensure_workspace(self, slug: str, name: str, *, agents_allowed: bool = True) -> None:
        async with self._tx() as c:
            await c.execute(
                insert(c, _ws)
                .values(slug=slug, name=name, agents_allowed=agents_allowed)
                .on_conflict_do_nothing()
            )

    async def set_workspace_policy(self, slug: str, *, agents_allowed: bool) -> None:
        async with self._tx() as c:
            result = await c.execute(
                update(_ws).where(_ws.c.slug == slug).values(agents_allowed=agents_allowed)
            )
            if result.rowcount == 0:
                raise no_workspace(slug)

    async def ensure_workspace_member(self, slug: str, email: str, display_name: str) -> Member:
        async with self._tx() as c:
            await stored.require_workspace(c, slug)
            row = await stored.insert_or_get(
                c, _users, {"email": email}, id=self._ids.new_id(), display_name=display_name
            )
            await c.execute(
                insert(c, _ws_members)
                .values(workspace_slug=slug, user_id=row.id)
                .on_conflict_do_nothing()
            )
            return stored.member_from(row)

    async def ensure_project(self, slug: str, identifier: str, name: str) -> Project:
        async with self._tx() as c:
            await stored.require_workspace(c, slug)
            row = await stored.insert_or_get(
                c,
                _projects,
                {"workspace_slug": slug, "identifier": identifier},
                id=self._ids.new_id(),
                name=name,
                next_sequence=1,
            )
            return stored.project_from(row)

    async def ensure_state(self, project_id: str, name: str, group: StateGroup) -> State:
        async with self._tx() as c:
            await stored.require_project(c, project_id)
            row = await stored.insert_or_get(
                c,
                _states,
                {"project_id": project_id, "name": name},
                id=self._ids.new_id(),
                state_group=str(group),
                position=stored.next_position(_states, project_id),
            )
            return stored.state_from(row)

    async def ensure_label(self, project_id: str, name: str) -> Label:
        async with self._tx() as c:
            await stored.require_project(c, project_id)
            row = await stored.insert_or_get(
                c,
                _labels,
                {"project_id": project_id, "name": name},
                id=self._ids.new_id(),
                position=stored.next_position(_labels, project_id),
            )
            return Label(row.id, row.name)

    async def ensure_project_member(self, project_id: str, user_id: str) -> None:
        async with self._tx() as c:
            await stored.require_project(c, project_id)
            user = (await c.execute(select(_users.c.id).where(_users.c.id == user_id))).first()
            if user is None:
                raise NotFound(f"No user {user_id!r}.")
            await stored.add_project_member(c, project_id, user_id)

    # --- TaskerPort: reads -----------------------------------------------------------

    async def list_projects(self, workspace_slug: str) -> Sequence[Project]:
        async with self._tx() as c:
            await stored.require_workspace(c, workspace_slug)
            rows = await c.execute(
                select(_projects).where(_projects.c.workspace_slug == workspace_slug)
            )
            return sorted((stored.project_from(row) for row in rows), key=lambda p: p.identifier)

    async def find_project(self, workspace_slug: str, project_ref: str) -> Project:
        async with self._tx() as c:
            row = (
                await c.execute(
                    select(_projects)
                    .where(
                        _projects.c.workspace_slug == workspace_slug,
                        or_(_projects.c.id == project_ref, _projects.c.identifier == project_ref),
                    )
                    .limit(1)
                )
            ).first()
        if row is None:
            raise no_project(project_ref, workspace_slug)
        return stored.project_from(row)

    async def get_project(
        self, workspace_slug: str, project_id: str, *, fresh: bool = False
    ) -> ProjectDetails:
        """Always current here (`fresh` matters to caching backends)."""
        async with self._tx() as c:
            project = await stored.project_in(c, workspace_slug, project_id)
            return ProjectDetails(
                project=project,
                states=tuple(await stored.project_states(c, project_id)),
                labels=tuple(await stored.project_labels(c, project_id)),
                members=tuple(await stored.project_member_list(c, project)),
            )

    async def list_workspace_members(self, workspace_slug: str) -> Sequence[Member]:
        async with self._tx() as c:
            await stored.require_workspace(c, workspace_slug)
            rows = await c.execute(
                select(_users)
                .join(_ws_members, _ws_members.c.user_id == _users.c.id)
                .where(_ws_members.c.workspace_slug == workspace_slug)
            )
            return sorted((stored.member_from(row) for row in rows), key=lambda m: m.email)

    async def workspace_policy(self, workspace_slug: str) -> WorkspacePolicy:
        async with self._read() as c:  # asked on every agent call: one round trip
            row = await stored.require_workspace(c, workspace_slug)
        return WorkspacePolicy(workspace_slug, bool(row.agents_allowed))

    async def user_has_access(self, workspace_slug: str, user_id: str) -> bool:
        async with self._tx() as c:
            row = (
                await c.execute(
                    select(_ws_members.c.user_id).where(
                        _ws_members.c.workspace_slug == workspace_slug,
                        _ws_members.c.user_id == user_id,
                    )
                )
            ).first()
        return row is not None

    async def search_issues(
        self, workspace_slug: str, project_id: str, query: IssueQuery
    ) -> IssuePage:
        after = stored.decode_cursor(query.cursor)
        async with self._tx() as c:
            project = await stored.project_in(c, workspace_slug, project_id)
            i = _issues.c
            stmt = select(i.id, i.created_at, i.sequence_id).where(i.project_id == project_id)
            folded = (query.text or "").casefold()
            if folded:
                stmt = stmt.where(stored.matches_text(c, project, folded))
            if query.state_group is not None:
                stmt = stmt.where(
                    exists().where(
                        _states.c.id == i.state_id,
                        _states.c.state_group == str(query.state_group),
                    )
                )
            if query.assignee_id is not None:
                stmt = stmt.where(
                    exists().where(
                        _issue_assignees.c.issue_id == i.id,
                        _issue_assignees.c.user_id == query.assignee_id,
                    )
                )
            if query.label_id is not None:
                stmt = stmt.where(
                    exists().where(
                        _issue_labels.c.issue_id == i.id,
                        _issue_labels.c.label_id == query.label_id,
                    )
                )
            if after is not None:  # keyset: strictly older than the last item shown
                at, sequence = after
                stmt = stmt.where(
                    or_(i.created_at < at, and_(i.created_at == at, i.sequence_id < sequence))
                )
            stmt = stmt.order_by(i.created_at.desc(), i.sequence_id.desc()).limit(query.limit + 1)
            rows = list(await c.execute(stmt))
            page, more = rows[: query.limit], len(rows) > query.limit
            issues = await stored.load_issues(c, [row.id for row in page])
        next_cursor = (
            stored.encode_cursor(page[-1].created_at, page[-1].sequence_id) if more else None
        )
        return IssuePage(tuple(issues), next_cursor)

    async def get_issue(
        self, workspace_slug: str, issue_ref: str | IssueKey, project_id: str | None = None
    ) -> Issue:
        async with self._tx() as c:
            return await stored.get_issue(c, workspace_slug, issue_ref, project_id)

    async def list_comments(
        self, workspace_slug: str, project_id: str, issue_id: str, *, limit: int = 20
    ) -> Sequence[Comment]:
        async with self._tx() as c:
            await stored.get_issue(c, workspace_slug, issue_id, project_id)
            rows = await c.execute(
                select(_comments)
                .where(_comments.c.issue_id == issue_id)
                .order_by(_comments.c.created_at.desc(), _comments.c.id.desc())
                .limit(limit)
            )
            return [stored.comment_from(row) for row in rows]

    # --- TaskerPort: writes ----------------------------------------------------------

    async def create_issue(
        self,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Issue:
        try:
            async with self._tx() as c:
                return await self._create_issue(
                    c, workspace_slug, project_id, draft, actor, external_id
                )
        except (IntegrityError, ValidationFailed):
            # A keyed create whose external_id is taken (a retry, or a race): the unique
            # (project, external_id) refused the second card, and its number with it (the
            # whole statement, or on SQLite the transaction, is undone); answer with the
            # one that is there. So too when the draft no longer fits the project (a
            # state, label, member or parent gone since the first): the card was made.
            if external_id is None:
                raise
            async with self._tx() as c:
                existing = await stored.issue_by_external_id(c, project_id, external_id)
            if existing is None:
                raise
            return existing

    async def _create_issue(
        self,
        c: AsyncConnection,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        actor: Actor,
        external_id: str | None,
    ) -> Issue:
        # Everything is read before anything is written: the project row is locked only
        # by taking the next sequence number below, so creates in one project queue on
        # it for their last few statements rather than for the whole transaction (a long
        # queue on a row lock is not served in order, and its tail grows with it). A
        # keyed create does not look its external_id up first: the unique (project,
        # external_id) refuses a second card, and `create_issue` then answers with the
        # first. (The lookup, joined to this read, cost every keyed create an index probe
        # the common case never needed, and on PostgreSQL its plan, cached while the
        # table was small, could scan every card of the project instead.)
        project, states = await stored.project_for_create(
            c, workspace_slug, project_id, relaxed=self._relaxed
        )
        state = state_of(states, draft.state_id) if draft.state_id else default_state(states)
        # The labels and members are read only when the draft names some (as an update
        # does): a card without them needs neither list.
        labels = (
            labels_of(await stored.project_labels(c, project_id), draft.label_ids)
            if draft.label_ids
            else ()
        )
        assignees = (
            members_of(await stored.project_member_list(c, project), draft.assignee_ids)
            if draft.assignee_ids
            else ()
        )
        parent_id = await stored.parent_in(c, project_id, draft.parent_id, None)
        # Read just before the turn is asked for (no await between): this process's
        # creates in a project are numbered in the order of their times.
        now = self._clock.now()
        row: dict[str, Any] = {
            "id": self._ids.new_id(),
            "project_id": project_id,
            "name": draft.name,
            "name_folded": draft.name.casefold(),
            "description_html": draft.description_html,
            "priority": str(draft.priority),
            "state_id": state.id,
            "parent_id": parent_id,
            "start_date": draft.start_date,
            "target_date": draft.target_date,
            "external_id": external_id,
            "created_by_agent_id": actor.agent_id,
            "created_by_owner_user_id": actor.owner_user_id,
            "updated_by_agent_id": actor.agent_id,
            "created_at": now,
            "updated_at": now,
        }
        # From here to the commit the project row is locked: nothing but the writes.
        # This process's creates in the project lock it in turn (`Turns`: first come,
        # first served), so at most one of them waits on the row at a time; its turn ends
        # once the row is its own, and the next create's UPDATE then waits in the
        # database, going ahead the moment this one commits. PostgreSQL does not serve a
        # row's waiters in order: with 16 callers the unluckiest waited 4x the median.
        if is_sqlite(c):
            async with self._creates.of(project_id):
                taken = await c.execute(_take_number(), {"numbered_project": project_id})
                number = taken.scalar_one() - 1
            await c.execute(sa_insert(_issues), {**row, "sequence_id": number})
        else:
            async with self._creates.of(project_id):
                numbered = {f"issue_{name}": value for name, value in row.items()}
                numbered["numbered_project"] = project_id
                number = (await c.execute(_numbered_insert(), numbered)).scalar_one()
        issue = Issue(
            id=row["id"],
            workspace_slug=project.workspace_slug,
            project_id=project_id,
            identifier=f"{project.identifier}-{number}",
            name=draft.name,
            description_html=draft.description_html,
            priority=draft.priority,
            state=state,
            labels=tuple(labels),
            assignees=tuple(assignees),
            parent_id=parent_id,
            start_date=draft.start_date,
            target_date=draft.target_date,
            created_at=now,
            updated_at=now,
        )
        await stored.write_labels(c, issue.id, labels)
        await stored.write_assignees(c, issue.id, assignees)
        return issue  # what was written, as `load_issues` would read it back

    async def update_issue(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        changes: IssueChanges,
        *,
        actor: Actor,
    ) -> Issue:
        async with self._tx() as c:
            project = await stored.project_in(c, workspace_slug, project_id)
            # Lock the issue: two updates of one card apply one after the other, so a
            # label or assignee replacement is never interleaved with another.
            issue = await stored.get_issue(c, workspace_slug, issue_id, project_id, lock=True)
            values: dict[str, Any] = {}
            labels = assignees = None
            if changes.name is not UNSET:
                values["name"] = changes.name
                values["name_folded"] = changes.name.casefold()
            if changes.description_html is not UNSET:
                values["description_html"] = changes.description_html
            if changes.priority is not UNSET:
                values["priority"] = str(changes.priority)
            if changes.state_id is not UNSET:
                values["state_id"] = state_of(
                    await stored.project_states(c, project_id), changes.state_id
                ).id
            if changes.label_ids is not UNSET:
                labels = labels_of(await stored.project_labels(c, project_id), changes.label_ids)
            if changes.assignee_ids is not UNSET:
                assignees = members_of(
                    await stored.project_member_list(c, project), changes.assignee_ids
                )
            if changes.start_date is not UNSET:
                values["start_date"] = changes.start_date
            if changes.target_date is not UNSET:
                values["target_date"] = changes.target_date
            if changes.parent_id is not UNSET:
                values["parent_id"] = await stored.parent_in(
                    c, project_id, changes.parent_id, issue.id
                )
            check_dates(
                values.get("start_date", issue.start_date),
                values.get("target_date", issue.target_date),
            )
            values["updated_at"] = self._clock.now()
            values["updated_by_agent_id"] = actor.agent_id
            await c.execute(update(_issues).where(_issues.c.id == issue.id).values(values))
            if labels is not None:
                await c.execute(_issue_labels.delete().where(_issue_labels.c.issue_id == issue.id))
                await stored.write_labels(c, issue.id, labels)
            if assignees is not None:
                await c.execute(
                    _issue_assignees.delete().where(_issue_assignees.c.issue_id == issue.id)
                )
                await stored.write_assignees(c, issue.id, assignees)
            return (await stored.load_issues(c, [issue.id]))[0]

    async def add_comment(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        body_html: str,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Comment:
        async with self._tx() as c:
            issue = await stored.get_issue(c, workspace_slug, issue_id, project_id)
            comment_id = self._ids.new_id()
            # A keyed comment that exists already wins; the unique (issue, external_id)
            # decides between concurrent ones.
            await c.execute(
                insert(c, _comments)
                .values(
                    id=comment_id,
                    issue_id=issue.id,
                    body_html=body_html,
                    author_display_name=actor.display_name,
                    author_email=actor.email,
                    agent_id=actor.agent_id,
                    owner_user_id=actor.owner_user_id,
                    external_id=external_id,
                    created_at=self._clock.now(),
                )
                .on_conflict_do_nothing(
                    index_elements=[_comments.c.issue_id, _comments.c.external_id]
                )
            )
            wanted = (
                _comments.c.id == comment_id
                if external_id is None
                else and_(_comments.c.issue_id == issue.id, _comments.c.external_id == external_id)
            )
            row = (await c.execute(select(_comments).where(wanted))).one()
            return stored.comment_from(row)

    async def add_project_member(
        self, workspace_slug: str, project_id: str, user_id: str, *, actor: Actor
    ) -> Member:
        async with self._tx() as c:
            await stored.project_in(c, workspace_slug, project_id)
            row = (
                await c.execute(
                    select(_users)
                    .join(_ws_members, _ws_members.c.user_id == _users.c.id)
                    .where(_ws_members.c.workspace_slug == workspace_slug, _users.c.id == user_id)
                )
            ).first()
            if row is None:
                raise not_a_workspace_member()
            await stored.add_project_member(c, project_id, user_id)
            return stored.member_from(row)

    async def check(self) -> None:
        async with self._tx() as c:
            await c.execute(text("SELECT 1"))


@asynccontextmanager
async def _answering(
    opened: AbstractAsyncContextManager[AsyncConnection],
) -> AsyncIterator[AsyncConnection]:
    """`opened`'s connection; a database that cannot be reached is Tasker being unavailable."""
    try:
        async with opened as connection:
            yield connection
    except (OperationalError, InterfaceError) as error:
        raise TaskerUnavailable("The sandbox Tasker's database is not answering.") from error


if TYPE_CHECKING:  # mypy proves the adapter fits both protocols

    def _fits_port(tasker: SqlSandboxTasker) -> TaskerPort:
        return tasker

    def _fits_admin(tasker: SqlSandboxTasker) -> SandboxAdmin:
        return tasker
