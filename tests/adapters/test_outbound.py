"""The allow-list every Tasker request is built from refuses what must never leave."""

from __future__ import annotations

from typing import Any

import pytest

from nodedc_gateway.adapters.tasker.outbound import FORBIDDEN_FIELDS, ForbiddenRequest, Route
from nodedc_gateway.adapters.tasker.plane_api import MEMBER_ROLE, PLANE_ROUTES

ISSUE_PATH = "workspaces/{slug:slug}/projects/{project_id:uuid}/work-items/{issue_id:uuid}/"
PARAMS = {
    "slug": "demo",
    "project_id": "01900000-0000-7000-8000-000000000001",
    "issue_id": "01900000-0000-7000-8000-000000000002",
}


@pytest.mark.parametrize("method", ["DELETE", "PUT", "OPTIONS", "delete"])
def test_a_route_with_another_method_cannot_be_defined(method: Any) -> None:
    with pytest.raises(ForbiddenRequest):
        Route("x", method, ISSUE_PATH)


@pytest.mark.parametrize(
    "path",
    [
        "workspaces/{slug:slug}/projects/{project_id:uuid}/archive/",
        "workspaces/{slug:slug}/invitations/",
        "workspaces/{slug:slug}/settings/",
        "workspaces/{slug:slug}/projects/{project_id:uuid}/issues/bulk-delete/",
        "workspaces/{slug:slug}/projects/{project_id:uuid}/archived-issues/",
        ISSUE_PATH + "attachments/",
        "/absolute/",
        "workspaces/../users/",
    ],
)
def test_a_route_to_a_human_only_path_cannot_be_defined(path: str) -> None:
    with pytest.raises(ForbiddenRequest):
        Route("x", "POST", path)


@pytest.mark.parametrize("field", sorted(FORBIDDEN_FIELDS))
def test_a_route_allowing_a_forbidden_field_cannot_be_defined(field: str) -> None:
    with pytest.raises(ForbiddenRequest):
        Route("x", "PATCH", ISSUE_PATH, body={"name": None, field: None})
    with pytest.raises(ForbiddenRequest):
        Route("x", "PATCH", ISSUE_PATH, body={"actor": frozenset({"agent_id", field})})


def test_building_refuses_fields_outside_the_allow_list() -> None:
    route = PLANE_ROUTES["update_work_item"]
    assert route.build(PARAMS, body={"name": "ok"}).body == {"name": "ok"}
    for field in ("archived_at", "is_draft", "deleted_at", "created_by", "estimate_point"):
        with pytest.raises(ForbiddenRequest):
            route.build(PARAMS, body={"name": "ok", field: "x"})


def test_nested_objects_are_checked_too() -> None:
    route = Route("x", "POST", "things/", body={"actor": frozenset({"agent_id"}), "name": None})
    route.build(body={"actor": {"agent_id": "a"}, "name": "n"})
    with pytest.raises(ForbiddenRequest):
        route.build(body={"actor": {"agent_id": "a", "created_by": "b"}})
    with pytest.raises(ForbiddenRequest):
        route.build(body={"name": {"archived_at": "2026-01-01"}})
    with pytest.raises(ForbiddenRequest):
        route.build(body={"name": [{"archived_at": "2026-01-01"}]})


@pytest.mark.parametrize(
    "bad",
    [
        {"slug": "../admin"},
        {"slug": "demo/settings"},
        {"project_id": "not-a-uuid"},
        {"issue_id": "01900000-0000-7000-8000-000000000002/archive"},
        {"issue_id": "01900000-0000-7000-8000-00000000000A"},  # ids travel lower-cased
    ],
)
def test_path_values_must_be_plain_ids(bad: dict[str, str]) -> None:
    with pytest.raises(ForbiddenRequest):
        PLANE_ROUTES["work_item"].build({**PARAMS, **bad})


def test_query_fields_are_allow_listed() -> None:
    route = PLANE_ROUTES["work_items"]
    params = {k: PARAMS[k] for k in ("slug", "project_id")}
    route.build(params, query={"per_page": 10, "cursor": "10:1:0"})
    with pytest.raises(ForbiddenRequest):
        route.build(params, query={"archived": "true"})


def test_a_get_carries_no_body() -> None:
    with pytest.raises(ForbiddenRequest):
        PLANE_ROUTES["work_item"].build(PARAMS, body={})


def test_a_project_member_is_always_added_as_a_member() -> None:
    route = PLANE_ROUTES["add_project_member"]
    params = {k: PARAMS[k] for k in ("slug", "project_id")}
    built = route.build(params, body={"member": "01900000-0000-7000-8000-000000000003"})
    assert built.body == {"member": "01900000-0000-7000-8000-000000000003", "role": MEMBER_ROLE}
    assert MEMBER_ROLE == 15
    with pytest.raises(ForbiddenRequest):
        route.build(params, body={"member": "x", "role": 20})


def test_the_plane_table_has_no_human_only_route() -> None:
    for route in PLANE_ROUTES.values():
        assert route.method in {"GET", "POST", "PATCH"}
        for word in ("archive", "invit", "setting", "delete"):
            assert word not in route.path
