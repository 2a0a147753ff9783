"""Tasker through its narrow internal adapter for the gateway (`docs/tasker-adapter.md`).

One endpoint per `TaskerPort` operation, built from the closed route table `TASKER_ROUTES`
(nothing else can be sent), with `Authorization: Bearer <TASKER_TOKEN>`, the actor on
every write and `external_id` on keyed writes. Tasker answers in the shapes of
`domain.tasker`; a private cattrs converter reads them, ignoring fields it does not know.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final, TypeVar

import attrs
import httpx
from cattrs import BaseValidationError
from cattrs.preconf.json import make_converter

from nodedc_gateway.adapters.http_resilience import BreakerPolicy, RetryPolicy, Timing
from nodedc_gateway.adapters.service_client import ServiceClient, bearer
from nodedc_gateway.adapters.tasker.outbound import Outbound, Route, send_through
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import (
    FieldError,
    NotFound,
    TaskerUnavailable,
    ValidationFailed,
)
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
)
from nodedc_gateway.domain.tasker_rules import no_issue, no_project, no_workspace, tasker_id

SERVICE: Final = "Tasker"
API_PREFIX: Final = "/internal/agent-gateway/v1/"
LIST_LIMIT: Final = 100
MAX_PAGES: Final = 1_000
DEFAULT_TIMEOUT: Final = httpx.Timeout(10.0, connect=3.0, pool=3.0)

ACTOR_FIELDS: Final = frozenset({"agent_id", "owner_user_id", "display_name", "email", "is_bot"})
ISSUE_FIELDS: Final = frozenset(
    {
        "name",
        "description_html",
        "priority",
        "state_id",
        "label_ids",
        "assignee_ids",
        "start_date",
        "target_date",
        "parent_id",
    }
)
_W = "workspaces/{slug:slug}"
_P = _W + "/projects/{project_id:uuid}"
_I = _P + "/issues/{issue_id:uuid}"
_LIST = frozenset({"limit", "cursor"})

#: Every request this adapter can send to Tasker. Nothing else can leave.
TASKER_ROUTES: Final[Mapping[str, Route]] = {
    route.name: route
    for route in (
        Route("health", "GET", "health"),
        Route("projects", "GET", _W + "/projects", query=_LIST),
        Route("project", "GET", _W + "/projects/{project_ref:project_ref}"),
        Route("project_details", "GET", _P + "/details"),
        Route("workspace_members", "GET", _W + "/members", query=_LIST),
        Route("workspace_policy", "GET", _W + "/policy"),
        Route("user_access", "GET", _W + "/members/{user_id:uuid}/access"),
        Route(
            "issues",
            "GET",
            _P + "/issues",
            query=_LIST | {"query", "state_group", "assignee_id", "label_id"},
        ),
        Route(
            "issue", "GET", _W + "/issues/{issue_ref:issue_ref}", query=frozenset({"project_id"})
        ),
        Route("comments", "GET", _I + "/comments", query=frozenset({"limit"})),
        Route(
            "create_issue",
            "POST",
            _P + "/issues",
            body={"actor": ACTOR_FIELDS, "external_id": None, "issue": ISSUE_FIELDS},
        ),
        Route(
            "update_issue",
            "PATCH",
            _I,
            body={"actor": ACTOR_FIELDS, "changes": ISSUE_FIELDS},
        ),
        Route(
            "add_comment",
            "POST",
            _I + "/comments",
            body={"actor": ACTOR_FIELDS, "external_id": None, "body_html": None},
        ),
        Route(
            "add_project_member",
            "POST",
            _P + "/members",
            body={"actor": ACTOR_FIELDS, "user_id": None},
        ),
    )
}

T = TypeVar("T")


def _timestamp(value: Any, _: type) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a timestamp must be an RFC 3339 string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a timestamp must carry its offset")
    return moment.astimezone(UTC)


def _date(value: Any, _: type) -> date:
    if not isinstance(value, str):
        raise ValueError("a date must be YYYY-MM-DD")
    return date.fromisoformat(value)


_converter = make_converter()
_converter.register_structure_hook(datetime, _timestamp)
_converter.register_structure_hook(date, _date)
_converter.register_unstructure_hook(date, lambda d: d.isoformat())


@attrs.frozen
class _Access:
    has_access: bool


@attrs.frozen
class _Policy:
    agents_allowed: bool


class HttpTasker:
    """Implements `TaskerPort` over Tasker's internal adapter (`docs/tasker-adapter.md`)."""

    def __init__(
        self,
        *,
        base_url: str,
        token: SecretStr,
        client: httpx.AsyncClient | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        timing: Timing | None = None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._http = ServiceClient(
            base=base_url.rstrip("/") + API_PREFIX,
            credential=bearer(token),
            service=SERVICE,
            unavailable=TaskerUnavailable,
            client=client,
            timeout=timeout,
            retry=retry,
            breaker=breaker,
            timing=timing,
            wall_clock=wall_clock,
        )

    def __repr__(self) -> str:
        return f"HttpTasker(base={self._http.base!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def list_projects(self, workspace_slug: str) -> Sequence[Project]:
        return [
            _read(raw, Project)
            async for raw in self._list("projects", {"slug": _slug(workspace_slug)})
        ]

    async def find_project(self, workspace_slug: str, project_ref: str) -> Project:
        ref = project_ref.lower() if validation.is_uuid(project_ref) else project_ref
        params = {"slug": _slug(workspace_slug), "project_ref": ref}
        if not TASKER_ROUTES["project"].accepts(params):
            raise no_project(project_ref, workspace_slug)
        return _read(await self._get("project", params), Project)

    async def get_project(
        self, workspace_slug: str, project_id: str, *, fresh: bool = False
    ) -> ProjectDetails:
        """Always current here (`fresh` matters to caching backends)."""
        params = _project_params(workspace_slug, project_id)
        return _read(await self._get("project_details", params), ProjectDetails)

    async def list_workspace_members(self, workspace_slug: str) -> Sequence[Member]:
        params = {"slug": _slug(workspace_slug)}
        return [_read(raw, Member) async for raw in self._list("workspace_members", params)]

    async def workspace_policy(self, workspace_slug: str) -> WorkspacePolicy:
        raw = await self._get("workspace_policy", {"slug": _slug(workspace_slug)})
        return WorkspacePolicy(workspace_slug, _read(raw, _Policy).agents_allowed)

    async def user_has_access(self, workspace_slug: str, user_id: str) -> bool:
        params = {"slug": workspace_slug, "user_id": user_id.lower()}
        if not TASKER_ROUTES["user_access"].accepts(params):
            return False  # no such workspace or user can exist in Tasker
        return _read(await self._get("user_access", params), _Access).has_access

    async def search_issues(
        self, workspace_slug: str, project_id: str, query: IssueQuery
    ) -> IssuePage:
        filters: dict[str, str | int] = {"limit": query.limit}
        for name, value in (
            ("query", query.text),
            ("state_group", query.state_group.value if query.state_group else None),
            ("assignee_id", query.assignee_id),
            ("label_id", query.label_id),
            ("cursor", query.cursor),
        ):
            if value is not None:
                filters[name] = value
        raw = await self._get("issues", _project_params(workspace_slug, project_id), filters)
        return _read(raw, IssuePage)

    async def get_issue(
        self, workspace_slug: str, issue_ref: str | IssueKey, project_id: str | None = None
    ) -> Issue:
        ref = str(issue_ref) if isinstance(issue_ref, IssueKey) else issue_ref.lower()
        params = {"slug": _slug(workspace_slug), "issue_ref": ref}
        query: dict[str, str | int] = {}
        if project_id is not None:
            query["project_id"] = tasker_id(project_id, "project")
        if not TASKER_ROUTES["issue"].accepts(params):
            raise no_issue(issue_ref)
        return _read(await self._get("issue", params, query), Issue)

    async def list_comments(
        self, workspace_slug: str, project_id: str, issue_id: str, *, limit: int = 20
    ) -> Sequence[Comment]:
        params = _issue_params(workspace_slug, project_id, issue_id)
        raw = await self._get("comments", params, {"limit": limit})
        return _read(_items(raw), list[Comment])

    async def create_issue(
        self,
        workspace_slug: str,
        project_id: str,
        draft: IssueDraft,
        *,
        actor: Actor,
        external_id: str | None = None,
    ) -> Issue:
        body: dict[str, Any] = {"actor": _actor(actor), "issue": _unstructure(draft)}
        if external_id is not None:
            body["external_id"] = external_id
        outbound = TASKER_ROUTES["create_issue"].build(
            _project_params(workspace_slug, project_id), body=body
        )
        return _read(await self._send(outbound, repeatable=external_id is not None), Issue)

    async def update_issue(
        self,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        changes: IssueChanges,
        *,
        actor: Actor,
    ) -> Issue:
        touched = {
            field: value
            for field, value in _unstructure(changes).items()
            if field in changes.touched()
        }
        outbound = TASKER_ROUTES["update_issue"].build(
            _issue_params(workspace_slug, project_id, issue_id),
            body={"actor": _actor(actor), "changes": touched},
        )
        return _read(await self._send(outbound, repeatable=False), Issue)

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
        body: dict[str, Any] = {"actor": _actor(actor), "body_html": body_html}
        if external_id is not None:
            body["external_id"] = external_id
        outbound = TASKER_ROUTES["add_comment"].build(
            _issue_params(workspace_slug, project_id, issue_id), body=body
        )
        return _read(await self._send(outbound, repeatable=external_id is not None), Comment)

    async def add_project_member(
        self, workspace_slug: str, project_id: str, user_id: str, *, actor: Actor
    ) -> Member:
        outbound = TASKER_ROUTES["add_project_member"].build(
            _project_params(workspace_slug, project_id),
            body={"actor": _actor(actor), "user_id": tasker_id(user_id, "workspace member")},
        )
        return _read(await self._send(outbound, repeatable=False), Member)

    async def check(self) -> None:
        await self._get("health", {})

    # --- requests -------------------------------------------------------------------------

    async def _send(self, outbound: Outbound, *, repeatable: bool) -> Any:
        response = await send_through(self._http, outbound, repeatable=repeatable)
        if response.status_code in (200, 201):
            try:
                return response.json()
            except ValueError:
                raise _unexpected() from None
        raise _refusal(response)

    async def _get(
        self,
        route: str,
        params: Mapping[str, str],
        query: Mapping[str, str | int] | None = None,
    ) -> Any:
        return await self._send(TASKER_ROUTES[route].build(params, query=query), repeatable=True)

    async def _list(self, route: str, params: Mapping[str, str]) -> AsyncIterator[Any]:
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query: dict[str, str | int] = {"limit": LIST_LIMIT}
            if cursor is not None:
                query["cursor"] = cursor
            page = await self._get(route, params, query)
            for raw in _items(page):
                yield raw
            next_cursor = page.get("next_cursor")
            if next_cursor is None:
                return
            if not isinstance(next_cursor, str) or next_cursor == cursor:
                raise _unexpected()
            cursor = next_cursor
        raise _unexpected()


def _slug(workspace_slug: str) -> str:
    """A slug Tasker could hold, else NotFound (no request needed to know)."""
    try:
        return validation.workspace_slug(workspace_slug)
    except ValidationFailed:
        raise no_workspace(workspace_slug) from None


def _project_params(workspace_slug: str, project_id: str) -> dict[str, str]:
    return {"slug": _slug(workspace_slug), "project_id": tasker_id(project_id, "project")}


def _issue_params(workspace_slug: str, project_id: str, issue_id: str) -> dict[str, str]:
    return {**_project_params(workspace_slug, project_id), "issue_id": tasker_id(issue_id, "issue")}


def _actor(actor: Actor) -> dict[str, Any]:
    return {
        "agent_id": actor.agent_id,
        "owner_user_id": actor.owner_user_id,
        "display_name": actor.display_name,
        "email": actor.email,
        "is_bot": True,
    }


def _unstructure(value: IssueDraft | IssueChanges) -> dict[str, Any]:
    raw = _converter.unstructure(value)
    return {k: v for k, v in raw.items() if v is not UNSET}


def _items(page: Any) -> list[Any]:
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise _unexpected()
    items: list[Any] = page["items"]
    return items


def _read(raw: Any, kind: type[T] | Any) -> T:
    """A response body as a domain value; a body of another shape is Tasker's fault."""
    try:
        value: T = _converter.structure(raw, kind)
    except (BaseValidationError, KeyError, TypeError, ValueError):
        raise _unexpected() from None
    return value


def _unexpected() -> TaskerUnavailable:
    return TaskerUnavailable(f"{SERVICE} answered in a way the gateway does not understand.")


def _refusal(response: httpx.Response) -> Exception:
    """A problem+json refusal as the contract's error."""
    try:
        problem = response.json()
    except ValueError:
        problem = {}
    problem = problem if isinstance(problem, dict) else {}
    detail = problem.get("detail")
    detail = detail[:500] if isinstance(detail, str) and detail else None
    match response.status_code:
        case 404 | 403:
            return NotFound(detail or "Not found in Tasker, or not visible to the gateway.")
        case 422 | 400 | 409:
            return _validation(problem, detail)
        case 401:
            return TaskerUnavailable(
                "Tasker refused the gateway's token; an administrator must fix the gateway's "
                "Tasker configuration."
            )
    return _unexpected()


def _validation(problem: Mapping[str, Any], detail: str | None) -> ValidationFailed:
    errors = [
        FieldError(str(e["field"])[:100], str(e["message"])[:500])
        for e in problem.get("errors") or ()
        if isinstance(e, dict) and "field" in e and "message" in e
    ][:50]
    if not errors:
        errors = [FieldError("request", detail or "Tasker refused it")]
    choices = problem.get("valid_choices")
    if isinstance(choices, list) and all(isinstance(c, str) for c in choices):
        return ValidationFailed(errors, valid_choices=choices[:50])
    return ValidationFailed(errors)
