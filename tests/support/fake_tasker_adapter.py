"""A stand-in of Tasker's internal adapter, built from `docs/tasker-adapter.md` alone.

It serves the documented endpoints over a `MemoryTasker` (the reference behaviour of the
Tasker port), checks what the document says Tasker checks (the bearer token, strict
bodies, the actor on every write), and answers in the documented JSON by hand, not with
the client's converter, so a client that strays from the document fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from typing import Any

import httpx

from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.domain.errors import GatewayError, ValidationFailed
from nodedc_gateway.domain.tasker import (
    UNSET,
    Actor,
    Comment,
    Issue,
    IssueChanges,
    IssueDraft,
    IssueQuery,
    Member,
    Priority,
    Project,
    StateGroup,
    parse_issue_ref,
)

TOKEN = "tasker-internal-token-0123456789abcdef"
PREFIX = "/internal/agent-gateway/v1/"
ACTOR_FIELDS = {"agent_id", "owner_user_id", "display_name", "email", "is_bot"}
ISSUE_FIELDS = {
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
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_SLUG = r"[a-z0-9][a-z0-9_-]{0,47}"


class _Problem(Exception):
    def __init__(self, status: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.extra = status, code, detail, extra


def _bad(field: str, message: str) -> _Problem:
    return _Problem(
        422,
        "validation_failed",
        f"{field}: {message}",
        errors=[{"field": field, "message": message}],
    )


class FakeTaskerAdapter:
    """Serves the documented contract over a `MemoryTasker`."""

    def __init__(self, tasker: MemoryTasker, *, page_size: int = 2) -> None:
        self.tasker = tasker
        self.page_size = page_size
        self.writes: list[tuple[str, dict[str, Any]]] = []  # (operation, actor) as received
        W = rf"workspaces/(?P<slug>{_SLUG})"  # noqa: N806 - reads as the path it is
        P = rf"{W}/projects/(?P<project_id>{_UUID})"  # noqa: N806
        I = rf"{P}/issues/(?P<issue_id>{_UUID})"  # noqa: E741, N806
        handlers: list[tuple[str, str, Callable[..., Awaitable[Any]]]] = [
            ("GET", "health", self.health),
            ("GET", rf"{W}/projects", self.projects),
            ("GET", rf"{P}/details", self.details),
            ("GET", rf"{W}/projects/(?P<ref>[^/]+)", self.project),
            ("GET", rf"{W}/members", self.members),
            ("GET", rf"{W}/policy", self.policy),
            ("GET", rf"{W}/members/(?P<user_id>{_UUID})/access", self.access),
            ("GET", rf"{P}/issues", self.search),
            ("POST", rf"{P}/issues", self.create),
            ("PATCH", I, self.update),
            ("GET", rf"{W}/issues/(?P<ref>[^/]+)", self.issue),
            ("GET", rf"{I}/comments", self.comments),
            ("POST", rf"{I}/comments", self.comment),
            ("POST", rf"{P}/members", self.add_member),
        ]
        self._routes = [(m, re.compile(p), h) for m, p, h in handlers]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            status, body = await self._dispatch(request)
        except _Problem as problem:
            return _problem(problem.status, problem.code, problem.detail, **problem.extra)
        except GatewayError as error:
            payload = error.as_payload()
            status = 404 if payload["code"] == "not_found" else 422
            extra = {k: v for k, v in payload.items() if k in ("errors", "valid_choices")}
            return _problem(status, payload["code"], payload["message"], **extra)
        return httpx.Response(status, json=body)

    async def _dispatch(self, request: httpx.Request) -> tuple[int, Any]:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            raise _Problem(401, "unauthenticated", "Bearer token missing or wrong.")
        path = request.url.path
        if not path.startswith(PREFIX):
            raise _Problem(404, "not_found", "No such endpoint.")
        rest = path.removeprefix(PREFIX)
        allowed_methods = set()
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            allowed_methods.add(method)
            if method == request.method:
                body = json.loads(request.content) if request.content else None
                return await handler(request, body, **match.groupdict())
        if allowed_methods:
            raise _Problem(405, "forbidden", f"{request.method} is not offered here.")
        raise _Problem(404, "not_found", "No such endpoint.")

    # --- reads ----------------------------------------------------------------------------

    async def health(self, request: httpx.Request, body: Any) -> tuple[int, Any]:
        return 200, {"status": "ok"}

    async def projects(self, request: httpx.Request, body: Any, slug: str) -> tuple[int, Any]:
        projects = await self.tasker.list_projects(slug)
        return 200, self._page(request, [_project(p) for p in projects])

    async def project(
        self, request: httpx.Request, body: Any, slug: str, ref: str
    ) -> tuple[int, Any]:
        return 200, _project(await self.tasker.find_project(slug, ref))

    async def details(
        self, request: httpx.Request, body: Any, slug: str, project_id: str
    ) -> tuple[int, Any]:
        details = await self.tasker.get_project(slug, project_id)
        return 200, {
            "project": _project(details.project),
            "states": [
                {"id": s.id, "name": s.name, "group": s.group.value} for s in details.states
            ],
            "labels": [{"id": lb.id, "name": lb.name} for lb in details.labels],
            "members": [_member(m) for m in details.members],
        }

    async def members(self, request: httpx.Request, body: Any, slug: str) -> tuple[int, Any]:
        members = await self.tasker.list_workspace_members(slug)
        return 200, self._page(request, [_member(m) for m in members])

    async def policy(self, request: httpx.Request, body: Any, slug: str) -> tuple[int, Any]:
        policy = await self.tasker.workspace_policy(slug)
        return 200, {"workspace_slug": slug, "agents_allowed": policy.agents_allowed}

    async def access(
        self, request: httpx.Request, body: Any, slug: str, user_id: str
    ) -> tuple[int, Any]:
        return 200, {"has_access": await self.tasker.user_has_access(slug, user_id)}

    async def search(
        self, request: httpx.Request, body: Any, slug: str, project_id: str
    ) -> tuple[int, Any]:
        q = request.url.params
        unknown = set(q) - {"query", "state_group", "assignee_id", "label_id", "limit", "cursor"}
        if unknown:
            raise _bad(sorted(unknown)[0], "is not a search parameter")
        try:
            limit = int(q.get("limit", 25))
            group = StateGroup(q["state_group"]) if "state_group" in q else None
        except ValueError:
            raise _bad("limit", "must be 1-100; state_group one of the five groups") from None
        if not 1 <= limit <= 100:
            raise _bad("limit", "must be 1-100")
        page = await self.tasker.search_issues(
            slug,
            project_id,
            IssueQuery(
                text=q.get("query"),
                state_group=group,
                assignee_id=q.get("assignee_id"),
                label_id=q.get("label_id"),
                limit=limit,
                cursor=q.get("cursor"),
            ),
        )
        return 200, {"items": [_issue(i) for i in page.items], "next_cursor": page.next_cursor}

    async def issue(
        self, request: httpx.Request, body: Any, slug: str, ref: str
    ) -> tuple[int, Any]:
        try:
            parsed = parse_issue_ref(ref)
        except ValidationFailed:
            raise _Problem(404, "not_found", f"No issue {ref}.") from None
        project_id = request.url.params.get("project_id")
        return 200, _issue(await self.tasker.get_issue(slug, parsed, project_id))

    async def comments(
        self, request: httpx.Request, body: Any, slug: str, project_id: str, issue_id: str
    ) -> tuple[int, Any]:
        limit = int(request.url.params.get("limit", 20))
        comments = await self.tasker.list_comments(slug, project_id, issue_id, limit=limit)
        return 200, {"items": [_comment(c) for c in comments], "next_cursor": None}

    # --- writes ---------------------------------------------------------------------------

    async def create(
        self, request: httpx.Request, body: Any, slug: str, project_id: str
    ) -> tuple[int, Any]:
        actor, external_id = self._write(body, {"actor", "external_id", "issue"}, "create_issue")
        fields = _fields(body.get("issue"), "issue", required={"name"})
        writes = len(self.tasker.writes)
        draft = IssueDraft(
            name=fields["name"],
            description_html=fields.get("description_html", ""),
            priority=_priority(fields.get("priority", "none")),
            state_id=fields.get("state_id"),
            label_ids=tuple(fields.get("label_ids", ())),
            assignee_ids=tuple(fields.get("assignee_ids", ())),
            start_date=_date(fields.get("start_date"), "start_date"),
            target_date=_date(fields.get("target_date"), "target_date"),
            parent_id=fields.get("parent_id"),
        )
        issue = await self.tasker.create_issue(
            slug, project_id, draft, actor=actor, external_id=external_id
        )
        return (201 if len(self.tasker.writes) > writes else 200), _issue(issue)

    async def update(
        self, request: httpx.Request, body: Any, slug: str, project_id: str, issue_id: str
    ) -> tuple[int, Any]:
        actor, _ = self._write(body, {"actor", "changes"}, "update_issue")
        fields = _fields(body.get("changes"), "changes", required=set())
        changes = IssueChanges(
            name=fields.get("name", UNSET),
            description_html=fields.get("description_html", UNSET),
            priority=_priority(fields["priority"]) if "priority" in fields else UNSET,
            state_id=fields.get("state_id", UNSET),
            label_ids=tuple(fields["label_ids"]) if "label_ids" in fields else UNSET,
            assignee_ids=tuple(fields["assignee_ids"]) if "assignee_ids" in fields else UNSET,
            start_date=_date(fields["start_date"], "start_date")
            if "start_date" in fields
            else UNSET,
            target_date=_date(fields["target_date"], "target_date")
            if "target_date" in fields
            else UNSET,
            parent_id=fields.get("parent_id", UNSET),
        )
        issue = await self.tasker.update_issue(slug, project_id, issue_id, changes, actor=actor)
        return 200, _issue(issue)

    async def comment(
        self, request: httpx.Request, body: Any, slug: str, project_id: str, issue_id: str
    ) -> tuple[int, Any]:
        actor, external_id = self._write(body, {"actor", "external_id", "body_html"}, "add_comment")
        if not isinstance(body.get("body_html"), str) or not body["body_html"]:
            raise _bad("body_html", "is required")
        writes = len(self.tasker.writes)
        comment = await self.tasker.add_comment(
            slug, project_id, issue_id, body["body_html"], actor=actor, external_id=external_id
        )
        return (201 if len(self.tasker.writes) > writes else 200), _comment(comment)

    async def add_member(
        self, request: httpx.Request, body: Any, slug: str, project_id: str
    ) -> tuple[int, Any]:
        actor, _ = self._write(body, {"actor", "user_id"}, "add_project_member")
        details = await self.tasker.get_project(slug, project_id)
        already = body.get("user_id") in {m.id for m in details.members}
        member = await self.tasker.add_project_member(
            slug, project_id, str(body.get("user_id")), actor=actor
        )
        return (200 if already else 201), _member(member)

    def _write(self, body: Any, allowed: set[str], operation: str) -> tuple[Actor, str | None]:
        """The actor and external id of a write, refusing any field the document lacks."""
        if not isinstance(body, dict):
            raise _bad("body", "must be a JSON object")
        unknown = set(body) - allowed
        if unknown:
            raise _bad(sorted(unknown)[0], "is not a field of this request")
        raw_actor = body.get("actor")
        if not isinstance(raw_actor, dict) or set(raw_actor) != ACTOR_FIELDS:
            raise _bad("actor", f"must have exactly {sorted(ACTOR_FIELDS)}")
        if raw_actor["is_bot"] is not True:
            raise _bad("actor.is_bot", "must be true")
        if not all(
            isinstance(raw_actor[k], str) and raw_actor[k] for k in ACTOR_FIELDS - {"is_bot"}
        ):
            raise _bad("actor", "every field must be a non-empty string")
        external_id = body.get("external_id")
        if external_id is not None and (not isinstance(external_id, str) or not external_id):
            raise _bad("external_id", "must be a non-empty string")
        self.writes.append((operation, raw_actor))
        actor = Actor(
            agent_id=raw_actor["agent_id"],
            owner_user_id=raw_actor["owner_user_id"],
            display_name=raw_actor["display_name"],
            email=raw_actor["email"],
        )
        return actor, external_id

    def _page(self, request: httpx.Request, items: list[Any]) -> dict[str, Any]:
        q = request.url.params
        limit = min(int(q.get("limit", 100)), self.page_size)
        start = int(q.get("cursor", "0"))
        more = start + limit < len(items)
        return {
            "items": items[start : start + limit],
            "next_cursor": str(start + limit) if more else None,
        }


def _fields(raw: Any, where: str, *, required: set[str]) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise _bad(where, "must be an object")
    unknown = set(raw) - ISSUE_FIELDS
    if unknown:
        raise _bad(f"{where}.{sorted(unknown)[0]}", "is not a field of this request")
    missing = required - set(raw)
    if missing:
        raise _bad(f"{where}.{sorted(missing)[0]}", "is required")
    return raw


def _priority(value: Any) -> Priority:
    try:
        return Priority(value)
    except ValueError:
        raise _bad("priority", "must be urgent, high, medium, low or none") from None


def _date(value: Any, field: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _bad(field, "must be YYYY-MM-DD") from None


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _project(p: Project) -> dict[str, Any]:
    return {
        "id": p.id,
        "workspace_slug": p.workspace_slug,
        "identifier": p.identifier,
        "name": p.name,
    }


def _member(m: Member) -> dict[str, Any]:
    return {"id": m.id, "display_name": m.display_name, "email": m.email}


def _issue(i: Issue) -> dict[str, Any]:
    return {
        "id": i.id,
        "workspace_slug": i.workspace_slug,
        "project_id": i.project_id,
        "identifier": i.identifier,
        "name": i.name,
        "description_html": i.description_html,
        "priority": i.priority.value,
        "state": {"id": i.state.id, "name": i.state.name, "group": i.state.group.value},
        "labels": [{"id": lb.id, "name": lb.name} for lb in i.labels],
        "assignees": [_member(m) for m in i.assignees],
        "parent_id": i.parent_id,
        "start_date": i.start_date.isoformat() if i.start_date else None,
        "target_date": i.target_date.isoformat() if i.target_date else None,
        "created_at": _timestamp(i.created_at),
        "updated_at": _timestamp(i.updated_at),
    }


def _comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.id,
        "issue_id": c.issue_id,
        "body_html": c.body_html,
        "author_display_name": c.author_display_name,
        "author_email": c.author_email,
        "agent_id": c.agent_id,
        "created_at": _timestamp(c.created_at),
    }


def _problem(status: int, code: str, detail: str, **extra: Any) -> httpx.Response:
    return httpx.Response(
        status,
        headers={"Content-Type": "application/problem+json"},
        content=json.dumps(
            {
                "type": "about:blank",
                "title": code,
                "status": status,
                "detail": detail,
                "code": code,
                **extra,
            }
        ).encode(),
    )
