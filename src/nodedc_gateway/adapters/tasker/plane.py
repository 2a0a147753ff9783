"""Tasker as Plane's REST API v1 (`/api/v1/`, `X-API-Key`).

Plane's API is broad; this adapter uses a closed handful of its routes (`PLANE_ROUTES`),
each with an allow-list of fields, and never a DELETE, an archive, an invitation or a
settings path. What Plane does not check for us, the adapter checks before writing:
labels and assignees outside the project (Plane drops them silently), dates against the
card's current dates (Plane compares them only within one request), parent cycles, and
workspace guests being made project members. Plane has no bot users yet, so the agent's
writes are signed in a footer and in `external_source` (see `attribution`).

Configuration decides which workspaces exist for the gateway (Plane cannot list them) and
whether each lets agents work in it (its policy); a user has access to a workspace when
Plane lists them among its members. Docs: `docs/plane.md`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import httpx

from nodedc_gateway.adapters.http_resilience import BreakerPolicy, RetryPolicy, Timing
from nodedc_gateway.adapters.service_client import ServiceClient, x_api_key
from nodedc_gateway.adapters.tasker import attribution
from nodedc_gateway.adapters.tasker import plane_answers as answers
from nodedc_gateway.adapters.tasker.plane_api import (
    DEFAULT_PAGE_SIZE,
    MEMBER_ROLE,
    PLANE_ROUTES,
    PlaneApi,
)
from nodedc_gateway.adapters.tasker.plane_memo import PlaneMemo
from nodedc_gateway.adapters.tasker.plane_projects import PlaneProjects
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import NotFound, TaskerUnavailable, ValidationFailed
from nodedc_gateway.domain.secret import SecretStr
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
    Member,
    Project,
    ProjectDetails,
    WorkspacePolicy,
    check_dates,
)
from nodedc_gateway.domain.tasker_rules import (
    matches,
    no_issue,
    not_a_workspace_member,
    offset_of,
    own_ancestor,
    page_at,
    parent_chain_too_deep,
    parent_elsewhere,
    tasker_id,
)

SERVICE: Final = answers.SERVICE
MAX_PARENT_DEPTH: Final = 64
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0, pool=3.0)


class PlaneTasker:
    """Implements `TaskerPort` over Plane's REST API v1.

    `workspaces` maps each workspace slug the gateway may use to whether its policy lets
    agents work there; it is read on every call, so a configuration reload takes effect.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr,
        workspaces: Mapping[str, bool],
        client: httpx.AsyncClient | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        timing: Timing | None = None,
        details_ttl_s: float = 30.0,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not 1 <= page_size <= 1000:  # Plane refuses per_page above 1000
            raise ValueError("page_size must be between 1 and 1000")
        self._workspaces = workspaces
        self._timing = timing or Timing()
        self._http = ServiceClient(
            base=base_url.rstrip("/") + "/api/v1/",
            credential=x_api_key(api_key),
            service=SERVICE,
            unavailable=TaskerUnavailable,
            client=client,
            timeout=timeout,
            retry=retry,
            breaker=breaker,
            timing=self._timing,
            wall_clock=wall_clock,
        )
        self._api = PlaneApi(self._http, page_size)
        self._memo = PlaneMemo(self._timing.monotonic, details_ttl_s)
        self._projects = PlaneProjects(self._api, self._memo, workspaces)

    def __repr__(self) -> str:
        return f"PlaneTasker(base={self._http.base!r}, workspaces={sorted(self._workspaces)!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- workspaces and projects ----------------------------------------------------------

    async def list_projects(self, workspace_slug: str) -> Sequence[Project]:
        """The workspace's projects, at most `details_ttl_s` old."""
        return await self._projects.listed(workspace_slug)

    async def find_project(self, workspace_slug: str, project_ref: str) -> Project:
        return await self._projects.find(workspace_slug, project_ref)

    async def get_project(
        self, workspace_slug: str, project_id: str, *, fresh: bool = False
    ) -> ProjectDetails:
        """States, labels and members, at most `details_ttl_s` old unless `fresh`."""
        if fresh:
            return await self._projects.fresh_details(workspace_slug, project_id)
        return await self._projects.details(workspace_slug, project_id)

    async def list_workspace_members(self, workspace_slug: str) -> Sequence[Member]:
        members = await self._projects.workspace_members(workspace_slug)
        return sorted((answers.member_of(raw) for raw in members), key=lambda m: m.email)

    async def workspace_policy(self, workspace_slug: str) -> WorkspacePolicy:
        return WorkspacePolicy(workspace_slug, self._projects.policy(workspace_slug))

    async def user_has_access(self, workspace_slug: str, user_id: str) -> bool:
        if workspace_slug not in self._workspaces:
            return False
        try:
            members = await self._projects.workspace_members(workspace_slug)
        except NotFound:  # configured, but Plane does not let its user in (403)
            return False
        return any(str(raw.get("id")) == user_id for raw in members)

    # --- issues ---------------------------------------------------------------------------

    async def search_issues(
        self, workspace_slug: str, project_id: str, query: IssueQuery
    ) -> IssuePage:
        # Plane's list has no filters: walk it newest first and filter here, stopping as
        # soon as the page (and whether there is more) is known.
        details = await self._projects.details(workspace_slug, project_id)
        offset = offset_of(query.cursor)
        wanted = offset + query.limit + 1
        found: list[Issue] = []
        async for raw in self._api.paged(
            "work_items",
            slug=workspace_slug,
            project_id=details.project.id,
            order_by="-created_at",
        ):
            issue = await self._issue(details, raw)
            if matches(issue, query):
                found.append(issue)
                if len(found) >= wanted:
                    break
        return page_at(found, offset, query.limit)

    async def get_issue(
        self, workspace_slug: str, issue_ref: str | IssueKey, project_id: str | None = None
    ) -> Issue:
        self._projects.policy(workspace_slug)
        wanted_project = project_id.lower() if project_id is not None else None
        if isinstance(issue_ref, IssueKey):
            raw = await self._api.get_json(
                "work_item_by_key", slug=workspace_slug, key=str(issue_ref)
            )
            if not isinstance(raw, dict):
                raise answers.unexpected()
            in_project = str(raw.get("project"))
            if wanted_project is not None and in_project != wanted_project:
                raise no_issue(issue_ref)
            if validation.is_uuid(in_project) and validation.is_uuid(str(raw.get("id"))):
                self._memo.remember(workspace_slug, in_project.lower(), str(raw["id"]).lower(), raw)
            return await self._issue(await self._projects.details(workspace_slug, in_project), raw)
        issue_id = tasker_id(issue_ref, "issue")
        if wanted_project is not None:
            details = await self._projects.details(workspace_slug, wanted_project)
            return await self._issue(details, await self._raw_issue(details, issue_id))
        # Plane looks issues up by UUID only within a project: ask each in turn.
        for project in await self._projects.listed(workspace_slug):
            try:
                raw = await self._raw_issue_in(workspace_slug, project.id, issue_id)
            except NotFound:
                continue
            return await self._issue(await self._projects.details(workspace_slug, project.id), raw)
        raise no_issue(issue_ref)

    async def list_comments(
        self, workspace_slug: str, project_id: str, issue_id: str, *, limit: int = 20
    ) -> Sequence[Comment]:
        details = await self._projects.details(workspace_slug, project_id)
        issue_id = tasker_id(issue_id, "issue")
        await self._recent_issue(details, issue_id)  # Plane lists nothing for a missing one
        comments: list[Comment] = []
        if limit <= 0:
            return comments
        async for raw in self._api.paged(
            "comments",
            slug=workspace_slug,
            project_id=details.project.id,
            issue_id=issue_id,
            expand="actor",
            per_page=min(limit, self._api.page_size),
        ):
            comments.append(answers.comment_of(raw))
            if len(comments) >= limit:
                break
        return comments

    async def create_issue(
        self,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Issue:
        details = await self._projects.details(workspace_slug, project_id)
        details = await self._projects.knowing(
            details,
            states=[draft.state_id] if draft.state_id else [],
            labels=draft.label_ids,
            members=draft.assignee_ids,
            writing=True,
        )
        answers.check_refs(details, draft.state_id, draft.label_ids, draft.assignee_ids)
        if draft.parent_id is not None:
            await self._parent(details, draft.parent_id, None)
        body: dict[str, Any] = {
            "name": draft.name,
            "description_html": attribution.with_footer(draft.description_html, actor),
            "priority": draft.priority.value,
            "labels": list(dict.fromkeys(draft.label_ids)),
            "assignees": list(dict.fromkeys(draft.assignee_ids)),
            "external_source": attribution.external_source(actor),
        }
        if draft.state_id is not None:
            body["state"] = draft.state_id
        if draft.start_date is not None:
            body["start_date"] = draft.start_date.isoformat()
        if draft.target_date is not None:
            body["target_date"] = draft.target_date.isoformat()
        if draft.parent_id is not None:
            body["parent"] = draft.parent_id
        if external_id is not None:
            body["external_id"] = external_id
        params = {"slug": workspace_slug, "project_id": details.project.id}
        response = await self._api.send(
            PLANE_ROUTES["create_work_item"].build(params, body=body),
            repeatable=external_id is not None,
        )
        if response.status_code == 409 and external_id is not None:
            # The card already exists (a retry after a lost response, or a replayed key).
            existing = tasker_id(answers.conflict_id(response), "issue")
            return await self._issue(details, await self._raw_issue(details, existing))
        # Plane sets created_at again after building its answer: read back what it stored.
        answer = answers.expect(response)
        created = tasker_id(answer.get("id") if isinstance(answer, dict) else None, "issue")
        return await self._issue(details, await self._raw_issue(details, created))

    async def update_issue(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        changes: IssueChanges,
        *,
        actor: Actor,
    ) -> Issue:
        details = await self._projects.details(workspace_slug, project_id)
        issue_id = tasker_id(issue_id, "issue")
        current = await self._recent_issue(details, issue_id)
        state_id = None if changes.state_id is UNSET else changes.state_id
        labels = () if changes.label_ids is UNSET else changes.label_ids
        assignees = () if changes.assignee_ids is UNSET else changes.assignee_ids
        details = await self._projects.knowing(
            details,
            states=[state_id] if state_id else [],
            labels=labels,
            members=assignees,
            writing=True,
        )
        answers.check_refs(details, state_id, labels, assignees)
        start = (
            changes.start_date
            if changes.start_date is not UNSET
            else answers.date_of(current, "start")
        )
        target = (
            changes.target_date
            if changes.target_date is not UNSET
            else answers.date_of(current, "target")
        )
        check_dates(start, target)
        body: dict[str, Any] = {}
        if changes.name is not UNSET:
            body["name"] = changes.name
        if changes.description_html is not UNSET:
            body["description_html"] = attribution.with_footer(changes.description_html, actor)
        if changes.priority is not UNSET:
            body["priority"] = changes.priority.value
        if changes.state_id is not UNSET:
            body["state"] = changes.state_id
        if changes.label_ids is not UNSET:
            body["labels"] = list(dict.fromkeys(changes.label_ids))
        if changes.assignee_ids is not UNSET:
            body["assignees"] = list(dict.fromkeys(changes.assignee_ids))
        if changes.start_date is not UNSET:
            body["start_date"] = answers.iso(changes.start_date)
        if changes.target_date is not UNSET:
            body["target_date"] = answers.iso(changes.target_date)
        if changes.parent_id is not UNSET:
            if changes.parent_id is not None:
                await self._parent(details, changes.parent_id, issue_id)
            body["parent"] = changes.parent_id
        if not body:
            return await self._issue(details, current)
        params = {"slug": workspace_slug, "project_id": details.project.id, "issue_id": issue_id}
        response = await self._api.send(
            PLANE_ROUTES["update_work_item"].build(params, body=body), repeatable=False
        )
        updated = answers.expect(response)
        if isinstance(updated, dict):
            self._memo.remember(workspace_slug, details.project.id, issue_id, updated)
        return await self._issue(details, updated)

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
        details = await self._projects.details(workspace_slug, project_id)
        issue_id = tasker_id(issue_id, "issue")
        await self._recent_issue(details, issue_id)  # Plane does not check it exists
        body: dict[str, Any] = {
            "comment_html": attribution.with_footer(body_html, actor),
            "external_source": attribution.external_source(actor),
        }
        if external_id is not None:
            body["external_id"] = external_id
        params = {"slug": workspace_slug, "project_id": details.project.id, "issue_id": issue_id}
        response = await self._api.send(
            PLANE_ROUTES["add_comment"].build(params, body=body),
            repeatable=external_id is not None,
        )
        if response.status_code == 409 and external_id is not None:
            existing = tasker_id(answers.conflict_id(response), "comment")
            try:
                raw = await self._api.get_json(
                    "comment", **params, comment_id=existing, expand="actor"
                )
            except NotFound:
                raise ValidationFailed.field(
                    "idempotency_key", "was already used for a comment on another issue"
                ) from None
            return answers.comment_of(raw)
        return answers.comment_of(answers.expect(response))

    async def add_project_member(
        self, workspace_slug: str, project_id: str, user_id: str, *, actor: Actor
    ) -> Member:
        details = await self._projects.fresh_details(workspace_slug, project_id)
        user_id = tasker_id(user_id, "workspace member")
        for member in details.members:
            if member.id == user_id:
                return member
        workspace_member = next(
            (
                raw
                for raw in await self._projects.workspace_members(workspace_slug)
                if str(raw.get("id")) == user_id
            ),
            None,
        )
        if workspace_member is None:
            raise not_a_workspace_member()
        if answers.as_int(workspace_member.get("role")) < MEMBER_ROLE:
            raise ValidationFailed.field(
                "user",
                "is a guest of the workspace; only a person can give a guest project access",
            )
        params = {"slug": workspace_slug, "project_id": details.project.id}
        body = {"member": user_id}
        answers.expect(
            await self._api.send(
                PLANE_ROUTES["add_project_member"].build(params, body=body), repeatable=False
            )
        )
        self._memo.forget_details(workspace_slug, details.project.id)
        return answers.member_of(workspace_member)

    async def check(self) -> None:
        await self._projects.own_user_id(refresh=True)

    async def _raw_issue(self, details: ProjectDetails, issue_id: str) -> dict[str, Any]:
        project = details.project
        return await self._raw_issue_in(project.workspace_slug, project.id, issue_id)

    async def _raw_issue_in(
        self, workspace_slug: str, project_id: str, issue_id: str
    ) -> dict[str, Any]:
        project_id = tasker_id(project_id, "project")
        issue_id = tasker_id(issue_id, "issue")
        raw = await self._api.get_json(
            "work_item", slug=workspace_slug, project_id=project_id, issue_id=issue_id
        )
        if not isinstance(raw, dict):
            raise answers.unexpected()
        self._memo.remember(workspace_slug, project_id, issue_id, raw)
        return raw

    async def _recent_issue(self, details: ProjectDetails, issue_id: str) -> dict[str, Any]:
        """The work item as read within `ISSUE_MEMO_S` (by this tool call, as a rule), else
        as Plane has it now."""
        seen = self._memo.recent_issue(details.project, issue_id)
        if seen is not None:
            return seen
        return await self._raw_issue(details, issue_id)

    async def _parent(self, details: ProjectDetails, parent_id: str, child_id: str | None) -> None:
        """Refuse a parent outside the project, or (for an existing child) one that would
        make a cycle: Plane checks neither the cycle nor, on update, the project."""
        ancestor: str | None = parent_id
        for _ in range(MAX_PARENT_DEPTH):
            if ancestor is None:
                return
            if ancestor == child_id:
                raise own_ancestor()
            try:
                raw = await self._raw_issue(details, ancestor)
            except NotFound:
                raise parent_elsewhere() from None
            if child_id is None:
                return  # a new card cannot be anyone's ancestor yet
            parent = raw.get("parent")
            ancestor = str(parent) if parent else None
        raise parent_chain_too_deep()

    async def _issue(self, details: ProjectDetails, raw: Any) -> Issue:
        """A Plane work item as an `Issue`, resolving its state, labels and assignees."""
        if not isinstance(raw, dict):
            raise answers.unexpected()
        state_id = str(raw.get("state") or "")
        label_ids = [str(x) for x in raw.get("labels") or ()]
        assignee_ids = [str(x) for x in raw.get("assignees") or ()]
        details = await self._projects.knowing(
            details,
            states=[state_id] if state_id else [],
            labels=label_ids,
            members=assignee_ids,
        )
        try:
            return answers.to_issue(details, raw, label_ids, assignee_ids)
        except (KeyError, TypeError, ValueError):
            raise answers.unexpected() from None
