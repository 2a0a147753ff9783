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

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import attrs
import httpx

from nodedc_gateway.adapters.http_resilience import (
    BreakerPolicy,
    ResilientSender,
    RetryPolicy,
    Timing,
)
from nodedc_gateway.adapters.tasker import attribution
from nodedc_gateway.adapters.tasker import plane_answers as answers
from nodedc_gateway.adapters.tasker.outbound import Outbound, Route
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

SERVICE: Final = answers.SERVICE
#: Plane's project roles: 20 admin, 15 member, 5 guest. Agents only ever add members.
MEMBER_ROLE: Final = 15
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGES: Final = 1_000
MAX_PARENT_DEPTH: Final = 64
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0, pool=3.0)
#: Details younger than this are taken as current even if an id is unknown to them.
MIN_REFRESH_S: Final = 1.0
#: A work item read this recently is taken as it was (its existence, its current dates):
#: a tool call reads the card, then writes it, and need not ask Plane twice. Short, so a
#: change made meanwhile (by a person, or through another replica) is never built upon.
ISSUE_MEMO_S: Final = 1.0
MAX_MEMO_ISSUES: Final = 256

_ISSUE_FIELDS: Final = (
    "name",
    "description_html",
    "priority",
    "state",
    "labels",
    "assignees",
    "start_date",
    "target_date",
    "parent",
)
_W = "workspaces/{slug:slug}"
_P = _W + "/projects/{project_id:uuid}"
_I = _P + "/work-items/{issue_id:uuid}"
_PAGED = frozenset({"per_page", "cursor"})


def _route(name: str, method: Any, path: str, **kwargs: Any) -> tuple[str, Route]:
    return name, Route(name, method, path, **kwargs)


#: Every request this adapter can send to Plane. Nothing else can leave.
PLANE_ROUTES: Final[Mapping[str, Route]] = dict(
    [
        _route("me", "GET", "users/me/"),
        _route("projects", "GET", _W + "/projects/", query=_PAGED),
        _route("project", "GET", _P + "/"),
        _route("states", "GET", _P + "/states/", query=_PAGED),
        _route("labels", "GET", _P + "/labels/", query=_PAGED),
        _route("project_members", "GET", _P + "/members/"),
        _route(
            "add_project_member",
            "POST",
            _P + "/members/",
            body={"member": None},
            fixed_body={"role": MEMBER_ROLE},
        ),
        _route("workspace_members", "GET", _W + "/members/"),
        _route("work_items", "GET", _P + "/work-items/", query=_PAGED | {"order_by"}),
        _route("work_item", "GET", _I + "/"),
        _route("work_item_by_key", "GET", _W + "/work-items/{key:key}/"),
        _route(
            "create_work_item",
            "POST",
            _P + "/work-items/",
            body=dict.fromkeys((*_ISSUE_FIELDS, "external_id", "external_source")),
        ),
        _route("update_work_item", "PATCH", _I + "/", body=dict.fromkeys(_ISSUE_FIELDS)),
        _route("comments", "GET", _I + "/comments/", query=_PAGED | {"expand"}),
        _route("comment", "GET", _I + "/comments/{comment_id:uuid}/", query=frozenset({"expand"})),
        _route(
            "add_comment",
            "POST",
            _I + "/comments/",
            body=dict.fromkeys(("comment_html", "external_id", "external_source")),
        ),
    ]
)


@attrs.define
class _CachedDetails:
    details: ProjectDetails
    fetched_at: float
    #: ids that cards name but these details did not know even when fetched (a deactivated
    #: member, Plane's own user): reads do not refetch for them again until the TTL is up.
    unknown: set[str] = attrs.field(factory=set)


@attrs.define
class _Seen:
    raw: dict[str, Any]
    at: float


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
        self._base = base_url.rstrip("/") + "/api/v1/"
        self._api_key = api_key
        self._workspaces = workspaces
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._page_size = page_size
        self._timing = timing or Timing()
        self._sender = ResilientSender(
            self._client,
            service=SERVICE,
            unavailable=TaskerUnavailable,
            timeout=timeout,
            retry=retry,
            breaker=breaker,
            timing=self._timing,
            wall_clock=wall_clock,
        )
        self._details_ttl_s = details_ttl_s
        self._details: dict[tuple[str, str], _CachedDetails] = {}
        self._projects: dict[str, tuple[list[Project], float]] = {}
        self._issues: dict[tuple[str, str, str], _Seen] = {}
        self._me: str | None = None

    def __repr__(self) -> str:
        return f"PlaneTasker(base={self._base!r}, workspaces={sorted(self._workspaces)!r})"

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- workspaces and projects ----------------------------------------------------------

    async def list_projects(self, workspace_slug: str) -> Sequence[Project]:
        """The workspace's projects, at most `details_ttl_s` old."""
        self._workspace(workspace_slug)
        cached = self._projects.get(workspace_slug)
        if cached is not None and self._timing.monotonic() - cached[1] < self._details_ttl_s:
            return list(cached[0])
        return await self._fresh_projects(workspace_slug)

    async def find_project(self, workspace_slug: str, project_ref: str) -> Project:
        self._workspace(workspace_slug)
        if validation.is_uuid(project_ref):
            cached = self._details.get((workspace_slug, project_ref.lower()))
            if cached is not None and self._young(cached.fetched_at, self._details_ttl_s):
                return cached.details.project
            return await self._project(workspace_slug, project_ref.lower())
        for project in await self.list_projects(workspace_slug):
            if project.identifier == project_ref:
                return project
        # Created or renamed in Plane since the list was read? Look again (not too often).
        listed = self._projects.get(workspace_slug)
        if listed is None or not self._young(listed[1], MIN_REFRESH_S):
            for project in await self._fresh_projects(workspace_slug):
                if project.identifier == project_ref:
                    return project
        raise NotFound(f"No project {project_ref!r} in workspace {workspace_slug!r}.")

    async def get_project(
        self, workspace_slug: str, project_id: str, *, fresh: bool = False
    ) -> ProjectDetails:
        """States, labels and members, at most `details_ttl_s` old unless `fresh`."""
        if fresh:
            return await self._fresh_details(workspace_slug, project_id)
        return await self._cached_details(workspace_slug, project_id)

    async def list_workspace_members(self, workspace_slug: str) -> Sequence[Member]:
        members = await self._workspace_members(workspace_slug)
        return sorted((answers.member_of(raw) for raw in members), key=lambda m: m.email)

    async def workspace_policy(self, workspace_slug: str) -> WorkspacePolicy:
        return WorkspacePolicy(workspace_slug, self._workspace(workspace_slug))

    async def user_has_access(self, workspace_slug: str, user_id: str) -> bool:
        if workspace_slug not in self._workspaces:
            return False
        try:
            members = await self._workspace_members(workspace_slug)
        except NotFound:  # configured, but Plane does not let its user in (403)
            return False
        return any(str(raw.get("id")) == user_id for raw in members)

    # --- issues ---------------------------------------------------------------------------

    async def search_issues(
        self, workspace_slug: str, project_id: str, query: IssueQuery
    ) -> IssuePage:
        # Plane's list has no filters: walk it newest first and filter here, stopping as
        # soon as the page (and whether there is more) is known.
        details = await self._cached_details(workspace_slug, project_id)
        offset = answers.offset_of(query.cursor)
        text = (query.text or "").casefold()
        wanted = offset + query.limit + 1
        found: list[Issue] = []
        async for raw in self._paged(
            "work_items",
            slug=workspace_slug,
            project_id=details.project.id,
            order_by="-created_at",
        ):
            issue = await self._issue(details, raw)
            if (
                (not text or text in issue.name.casefold() or text == issue.identifier.casefold())
                and (query.state_group is None or issue.state.group is query.state_group)
                and (
                    query.assignee_id is None
                    or any(a.id == query.assignee_id for a in issue.assignees)
                )
                and (query.label_id is None or any(lb.id == query.label_id for lb in issue.labels))
            ):
                found.append(issue)
                if len(found) >= wanted:
                    break
        page = found[offset : offset + query.limit]
        more = len(found) > offset + query.limit
        return IssuePage(tuple(page), str(offset + query.limit) if more else None)

    async def get_issue(
        self, workspace_slug: str, issue_ref: str | IssueKey, project_id: str | None = None
    ) -> Issue:
        self._workspace(workspace_slug)
        wanted_project = project_id.lower() if project_id is not None else None
        if isinstance(issue_ref, IssueKey):
            raw = await self._get_json("work_item_by_key", slug=workspace_slug, key=str(issue_ref))
            if not isinstance(raw, dict):
                raise answers.unexpected()
            in_project = str(raw.get("project"))
            if wanted_project is not None and in_project != wanted_project:
                raise NotFound(f"No issue {issue_ref} here.")
            if validation.is_uuid(in_project) and validation.is_uuid(str(raw.get("id"))):
                self._remember(workspace_slug, in_project.lower(), str(raw["id"]).lower(), raw)
            return await self._issue(await self._cached_details(workspace_slug, in_project), raw)
        issue_id = answers.plane_id(issue_ref, "issue")
        if wanted_project is not None:
            details = await self._cached_details(workspace_slug, wanted_project)
            return await self._issue(details, await self._raw_issue(details, issue_id))
        # Plane looks issues up by UUID only within a project: ask each in turn.
        for project in await self.list_projects(workspace_slug):
            try:
                raw = await self._raw_issue_in(workspace_slug, project.id, issue_id)
            except NotFound:
                continue
            return await self._issue(await self._cached_details(workspace_slug, project.id), raw)
        raise NotFound(f"No issue {issue_ref} here.")

    async def list_comments(
        self, workspace_slug: str, project_id: str, issue_id: str, *, limit: int = 20
    ) -> Sequence[Comment]:
        details = await self._cached_details(workspace_slug, project_id)
        issue_id = answers.plane_id(issue_id, "issue")
        await self._recent_issue(details, issue_id)  # Plane lists nothing for a missing one
        comments: list[Comment] = []
        if limit <= 0:
            return comments
        async for raw in self._paged(
            "comments",
            slug=workspace_slug,
            project_id=details.project.id,
            issue_id=issue_id,
            expand="actor",
            per_page=min(limit, self._page_size),
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
        details = await self._cached_details(workspace_slug, project_id)
        details = await self._details_knowing(
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
        response = await self._send(
            PLANE_ROUTES["create_work_item"].build(params, body=body),
            repeatable=external_id is not None,
        )
        if response.status_code == 409 and external_id is not None:
            # The card already exists (a retry after a lost response, or a replayed key).
            existing = answers.plane_id(answers.conflict_id(response), "issue")
            return await self._issue(details, await self._raw_issue(details, existing))
        # Plane sets created_at again after building its answer: read back what it stored.
        answer = answers.expect(response)
        created = answers.plane_id(answer.get("id") if isinstance(answer, dict) else None, "issue")
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
        details = await self._cached_details(workspace_slug, project_id)
        issue_id = answers.plane_id(issue_id, "issue")
        current = await self._recent_issue(details, issue_id)
        state_id = None if changes.state_id is UNSET else changes.state_id
        labels = () if changes.label_ids is UNSET else changes.label_ids
        assignees = () if changes.assignee_ids is UNSET else changes.assignee_ids
        details = await self._details_knowing(
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
        response = await self._send(
            PLANE_ROUTES["update_work_item"].build(params, body=body), repeatable=False
        )
        updated = answers.expect(response)
        if isinstance(updated, dict):
            self._remember(workspace_slug, details.project.id, issue_id, updated)
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
        details = await self._cached_details(workspace_slug, project_id)
        issue_id = answers.plane_id(issue_id, "issue")
        await self._recent_issue(details, issue_id)  # Plane does not check it exists
        body: dict[str, Any] = {
            "comment_html": attribution.with_footer(body_html, actor),
            "external_source": attribution.external_source(actor),
        }
        if external_id is not None:
            body["external_id"] = external_id
        params = {"slug": workspace_slug, "project_id": details.project.id, "issue_id": issue_id}
        response = await self._send(
            PLANE_ROUTES["add_comment"].build(params, body=body),
            repeatable=external_id is not None,
        )
        if response.status_code == 409 and external_id is not None:
            existing = answers.plane_id(answers.conflict_id(response), "comment")
            try:
                raw = await self._get_json("comment", **params, comment_id=existing, expand="actor")
            except NotFound:
                raise ValidationFailed.field(
                    "idempotency_key", "was already used for a comment on another issue"
                ) from None
            return answers.comment_of(raw)
        return answers.comment_of(answers.expect(response))

    async def add_project_member(
        self, workspace_slug: str, project_id: str, user_id: str, *, actor: Actor
    ) -> Member:
        details = await self._fresh_details(workspace_slug, project_id)
        user_id = answers.plane_id(user_id, "workspace member")
        for member in details.members:
            if member.id == user_id:
                return member
        workspace_member = next(
            (
                raw
                for raw in await self._workspace_members(workspace_slug)
                if str(raw.get("id")) == user_id
            ),
            None,
        )
        if workspace_member is None:
            raise NotFound("That user is not a member of the workspace; agents never invite.")
        if answers.as_int(workspace_member.get("role")) < MEMBER_ROLE:
            raise ValidationFailed.field(
                "user",
                "is a guest of the workspace; only a person can give a guest project access",
            )
        params = {"slug": workspace_slug, "project_id": details.project.id}
        body = {"member": user_id}
        answers.expect(
            await self._send(
                PLANE_ROUTES["add_project_member"].build(params, body=body), repeatable=False
            )
        )
        self._details.pop((workspace_slug, details.project.id), None)
        return answers.member_of(workspace_member)

    async def check(self) -> None:
        await self._own_user_id(refresh=True)

    # --- requests -------------------------------------------------------------------------

    async def _send(self, outbound: Outbound, *, repeatable: bool) -> httpx.Response:
        request = self._client.build_request(
            outbound.method,
            self._base + outbound.path,
            params=outbound.query,
            json=outbound.body,
            headers={
                "X-API-Key": self._api_key.reveal(),
                "Accept": "application/json",
                "User-Agent": "nodedc-gateway",
            },
        )
        return await self._sender.send(request, repeatable=repeatable)

    async def _get_json(self, route: str, **params: str | int) -> Any:
        """A GET whose path takes `params`; what is left over goes in the query string."""
        outbound = _build_get(route, params)
        return answers.expect(await self._send(outbound, repeatable=True))

    async def _paged(self, route: str, **params: str | int) -> AsyncIterator[dict[str, Any]]:
        """Every result of a paginated list, following `next_cursor` while
        `next_page_results` says there is more."""
        params.setdefault("per_page", self._page_size)
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = await self._get_json(route, **params, **({"cursor": cursor} if cursor else {}))
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                raise answers.unexpected()
            for raw in page["results"]:
                if isinstance(raw, dict):
                    yield raw
            cursor = page.get("next_cursor")
            if not page.get("next_page_results") or not isinstance(cursor, str):
                return
            if cursor in seen:
                raise answers.unexpected()
            seen.add(cursor)
        raise answers.unexpected()

    async def _own_user_id(self, *, refresh: bool = False) -> str:
        """The Plane user whose API key the gateway holds: a technical account, which is
        left out of member lists so no agent assigns or adds it."""
        if self._me is None or refresh:
            me = answers.expect(await self._send(PLANE_ROUTES["me"].build(), repeatable=True))
            if not isinstance(me, dict) or not me.get("id"):
                raise answers.unexpected()
            self._me = str(me["id"])
        return self._me

    async def _people(self, raw_list: Any) -> list[dict[str, Any]]:
        """A plain-array member list, without the gateway's own Plane user."""
        if not isinstance(raw_list, list):
            raise answers.unexpected()
        me = await self._own_user_id()
        return [raw for raw in raw_list if isinstance(raw, dict) and str(raw.get("id")) != me]

    async def _workspace_members(self, workspace_slug: str) -> list[dict[str, Any]]:
        self._workspace(workspace_slug)
        return await self._people(await self._get_json("workspace_members", slug=workspace_slug))

    def _young(self, at: float, max_age_s: float) -> bool:
        return self._timing.monotonic() - at < max_age_s

    async def _fresh_projects(self, workspace_slug: str) -> list[Project]:
        projects = sorted(
            [
                answers.project_of(workspace_slug, raw)
                async for raw in self._paged("projects", slug=workspace_slug)
                if answers.usable(raw)
            ],
            key=lambda p: p.identifier,
        )
        self._projects[workspace_slug] = (projects, self._timing.monotonic())
        return list(projects)

    async def _project(self, workspace_slug: str, project_id: str) -> Project:
        self._workspace(workspace_slug)
        pid = answers.plane_id(project_id, "project")
        raw = await self._get_json("project", slug=workspace_slug, project_id=pid)
        if not answers.usable(raw):
            raise NotFound(f"No project {project_id!r} in workspace {workspace_slug!r}.")
        return answers.project_of(workspace_slug, raw)

    async def _fresh_details(self, workspace_slug: str, project_id: str) -> ProjectDetails:
        project = await self._project(workspace_slug, project_id)
        params = {"slug": workspace_slug, "project_id": project.id}
        states = [raw async for raw in self._paged("states", **params)]
        labels = [raw async for raw in self._paged("labels", **params)]
        members = await self._people(await self._get_json("project_members", **params))
        states.sort(key=lambda raw: answers.as_float(raw.get("sequence")))
        details = ProjectDetails(
            project=project,
            states=tuple(answers.state_of(raw) for raw in states),
            labels=tuple(answers.label_of(raw) for raw in labels),
            members=tuple(answers.member_of(raw) for raw in members),
        )
        self._details[(workspace_slug, project.id)] = _CachedDetails(
            details, self._timing.monotonic()
        )
        return details

    async def _cached_details(self, workspace_slug: str, project_id: str) -> ProjectDetails:
        """Project details, at most `details_ttl_s` old (ids are what they resolve)."""
        self._workspace(workspace_slug)
        cached = self._details.get((workspace_slug, project_id.lower()))
        if cached is not None and (
            self._timing.monotonic() - cached.fetched_at < self._details_ttl_s
        ):
            return cached.details
        return await self._fresh_details(workspace_slug, project_id)

    async def _details_knowing(
        self,
        details: ProjectDetails,
        *,
        states: Sequence[str] = (),
        labels: Sequence[str] = (),
        members: Sequence[str] = (),
        writing: bool = False,
    ) -> ProjectDetails:
        """`details`, refreshed once if they do not know one of these ids (a state, label
        or member added in Plane since they were fetched). A read does not refetch for an
        id that was unknown even to a fetch made since (until the details expire); a write
        always looks again, at most once per `MIN_REFRESH_S`."""
        unknown = (
            set(states) - {s.id for s in details.states}
            | set(labels) - {lb.id for lb in details.labels}
            | set(members) - {m.id for m in details.members} - {self._me}
        )
        if not unknown:
            return details
        project = details.project
        key = (project.workspace_slug, project.id)
        cached = self._details.get(key)
        if cached is not None and (
            self._young(cached.fetched_at, MIN_REFRESH_S)
            or (not writing and unknown <= cached.unknown)
        ):
            return cached.details
        fresh = await self._fresh_details(project.workspace_slug, project.id)
        self._details[key].unknown = (
            unknown
            - {s.id for s in fresh.states}
            - {lb.id for lb in fresh.labels}
            - {m.id for m in fresh.members}
        )
        return fresh

    async def _raw_issue(self, details: ProjectDetails, issue_id: str) -> dict[str, Any]:
        project = details.project
        return await self._raw_issue_in(project.workspace_slug, project.id, issue_id)

    async def _raw_issue_in(
        self, workspace_slug: str, project_id: str, issue_id: str
    ) -> dict[str, Any]:
        project_id = answers.plane_id(project_id, "project")
        issue_id = answers.plane_id(issue_id, "issue")
        raw = await self._get_json(
            "work_item", slug=workspace_slug, project_id=project_id, issue_id=issue_id
        )
        if not isinstance(raw, dict):
            raise answers.unexpected()
        self._remember(workspace_slug, project_id, issue_id, raw)
        return raw

    def _remember(
        self, workspace_slug: str, project_id: str, issue_id: str, raw: dict[str, Any]
    ) -> None:
        if len(self._issues) >= MAX_MEMO_ISSUES:
            self._issues.pop(next(iter(self._issues)))
        self._issues.pop((workspace_slug, project_id, issue_id), None)
        self._issues[(workspace_slug, project_id, issue_id)] = _Seen(raw, self._timing.monotonic())

    async def _recent_issue(self, details: ProjectDetails, issue_id: str) -> dict[str, Any]:
        """The work item as read within `ISSUE_MEMO_S` (by this tool call, as a rule), else
        as Plane has it now."""
        project = details.project
        seen = self._issues.get((project.workspace_slug, project.id, issue_id))
        if seen is not None and self._young(seen.at, ISSUE_MEMO_S):
            return seen.raw
        return await self._raw_issue(details, issue_id)

    async def _parent(self, details: ProjectDetails, parent_id: str, child_id: str | None) -> None:
        """Refuse a parent outside the project, or (for an existing child) one that would
        make a cycle: Plane checks neither the cycle nor, on update, the project."""
        ancestor: str | None = parent_id
        for _ in range(MAX_PARENT_DEPTH):
            if ancestor is None:
                return
            if ancestor == child_id:
                raise ValidationFailed.field("parent", "would make the issue its own ancestor")
            try:
                raw = await self._raw_issue(details, ancestor)
            except NotFound:
                raise ValidationFailed.field(
                    "parent", "must be an issue of the same project"
                ) from None
            if child_id is None:
                return  # a new card cannot be anyone's ancestor yet
            parent = raw.get("parent")
            ancestor = str(parent) if parent else None
        raise ValidationFailed.field("parent", "the parent chain is too deep")

    async def _issue(self, details: ProjectDetails, raw: Any) -> Issue:
        """A Plane work item as an `Issue`, resolving its state, labels and assignees."""
        if not isinstance(raw, dict):
            raise answers.unexpected()
        state_id = str(raw.get("state") or "")
        label_ids = [str(x) for x in raw.get("labels") or ()]
        assignee_ids = [str(x) for x in raw.get("assignees") or ()]
        details = await self._details_knowing(
            details,
            states=[state_id] if state_id else [],
            labels=label_ids,
            members=assignee_ids,
        )
        try:
            return answers.to_issue(details, raw, label_ids, assignee_ids)
        except (KeyError, TypeError, ValueError):
            raise answers.unexpected() from None

    def _workspace(self, workspace_slug: str) -> bool:
        """The workspace's policy; NotFound for a workspace the gateway is not set up for."""
        allowed = self._workspaces.get(workspace_slug)
        if allowed is None:
            raise NotFound(f"No workspace {workspace_slug!r}.")
        return allowed


def _build_get(route_name: str, params: Mapping[str, str | int]) -> Outbound:
    route = PLANE_ROUTES[route_name]
    in_path = {k: str(v) for k, v in params.items() if "{" + k + ":" in route.path}
    query = {k: v for k, v in params.items() if k not in in_path}
    return route.build(in_path, query=query)
