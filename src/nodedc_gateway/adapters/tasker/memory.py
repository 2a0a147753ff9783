"""An in-memory Tasker: the fake behind unit tests and in-process embedding.

It keeps Tasker's rules that matter to the gateway (states, labels and assignees belong to
the project; keys are `IDENT-n`; a keyed create is deduplicated by external id) so tests
against it mean something; the field rules are `domain.tasker_rules`, which the
persistent sandbox checks too.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, cast

import attrs

from nodedc_gateway.domain.errors import NotFound
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
    check_ancestry,
    check_parent_project,
    default_state,
    labels_of,
    matches,
    members_of,
    no_issue,
    no_project,
    no_workspace,
    not_a_workspace_member,
    offset_of,
    page_at,
    state_of,
)
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.ids import IdGenerator


@attrs.define
class _Workspace:
    slug: str
    name: str
    agents_allowed: bool
    members: dict[str, Member] = attrs.field(factory=dict)


@attrs.define
class _Project:
    project: Project
    states: list[State] = attrs.field(factory=list)
    labels: list[Label] = attrs.field(factory=list)
    member_ids: list[str] = attrs.field(factory=list)
    next_sequence: int = 1


class MemoryTasker:
    """Implements `TaskerPort` and `SandboxAdmin` over dictionaries."""

    def __init__(self, ids: IdGenerator, clock: Clock) -> None:
        self._ids = ids
        self._clock = clock
        self._workspaces: dict[str, _Workspace] = {}
        self._users: dict[str, Member] = {}  # by email: a user is the same in every workspace
        self._projects: dict[str, _Project] = {}
        self._issues: dict[str, Issue] = {}
        self._keys: dict[tuple[str, int], str] = {}
        self._issue_external: dict[tuple[str, str], str] = {}
        self._comments: dict[str, list[Comment]] = {}
        self._comment_external: dict[tuple[str, str], Comment] = {}
        self.writes: list[tuple[str, Actor]] = []  # every write and who it was for

    # --- SandboxAdmin: what seeding may do (an agent never can) -------------------------

    async def ensure_workspace(self, slug: str, name: str, *, agents_allowed: bool = True) -> None:
        if slug not in self._workspaces:
            self._workspaces[slug] = _Workspace(slug, name, agents_allowed)

    async def set_workspace_policy(self, slug: str, *, agents_allowed: bool) -> None:
        self._workspace(slug).agents_allowed = agents_allowed

    async def ensure_workspace_member(self, slug: str, email: str, display_name: str) -> Member:
        workspace = self._workspace(slug)
        member = self._users.get(email)
        if member is None:
            member = Member(id=self._ids.new_id(), display_name=display_name, email=email)
            self._users[email] = member
        workspace.members[member.id] = member
        return member

    async def ensure_project(self, slug: str, identifier: str, name: str) -> Project:
        self._workspace(slug)
        for entry in self._projects.values():
            if entry.project.workspace_slug == slug and entry.project.identifier == identifier:
                return entry.project
        project = Project(self._ids.new_id(), slug, identifier, name)
        self._projects[project.id] = _Project(project)
        return project

    async def ensure_state(self, project_id: str, name: str, group: StateGroup) -> State:
        entry = self._project(project_id)
        for state in entry.states:
            if state.name == name:
                return state
        state = State(self._ids.new_id(), name, group)
        entry.states.append(state)
        return state

    async def ensure_label(self, project_id: str, name: str) -> Label:
        entry = self._project(project_id)
        for label in entry.labels:
            if label.name == name:
                return label
        label = Label(self._ids.new_id(), name)
        entry.labels.append(label)
        return label

    async def ensure_project_member(self, project_id: str, user_id: str) -> None:
        entry = self._project(project_id)
        if user_id not in entry.member_ids:
            entry.member_ids.append(user_id)

    # --- TaskerPort ------------------------------------------------------------------

    async def list_projects(self, workspace_slug: str) -> Sequence[Project]:
        self._workspace(workspace_slug)
        return sorted(
            (
                e.project
                for e in self._projects.values()
                if e.project.workspace_slug == workspace_slug
            ),
            key=lambda p: p.identifier,
        )

    async def find_project(self, workspace_slug: str, project_ref: str) -> Project:
        for entry in self._projects.values():
            project = entry.project
            if project.workspace_slug == workspace_slug and project_ref in (
                project.id,
                project.identifier,
            ):
                return project
        raise no_project(project_ref, workspace_slug)

    async def get_project(
        self, workspace_slug: str, project_id: str, *, fresh: bool = False
    ) -> ProjectDetails:
        """Always current here (`fresh` matters to caching backends)."""
        entry = self._project_in(workspace_slug, project_id)
        members = self._workspace(workspace_slug).members
        return ProjectDetails(
            project=entry.project,
            states=tuple(entry.states),
            labels=tuple(entry.labels),
            members=tuple(members[m] for m in entry.member_ids if m in members),
        )

    async def list_workspace_members(self, workspace_slug: str) -> Sequence[Member]:
        return sorted(self._workspace(workspace_slug).members.values(), key=lambda m: m.email)

    async def workspace_policy(self, workspace_slug: str) -> WorkspacePolicy:
        return WorkspacePolicy(workspace_slug, self._workspace(workspace_slug).agents_allowed)

    async def user_has_access(self, workspace_slug: str, user_id: str) -> bool:
        workspace = self._workspaces.get(workspace_slug)
        return workspace is not None and user_id in workspace.members

    async def search_issues(
        self, workspace_slug: str, project_id: str, query: IssueQuery
    ) -> IssuePage:
        self._project_in(workspace_slug, project_id)
        offset = offset_of(query.cursor)
        found = [
            issue
            for issue in sorted(self._issues.values(), key=lambda i: i.created_at, reverse=True)
            if issue.project_id == project_id and matches(issue, query)
        ]
        return page_at(found, offset, query.limit)

    async def get_issue(
        self, workspace_slug: str, issue_ref: str | IssueKey, project_id: str | None = None
    ) -> Issue:
        issue: Issue | None
        if isinstance(issue_ref, IssueKey):
            try:
                project = await self.find_project(workspace_slug, issue_ref.project_identifier)
            except NotFound:
                issue = None
            else:
                issue_id = self._keys.get((project.id, issue_ref.sequence_id))
                issue = self._issues.get(issue_id) if issue_id else None
        else:
            issue = self._issues.get(issue_ref)
        if (
            issue is None
            or issue.workspace_slug != workspace_slug
            or (project_id is not None and issue.project_id != project_id)
        ):
            raise no_issue(issue_ref)
        return issue

    async def list_comments(
        self, workspace_slug: str, project_id: str, issue_id: str, *, limit: int = 20
    ) -> Sequence[Comment]:
        await self.get_issue(workspace_slug, issue_id, project_id)
        return list(reversed(self._comments.get(issue_id, [])))[:limit]

    async def create_issue(
        self,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Issue:
        entry = self._project_in(workspace_slug, project_id)
        if external_id is not None and (project_id, external_id) in self._issue_external:
            return self._issues[self._issue_external[(project_id, external_id)]]
        state = (
            state_of(entry.states, draft.state_id)
            if draft.state_id
            else default_state(entry.states)
        )
        now = self._clock.now()
        sequence = entry.next_sequence
        issue = Issue(
            id=self._ids.new_id(),
            workspace_slug=workspace_slug,
            project_id=project_id,
            identifier=f"{entry.project.identifier}-{sequence}",
            name=draft.name,
            description_html=draft.description_html,
            priority=draft.priority,
            state=state,
            labels=labels_of(entry.labels, draft.label_ids),
            assignees=self._members_of(entry, draft.assignee_ids),
            parent_id=self._parent_in(entry, draft.parent_id, None),
            start_date=draft.start_date,
            target_date=draft.target_date,
            created_at=now,
            updated_at=now,
        )
        entry.next_sequence += 1
        self._issues[issue.id] = issue
        self._keys[(project_id, sequence)] = issue.id
        if external_id is not None:
            self._issue_external[(project_id, external_id)] = issue.id
        self.writes.append(("create_issue", actor))
        return issue

    async def update_issue(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        changes: IssueChanges,
        *,
        actor: Actor,
    ) -> Issue:
        entry = self._project_in(workspace_slug, project_id)
        issue = await self.get_issue(workspace_slug, issue_id, project_id)
        fields: dict[str, object] = {}
        if changes.name is not UNSET:
            fields["name"] = changes.name
        if changes.description_html is not UNSET:
            fields["description_html"] = changes.description_html
        if changes.priority is not UNSET:
            fields["priority"] = changes.priority
        if changes.state_id is not UNSET:
            fields["state"] = state_of(entry.states, changes.state_id)
        if changes.label_ids is not UNSET:
            fields["labels"] = labels_of(entry.labels, changes.label_ids)
        if changes.assignee_ids is not UNSET:
            fields["assignees"] = self._members_of(entry, changes.assignee_ids)
        if changes.start_date is not UNSET:
            fields["start_date"] = changes.start_date
        if changes.target_date is not UNSET:
            fields["target_date"] = changes.target_date
        if changes.parent_id is not UNSET:
            fields["parent_id"] = self._parent_in(entry, changes.parent_id, issue.id)
        start = fields.get("start_date", issue.start_date)
        target = fields.get("target_date", issue.target_date)
        check_dates(start, target)  # type: ignore[arg-type]
        updated = attrs.evolve(issue, updated_at=self._clock.now(), **fields)  # type: ignore[arg-type]
        self._issues[issue.id] = updated
        self.writes.append(("update_issue", actor))
        return updated

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
        issue = await self.get_issue(workspace_slug, issue_id, project_id)
        if external_id is not None and (issue.id, external_id) in self._comment_external:
            return self._comment_external[(issue.id, external_id)]
        comment = Comment(
            id=self._ids.new_id(),
            issue_id=issue.id,
            body_html=body_html,
            author_display_name=actor.display_name,
            author_email=actor.email,
            agent_id=actor.agent_id,
            created_at=self._clock.now(),
        )
        self._comments.setdefault(issue.id, []).append(comment)
        if external_id is not None:
            self._comment_external[(issue.id, external_id)] = comment
        self.writes.append(("add_comment", actor))
        return comment

    async def add_project_member(
        self, workspace_slug: str, project_id: str, user_id: str, *, actor: Actor
    ) -> Member:
        entry = self._project_in(workspace_slug, project_id)
        member = self._workspace(workspace_slug).members.get(user_id)
        if member is None:
            raise not_a_workspace_member()
        if user_id not in entry.member_ids:
            entry.member_ids.append(user_id)
            self.writes.append(("add_project_member", actor))
        return member

    async def check(self) -> None:
        return None

    # --- helpers ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Issue]:
        return copy.copy(self._issues)

    def _workspace(self, slug: str) -> _Workspace:
        workspace = self._workspaces.get(slug)
        if workspace is None:
            raise no_workspace(slug)
        return workspace

    def _project(self, project_id: str) -> _Project:
        entry = self._projects.get(project_id)
        if entry is None:
            raise NotFound(f"No project {project_id!r}.")
        return entry

    def _project_in(self, workspace_slug: str, project_id: str) -> _Project:
        entry = self._projects.get(project_id)
        if entry is None or entry.project.workspace_slug != workspace_slug:
            raise no_project(project_id, workspace_slug)
        return entry

    def _members_of(self, entry: _Project, user_ids: Sequence[str]) -> tuple[Member, ...]:
        members = self._workspace(entry.project.workspace_slug).members
        return members_of([members[m] for m in entry.member_ids if m in members], user_ids)

    def _parent_in(
        self, entry: _Project, parent_id: str | None, child_id: str | None
    ) -> str | None:
        if parent_id is None:
            return None
        parent = self._issues.get(parent_id)
        check_parent_project(parent.project_id if parent else None, entry.project.id)
        check_ancestry(self._ancestors(parent_id), child_id)
        return parent_id

    def _ancestors(self, issue_id: str | None) -> Iterator[str | None]:
        """The issue, its parent, its parent's parent, …, then None."""
        while issue_id is not None:
            yield issue_id
            issue = self._issues.get(issue_id)
            issue_id = issue.parent_id if issue else None
        yield None


if TYPE_CHECKING:  # satisfies both protocols (checked by mypy)
    from nodedc_gateway.adapters.tasker.seed import SandboxAdmin
    from nodedc_gateway.ports.tasker import TaskerPort

    _port: TaskerPort = MemoryTasker(cast("IdGenerator", None), cast("Clock", None))
    _admin: SandboxAdmin = MemoryTasker(cast("IdGenerator", None), cast("Clock", None))
