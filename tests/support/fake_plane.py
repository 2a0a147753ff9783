"""An in-memory stand-in of Plane's REST API v1, for the routes the gateway uses.

It keeps the behaviour of `makeplane/plane` (`apps/api/plane/api/`) that an adapter can
trip over: `X-API-Key`; trailing slashes; `per_page`/`cursor` pagination answering
`next_cursor` and `next_page_results`; plain arrays for member lists; work items by
`PROJ-123`; a 409 carrying the existing `id` for a duplicate `external_id` +
`external_source` (checked after validation, as Plane does); labels and assignees from
outside the project dropped silently; start/target dates compared only when both are in
the request; the project's default state and the role-5 (guest) default for new project
members; an optional per-key rate limit answering 429 with `Retry-After`. Fields Plane
would honour but the gateway must never send (`archived_at`, `is_draft`, `deleted_at`,
`created_by`) are honoured here too, so sending one has visible effects.

What the real server showed (docs/plane.md, "Real Plane and this stand-in") is modelled too:
descriptions and comments re-serialized by lxml (`lxml_like`: more than one top-level
node is wrapped in a bare `<div>`), a create answer whose `created_at` is not the stored
one, `403` for a bad API key and for an unknown workspace, and `{"detail": …}` bodies.

`PlaneSandbox` seeds it (the `SandboxAdmin` of the contract suite) and holds the
gateway-side configuration a `PlaneTasker` reads (which workspaces, and their policy).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import httpx

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.domain.html_fragment import Element, LeafKind, parse_fragment
from nodedc_gateway.domain.tasker import Label, Member, Project, State, StateGroup

API_KEY = "plane_api_test_0123456789abcdef"
BOT_EMAIL = "gateway-bot@demo.local"
PRIORITIES = ("urgent", "high", "medium", "low", "none")
ISSUE_FIELDS = (
    "name",
    "description_html",
    "priority",
    "state",
    "parent",
    "start_date",
    "target_date",
    "external_id",
    "external_source",
    "archived_at",
    "is_draft",
    "deleted_at",
    "created_by",
)


BAD_KEY = {"detail": "Given API token is not valid"}
NO_PERMISSION = {"detail": "You do not have permission to perform this action."}


def lxml_like(html: str) -> str:
    """A model of Plane's `html.tostring(html.fromstring(value))`: leading blanks dropped;
    one top-level element stays as it is; bare text becomes a `<span>`; anything else
    (several elements, or text beside an element) is wrapped in a bare `<div>`."""
    html = html.lstrip(" \t\n\r\f")
    if not html:
        return html
    fragment = parse_fragment(html, field="html")
    significant = [
        node
        for node in fragment.root.children
        if isinstance(node, Element)
        or node.kind is not LeafKind.TEXT
        or fragment.slice(node).strip(" \t\n\r\f")
    ]
    if len(significant) == 1 and isinstance(significant[0], Element):
        return html
    if all(not isinstance(n, Element) and n.kind is LeafKind.TEXT for n in significant):
        return f"<span>{html}</span>"
    return f"<div>{html}</div>"


class _Error(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = (
            body if body is not None else {"error": "The requested resource does not exist."}
        )
        self.headers = headers or {}


def _new_id() -> str:
    return str(uuid.uuid4())


@attrs.define
class _Page:
    results: list[Any]
    per_page: int
    page: int
    total: int


class FakePlane:
    def __init__(
        self,
        clock: FixedClock,
        *,
        monotonic: Callable[[], float] | None = None,
        rate_limit_per_minute: int | None = None,
    ) -> None:
        self.clock = clock
        self.monotonic = monotonic
        self.rate_limit = rate_limit_per_minute
        self.hits: list[float] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.workspaces: dict[str, dict[str, Any]] = {}  # slug -> {members: {user: role}}
        self.projects: dict[str, dict[str, Any]] = {}
        self.states: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self.issue_labels: dict[str, list[str]] = {}
        self.issue_assignees: dict[str, list[str]] = {}
        self.comments: dict[str, dict[str, Any]] = {}
        self.bot = self.user(BOT_EMAIL, "Gateway Bot")
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Awaitable[Any]]]] = []
        self._route_table()

    # --- data -----------------------------------------------------------------------------

    def user(self, email: str, display_name: str) -> dict[str, Any]:
        for existing in self.users.values():
            if existing["email"] == email:
                return existing
        first, _, last = display_name.partition(" ")
        user = {
            "id": _new_id(),
            "email": email,
            "display_name": display_name,
            "first_name": first,
            "last_name": last,
            "avatar": "",
            "avatar_url": None,
        }
        self.users[user["id"]] = user
        return user

    def live_issues(self, project_id: str) -> list[dict[str, Any]]:
        """Plane's `issue_objects`: not archived, not draft, not deleted."""
        return [
            i
            for i in self.issues.values()
            if i["project"] == project_id
            and not i.get("archived_at")
            and not i.get("is_draft")
            and not i.get("deleted_at")
        ]

    def _now(self) -> str:
        return self.clock.now().isoformat().replace("+00:00", "Z")

    # --- HTTP -----------------------------------------------------------------------------

    async def handle(self, request: httpx.Request) -> httpx.Response:
        try:
            body = await self._dispatch(request)
        except _Error as error:
            return httpx.Response(error.status, json=error.body, headers=error.headers)
        if isinstance(body, httpx.Response):
            return body
        return httpx.Response(201 if request.method == "POST" else 200, json=body)

    async def _dispatch(self, request: httpx.Request) -> Any:
        path = request.url.path
        if not path.startswith("/api/v1/"):
            raise _Error(404)
        if request.headers.get("X-API-Key") != API_KEY:
            if not request.headers.get("X-API-Key"):
                raise _Error(401, {"detail": "Authentication credentials were not provided."})
            raise _Error(403, BAD_KEY)  # Plane answers a wrong key with 403, not 401
        self._throttle()
        rest = path.removeprefix("/api/v1/")
        if not rest.endswith("/"):
            # Django's APPEND_SLASH: a redirect for GET, nothing useful for writes
            return httpx.Response(301, headers={"Location": path + "/"})
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            if method != request.method:
                continue
            data = json.loads(request.content) if request.content else {}
            return await handler(request, data, **match.groupdict())
        raise _Error(404)

    def _throttle(self) -> None:
        if self.rate_limit is None or self.monotonic is None:
            return
        now = self.monotonic()
        self.hits = [t for t in self.hits if t > now - 60]
        if len(self.hits) >= self.rate_limit:
            wait = int(60 - (now - self.hits[0])) + 1
            raise _Error(
                429,
                {"detail": f"Request was throttled. Expected available in {wait} seconds."},
                {"Retry-After": str(wait)},
            )
        self.hits.append(now)

    def _route_table(self) -> None:
        w = r"workspaces/(?P<slug>[^/]+)"
        p = w + r"/projects/(?P<project_id>[0-9a-f-]{36})"
        i = p + r"/(?:work-items|issues)/(?P<issue_id>[0-9a-f-]{36})"
        self._routes = [
            ("GET", re.compile(r"users/me/"), self.get_me),
            ("GET", re.compile(w + r"/projects/"), self.list_projects),
            ("GET", re.compile(p + "/"), self.get_project),
            ("GET", re.compile(p + r"/states/"), self.list_states),
            ("GET", re.compile(p + r"/labels/"), self.list_labels),
            ("GET", re.compile(p + r"/(?:project-)?members/"), self.list_project_members),
            ("POST", re.compile(p + r"/(?:project-)?members/"), self.add_project_member),
            ("GET", re.compile(w + r"/members/"), self.list_workspace_members),
            ("GET", re.compile(p + r"/(?:work-items|issues)/"), self.list_issues),
            ("POST", re.compile(p + r"/(?:work-items|issues)/"), self.create_issue),
            ("GET", re.compile(i + "/"), self.get_issue),
            ("PATCH", re.compile(i + "/"), self.patch_issue),
            (
                "GET",
                re.compile(w + r"/(?:work-items|issues)/(?P<ident>[A-Za-z0-9]+)-(?P<seq>\d+)/"),
                self.get_issue_by_key,
            ),
            ("GET", re.compile(i + r"/comments/"), self.list_comments),
            ("POST", re.compile(i + r"/comments/"), self.create_comment),
            ("GET", re.compile(i + r"/comments/(?P<comment_id>[0-9a-f-]{36})/"), self.get_comment),
        ]

    # --- pagination (plane/utils/paginator.py) -------------------------------------------

    def _paginate(self, request: httpx.Request, items: list[Any]) -> dict[str, Any]:
        params = request.url.params
        try:
            per_page = int(params.get("per_page", 1000))
        except ValueError:
            raise _Error(400, {"error": "Invalid per_page parameter."}) from None
        if per_page > 1000:
            raise _Error(400, {"error": "Invalid per_page value. Cannot exceed 1000."})
        raw_cursor = params.get("cursor", f"{per_page}:0:0")
        bits = raw_cursor.split(":")
        if len(bits) != 3 or not all(b.isdigit() for b in bits):
            raise _Error(400, {"detail": "Invalid cursor parameter."})
        page = int(bits[1])
        start = page * per_page
        results = items[start : start + per_page]
        more = len(items) > start + per_page
        return {
            "grouped_by": None,
            "sub_grouped_by": None,
            "total_count": len(items),
            "next_cursor": f"{per_page}:{page + 1}:0",
            "prev_cursor": f"{per_page}:{page - 1}:1",
            "next_page_results": more,
            "prev_page_results": page > 0,
            "count": len(results),
            "total_pages": -(-len(items) // per_page),
            "total_results": len(items),
            "extra_stats": None,
            "results": results,
        }

    # --- lookups --------------------------------------------------------------------------

    def _workspace(self, slug: str) -> dict[str, Any]:
        workspace = self.workspaces.get(slug)
        if workspace is None:
            raise _Error(403, NO_PERMISSION)  # Plane: not a member of it, so no permission
        return workspace

    def _visible(self, project: dict[str, Any]) -> bool:
        """Plane shows projects its user is a member of, and public ones (network 2)."""
        return self.bot["id"] in project["members"] or project["network"] == 2

    def _project(self, slug: str, project_id: str, *, member: bool = True) -> dict[str, Any]:
        project = self.projects.get(project_id)
        if project is None or project["workspace_slug"] != slug or not self._visible(project):
            raise _Error(404)
        if member and self.bot["id"] not in project["members"]:
            raise _Error(403, {"error": "You don't have the required permissions."})
        return project

    def _issue(self, slug: str, project_id: str, issue_id: str) -> dict[str, Any]:
        self._project(slug, project_id)
        issue = self.issues.get(issue_id)
        if issue is None or issue not in self.live_issues(project_id):
            raise _Error(404)
        return issue

    def _user_lite(self, user_id: str) -> dict[str, Any]:
        return dict(self.users[user_id])

    def _issue_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in issue.items() if k != "workspace_slug"}
        out["labels"] = list(self.issue_labels.get(issue["id"], []))
        out["assignees"] = list(self.issue_assignees.get(issue["id"], []))
        return out

    def _project_json(self, project: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in project.items() if k not in ("members", "next_sequence")}
        out["is_member"] = self.bot["id"] in project["members"]
        return out

    # --- handlers -------------------------------------------------------------------------

    async def get_me(self, request: httpx.Request, data: Any) -> Any:
        return self._user_lite(self.bot["id"])

    async def list_projects(self, request: httpx.Request, data: Any, slug: str) -> Any:
        self._workspace(slug)
        projects = [
            self._project_json(p)
            for p in self.projects.values()
            if p["workspace_slug"] == slug and self._visible(p)
        ]
        return self._paginate(request, projects)

    async def get_project(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        return self._project_json(self._project(slug, project_id, member=False))

    async def list_states(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        self._project(slug, project_id)
        states = [s for s in self.states.values() if s["project"] == project_id]
        return self._paginate(request, states)

    async def list_labels(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        self._project(slug, project_id)
        labels = sorted(
            (lb for lb in self.labels.values() if lb["project"] == project_id),
            key=lambda lb: lb["created_at"],
            reverse=True,
        )
        return self._paginate(request, labels)

    async def list_project_members(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        project = self._project(slug, project_id)
        return [self._user_lite(u) for u in project["members"]]

    async def add_project_member(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        project = self._project(slug, project_id)
        if project["members"].get(self.bot["id"]) != 20:
            raise _Error(403, {"error": "Only admins can add members."})
        member = data.get("member")
        if member not in self._workspace(slug)["members"]:
            raise _Error(400, {"member": ["Member not found in workspace"]})
        role = data.get("role", 5)
        if role not in (5, 15, 20):
            raise _Error(400, {"role": ["Invalid role"]})
        if member in project["members"]:
            raise _Error(400, {"error": "The payload is not valid"})  # IntegrityError
        project["members"][member] = role
        return {"id": _new_id(), "member": member, "role": role}

    async def list_workspace_members(self, request: httpx.Request, data: Any, slug: str) -> Any:
        workspace = self._workspace(slug)  # real Plane: 403 for a workspace it hides
        return [{**self._user_lite(u), "role": role} for u, role in workspace["members"].items()]

    async def list_issues(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        self._project(slug, project_id)
        order = request.url.params.get("order_by", "-created_at")
        field = order.lstrip("-")
        issues = sorted(
            self.live_issues(project_id),
            key=lambda i: (i.get(field) or "", i["sequence_id"]),
            reverse=order.startswith("-"),
        )
        return self._paginate(request, [self._issue_json(i) for i in issues])

    def _validate_issue(
        self, project: dict[str, Any], data: dict[str, Any], *, partial: bool
    ) -> dict[str, Any]:
        """IssueSerializer.validate: what Plane checks, and what it quietly drops."""
        fields = {k: data[k] for k in ISSUE_FIELDS if k in data}
        if isinstance(fields.get("description_html"), str):
            fields["description_html"] = lxml_like(fields["description_html"])
        if not partial and not fields.get("name"):
            raise _Error(400, {"name": ["This field is required."]})
        if "name" in fields and (not isinstance(fields["name"], str) or len(fields["name"]) > 255):
            raise _Error(400, {"name": ["Ensure this field has no more than 255 characters."]})
        if "priority" in fields and fields["priority"] not in PRIORITIES:
            raise _Error(400, {"priority": [f'"{fields["priority"]}" is not a valid choice.']})
        for key in ("start_date", "target_date"):
            if fields.get(key) is not None:
                try:
                    date.fromisoformat(fields[key])
                except (TypeError, ValueError):
                    raise _Error(400, {key: ["Date has wrong format."]}) from None
        if (
            fields.get("start_date") is not None
            and fields.get("target_date") is not None
            and fields["start_date"] > fields["target_date"]
        ):
            raise _Error(400, {"non_field_errors": ["Start date cannot exceed target date"]})
        state = fields.get("state")
        if state is not None and (
            state not in self.states or self.states[state]["project"] != project["id"]
        ):
            raise _Error(
                400, {"non_field_errors": ["State is not valid please pass a valid state_id"]}
            )
        parent = fields.get("parent")
        if parent is not None and (
            parent not in self.issues or self.issues[parent]["project"] != project["id"]
        ):
            raise _Error(
                400,
                {"non_field_errors": ["Parent is not valid issue_id please pass a valid issue_id"]},
            )
        if "labels" in data:
            fields["labels"] = [
                lb
                for lb in data["labels"] or []
                if lb in self.labels and self.labels[lb]["project"] == project["id"]
            ]
        if "assignees" in data:
            fields["assignees"] = [
                u for u in data["assignees"] or [] if project["members"].get(u, 0) >= 15
            ]
        return fields

    async def create_issue(
        self, request: httpx.Request, data: Any, slug: str, project_id: str
    ) -> Any:
        project = self._project(slug, project_id)
        fields = self._validate_issue(project, data, partial=False)
        if data.get("external_id") and data.get("external_source"):
            for existing in self.issues.values():
                if (
                    existing["project"] == project_id
                    and existing.get("external_id") == data["external_id"]
                    and existing.get("external_source") == data["external_source"]
                ):
                    raise _Error(
                        409,
                        {
                            "error": "Issue with the same external id and external source "
                            "already exists",
                            "id": existing["id"],
                        },
                    )
        labels = fields.pop("labels", [])
        assignees = fields.pop("assignees", [])
        default_state = next(
            (s["id"] for s in self.states.values() if s["project"] == project_id and s["default"]),
            None,
        )
        now = self._now()
        issue = {
            "id": _new_id(),
            "workspace": self.workspaces[slug]["id"],
            "workspace_slug": slug,
            "project": project_id,
            "sequence_id": project["next_sequence"],
            "name": "",
            "description_html": "<p></p>",
            "priority": "none",
            "state": default_state,
            "parent": None,
            "start_date": None,
            "target_date": None,
            "external_id": None,
            "external_source": None,
            "archived_at": None,
            "is_draft": False,
            "deleted_at": None,
            "created_by": self.bot["id"],
            "created_at": now,
            "updated_at": now,
            "sort_order": 65535,
        }
        issue.update(fields)
        if not issue["description_html"]:
            issue["description_html"] = "<p></p>"
        answer = self._issue_json(issue)
        # Plane sets created_at again after building its answer: the answer's is not stored.
        earlier = self.clock.now() - timedelta(milliseconds=30)
        answer["created_at"] = earlier.isoformat().replace("+00:00", "Z")
        project["next_sequence"] += 1
        self.issues[issue["id"]] = issue
        self.issue_labels[issue["id"]] = list(dict.fromkeys(labels))
        self.issue_assignees[issue["id"]] = list(dict.fromkeys(assignees))
        return answer

    async def get_issue(
        self, request: httpx.Request, data: Any, slug: str, project_id: str, issue_id: str
    ) -> Any:
        return self._issue_json(self._issue(slug, project_id, issue_id))

    async def patch_issue(
        self, request: httpx.Request, data: Any, slug: str, project_id: str, issue_id: str
    ) -> Any:
        issue = self._issue(slug, project_id, issue_id)
        project = self.projects[project_id]
        fields = self._validate_issue(project, data, partial=True)
        if "labels" in fields:
            self.issue_labels[issue_id] = list(dict.fromkeys(fields.pop("labels")))
        if "assignees" in fields:
            self.issue_assignees[issue_id] = list(dict.fromkeys(fields.pop("assignees")))
        issue.update(fields)
        issue["updated_at"] = self._now()
        return self._issue_json(issue)

    async def get_issue_by_key(
        self, request: httpx.Request, data: Any, slug: str, ident: str, seq: str
    ) -> Any:
        self._workspace(slug)
        for project in self.projects.values():
            if project["workspace_slug"] == slug and project["identifier"] == ident:
                for issue in self.live_issues(project["id"]):
                    if issue["sequence_id"] == int(seq):
                        return self._issue_json(issue)
        raise _Error(404)

    def _comment_json(self, comment: dict[str, Any], request: httpx.Request) -> dict[str, Any]:
        out = dict(comment)
        if "actor" in request.url.params.get("expand", "").split(","):
            out["actor"] = self._user_lite(comment["actor"])
        return out

    async def list_comments(
        self, request: httpx.Request, data: Any, slug: str, project_id: str, issue_id: str
    ) -> Any:
        self._project(slug, project_id)
        comments = sorted(
            (c for c in self.comments.values() if c["issue"] == issue_id),
            key=lambda c: (c["created_at"], c["seq"]),
            reverse=True,
        )
        return self._paginate(request, [self._comment_json(c, request) for c in comments])

    async def create_comment(
        self, request: httpx.Request, data: Any, slug: str, project_id: str, issue_id: str
    ) -> Any:
        self._project(slug, project_id)
        if data.get("external_id") and data.get("external_source"):
            for existing in self.comments.values():
                if (
                    existing["project"] == project_id
                    and existing.get("external_id") == data["external_id"]
                    and existing.get("external_source") == data["external_source"]
                ):
                    raise _Error(
                        409,
                        {
                            "error": "Work item comment with the same external id and "
                            "external source already exists",
                            "id": existing["id"],
                        },
                    )
        now = self._now()
        comment = {
            "id": _new_id(),
            "seq": len(self.comments),
            "workspace": self.workspaces[slug]["id"],
            "project": project_id,
            "issue": issue_id,
            "comment_html": lxml_like(data.get("comment_html") or "<p></p>"),
            "access": data.get("access", "INTERNAL"),
            "external_id": data.get("external_id"),
            "external_source": data.get("external_source"),
            "actor": data.get("created_by") or self.bot["id"],
            "created_by": data.get("created_by") or self.bot["id"],
            "created_at": now,
            "updated_at": now,
        }
        self.comments[comment["id"]] = comment
        return self._comment_json(comment, request)

    async def get_comment(
        self,
        request: httpx.Request,
        data: Any,
        slug: str,
        project_id: str,
        issue_id: str,
        comment_id: str,
    ) -> Any:
        self._project(slug, project_id)
        comment = self.comments.get(comment_id)
        if comment is None or comment["issue"] != issue_id:
            raise _Error(404)
        return self._comment_json(comment, request)


class PlaneSandbox:
    """Seeds a `FakePlane` (the contract suite's `SandboxAdmin`) and keeps the gateway's
    Plane configuration: which workspaces it may use and their agent policy."""

    def __init__(self, plane: FakePlane) -> None:
        self.plane = plane
        self.workspace_policies: dict[str, bool] = {}

    async def ensure_workspace(self, slug: str, name: str, *, agents_allowed: bool = True) -> None:
        if slug not in self.plane.workspaces:
            self.plane.workspaces[slug] = {
                "id": _new_id(),
                "name": name,
                "members": {self.plane.bot["id"]: 20},
            }
            self.workspace_policies[slug] = agents_allowed

    async def set_workspace_policy(self, slug: str, *, agents_allowed: bool) -> None:
        self.workspace_policies[slug] = agents_allowed

    async def ensure_workspace_member(
        self, slug: str, email: str, display_name: str, *, role: int = 15
    ) -> Member:
        user = self.plane.user(email, display_name)
        self.plane.workspaces[slug]["members"].setdefault(user["id"], role)
        return Member(user["id"], user["display_name"], user["email"])

    async def ensure_project(
        self, slug: str, identifier: str, name: str, *, gateway_member: bool = True
    ) -> Project:
        for p in self.plane.projects.values():
            if p["workspace_slug"] == slug and p["identifier"] == identifier:
                return Project(p["id"], slug, identifier, p["name"])
        project = {
            "id": _new_id(),
            "workspace": self.plane.workspaces[slug]["id"],
            "workspace_slug": slug,
            "identifier": identifier,
            "name": name,
            "archived_at": None,
            "network": 2,
            "members": {self.plane.bot["id"]: 20} if gateway_member else {},
            "next_sequence": 1,
            "created_at": self.plane._now(),
        }
        self.plane.projects[project["id"]] = project
        return Project(project["id"], slug, identifier, name)

    async def ensure_state(self, project_id: str, name: str, group: StateGroup) -> State:
        states = [s for s in self.plane.states.values() if s["project"] == project_id]
        for s in states:
            if s["name"] == name:
                return State(s["id"], name, StateGroup(s["group"]))
        state = {
            "id": _new_id(),
            "project": project_id,
            "name": name,
            "group": group.value,
            "color": "#000000",
            "sequence": 15_000.0 + 10_000 * len(states),
            "default": group is StateGroup.BACKLOG and not any(s["default"] for s in states),
            "is_triage": False,
        }
        self.plane.states[state["id"]] = state
        return State(state["id"], name, group)

    async def ensure_label(self, project_id: str, name: str) -> Label:
        for lb in self.plane.labels.values():
            if lb["project"] == project_id and lb["name"] == name:
                return Label(lb["id"], name)
        label = {
            "id": _new_id(),
            "project": project_id,
            "name": name,
            "color": "#ff0000",
            "parent": None,
            "sort_order": 65535,
            "created_at": f"{datetime(2026, 1, 1).isoformat()}.{len(self.plane.labels):06d}Z",
        }
        self.plane.labels[label["id"]] = label
        return Label(label["id"], name)

    async def ensure_project_member(self, project_id: str, user_id: str, role: int = 15) -> None:
        self.plane.projects[project_id]["members"].setdefault(user_id, role)
