"""Plane's REST API v1 as `plane` uses it: the closed table of routes it may call, and the
requests along them (JSON answers read, cursor pagination followed). Nothing here knows
what a route means to Tasker; `plane` does."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import httpx

from nodedc_gateway.adapters.service_client import ServiceClient
from nodedc_gateway.adapters.tasker import plane_answers as answers
from nodedc_gateway.adapters.tasker.outbound import Outbound, Route, send_through

#: Plane's project roles: 20 admin, 15 member, 5 guest. Agents only ever add members.
MEMBER_ROLE: Final = 15
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGES: Final = 1_000

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


class PlaneApi:
    """Requests along `PLANE_ROUTES` through `http` (a `ServiceClient` for Plane's
    `/api/v1/` with its API key), lists read `page_size` at a time."""

    def __init__(self, http: ServiceClient, page_size: int) -> None:
        self.page_size = page_size
        self._http = http

    def __repr__(self) -> str:
        return f"PlaneApi(base={self._http.base!r})"

    async def send(self, outbound: Outbound, *, repeatable: bool) -> httpx.Response:
        return await send_through(self._http, outbound, repeatable=repeatable)

    async def get_json(self, route: str, **params: str | int) -> Any:
        """A GET whose path takes `params`; what is left over goes in the query string."""
        outbound = _build_get(route, params)
        return answers.expect(await self.send(outbound, repeatable=True))

    async def paged(self, route: str, **params: str | int) -> AsyncIterator[dict[str, Any]]:
        """Every result of a paginated list, following `next_cursor` while
        `next_page_results` says there is more."""
        params.setdefault("per_page", self.page_size)
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = await self.get_json(route, **params, **({"cursor": cursor} if cursor else {}))
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


def _build_get(route_name: str, params: Mapping[str, str | int]) -> Outbound:
    route = PLANE_ROUTES[route_name]
    in_path = {k: str(v) for k, v in params.items() if "{" + k + ":" in route.path}
    query = {k: v for k, v in params.items() if k not in in_path}
    return route.build(in_path, query=query)
