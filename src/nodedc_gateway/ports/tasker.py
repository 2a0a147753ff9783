"""The Tasker port: the intent-level operations of the primary spec, and nothing broader.

There is deliberately no delete, archive, invitation, settings or raw-request method: what
the port cannot express, no adapter can be asked to do. References arrive resolved to ids;
adapters raise `NotFound`, `ValidationFailed` or `TaskerUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nodedc_gateway.domain.tasker import (
    Actor,
    Comment,
    Issue,
    IssueChanges,
    IssueDraft,
    IssueKey,
    IssuePage,
    IssueQuery,
    Member,
    Project,
    ProjectDetails,
    WorkspacePolicy,
)


class TaskerPort(Protocol):
    async def list_projects(self, workspace_slug: str) -> Sequence[Project]: ...

    async def find_project(self, workspace_slug: str, project_ref: str) -> Project:
        """A project by UUID or identifier (`DEMO`); NotFound otherwise."""
        ...

    async def get_project(
        self, workspace_slug: str, project_id: str, *, fresh: bool = False
    ) -> ProjectDetails:
        """States, labels and members. A backend may answer from a short-lived cache;
        `fresh` asks it to look again (after a name or id the cached answer did not know)."""
        ...

    async def list_workspace_members(self, workspace_slug: str) -> Sequence[Member]: ...

    async def workspace_policy(self, workspace_slug: str) -> WorkspacePolicy: ...

    async def user_has_access(self, workspace_slug: str, user_id: str) -> bool:
        """Whether the user is a member of the workspace in Tasker."""
        ...

    async def search_issues(
        self, workspace_slug: str, project_id: str, query: IssueQuery
    ) -> IssuePage: ...

    async def get_issue(
        self, workspace_slug: str, issue_ref: str | IssueKey, project_id: str | None = None
    ) -> Issue:
        """An issue by UUID, or by key; `project_id`, when given, must match."""
        ...

    async def list_comments(
        self, workspace_slug: str, project_id: str, issue_id: str, *, limit: int = 20
    ) -> Sequence[Comment]:
        """The most recent comments, newest first."""
        ...

    async def create_issue(
        self,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Issue:
        """Create an issue. With `external_id`, a second create with the same id returns
        the first issue instead of making another."""
        ...

    async def update_issue(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        changes: IssueChanges,
        *,
        actor: Actor,
    ) -> Issue: ...

    async def add_comment(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        body_html: str,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Comment: ...

    async def add_project_member(
        self, workspace_slug: str, project_id: str, user_id: str, *, actor: Actor
    ) -> Member:
        """Add an existing workspace member to the project as a member (never a guest,
        never an invitation). Adding someone already in the project returns them."""
        ...

    async def check(self) -> None:
        """Readiness: raises `TaskerUnavailable` when Tasker cannot be reached."""
        ...
