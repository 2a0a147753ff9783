"""The gateway against the real Plane API server (`../shared/plane`): every agent tool
over MCP, a card written ten times, assignees added and removed, paging, idempotent
retries and a lost answer, adding a member, Plane's refusals, and the Plane requests per
tool call (printed, and held to the targets of `tests/support/plane_session.py`).

Plane's database is shared across runs: each run works in its own new project
(`real_plane.make_run_project`), so nothing assumes an empty one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dependency_injector import providers
from mcp import Client

from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.domain.errors import NotFound, TaskerUnavailable
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import Actor, IssueDraft, IssueQuery
from nodedc_gateway.entrypoints.bootstrap import build_container
from nodedc_gateway.entrypoints.http.app import create_app
from tests.reliability.figures import Figure
from tests.reliability.real_plane import (
    WORKSPACE,
    PlaneRequests,
    RealPlane,
    RunProject,
    make_run_project,
    plane,
)
from tests.support.mcp import http_client, structured
from tests.support.plane_session import CACHED_READ_TARGET, SESSION_TARGET, realistic_session
from tests.support.served import INTERNAL_TOKEN, gateway_settings, serve

pytestmark = pytest.mark.reliability
__all__ = ["plane"]  # the fixture, imported for these tests

ALL = [
    "workspace:read",
    "project:read",
    "project:member:add_existing",
    "issue:read",
    "issue:create",
    "issue:update",
    "issue:move",
    "issue:comment",
    "issue:label",
    "issue:assign",
    "issue:structured_blocks:write",
]
ACTOR = Actor("a-real", "o-real", "Codex Agent: Real", "agent+a-real@agents.nodedc.local")


@pytest.fixture(scope="module")
def project(plane: RealPlane) -> RunProject:
    return asyncio.run(make_run_project(plane))  # set-up of its own, outside the tests' loop


class DropFirstAnswer(httpx.AsyncBaseTransport):
    """Forwards to Plane; when armed, loses the answer to the next POST after Plane has
    done the work (as a dropped connection would)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.armed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.armed and request.method == "POST":
            self.armed -= 1
            await response.aread()
            await response.aclose()
            raise httpx.ReadError("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def gateway_on(plane: RealPlane) -> AsyncIterator[tuple[str, httpx.AsyncClient, Any]]:
    """A served gateway whose Tasker is the real Plane; yields its URL, an internal client,
    and (requests counter, fault transport)."""
    settings = gateway_settings(
        tasker_backend="plane",
        plane_url=plane.base,
        plane_api_key=plane.token,
        plane_workspaces=(WORKSPACE,),
        write_burst=1000,
        write_limit_per_minute=6000,
        read_burst=1000,
        read_limit_per_minute=6000,
    )
    counter = PlaneRequests(plane.base)
    faults = DropFirstAnswer()
    client = httpx.AsyncClient(
        transport=faults, follow_redirects=False, event_hooks={"request": [counter.hook]}
    )
    container = build_container(settings)
    container.core.http_client.override(providers.Object(client))
    try:
        async with (
            serve(create_app(container)) as url,
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}, timeout=60
            ) as internal,
        ):
            yield url, internal, (counter, faults)
    finally:
        await client.aclose()


async def agent_token(
    internal: httpx.AsyncClient, owner: str, project: RunProject, scopes: list[str]
) -> str:
    base = f"/internal/v1/owners/{owner}"
    created = await internal.post(
        f"{base}/agents", json={"display_name": "Real Plane agent", "owner_email": "bob@acme.test"}
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    granted = await internal.post(
        f"{base}/agents/{agent_id}/grants",
        json={"workspace_slug": WORKSPACE, "project_id": project.identifier, "scopes": scopes},
    )
    assert granted.status_code == 201, granted.text
    token = await internal.post(
        f"{base}/agents/{agent_id}/tokens", json={"name": "real", "expires_in_days": 1}
    )
    assert token.status_code == 201, token.text
    return str(token.json()["token"])


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    body = structured(result)
    assert not result.is_error, (tool, body)
    return body


async def refusal(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    body = structured(result)
    assert result.is_error, (tool, body)
    return dict(body["error"])


# --- the whole workflow over MCP ------------------------------------------------------------


async def test_every_agent_tool_works_against_the_real_plane(
    plane: RealPlane, project: RunProject
) -> None:
    where = {"workspace_slug": WORKSPACE, "project_id": project.identifier}
    bob = project.people["bob@acme.test"]
    async with gateway_on(plane) as (url, internal, _):
        token = await agent_token(internal, bob, project, ALL)
        async with http_client(url, token) as client:
            me = await call(client, "whoami")
            assert "create_issue" in me["tools"]
            listed = await call(client, "list_projects", workspace_slug=WORKSPACE)
            assert project.identifier in [p["identifier"] for p in listed["items"]]
            details = await call(client, "get_project", **where)
            assert [s["name"] for s in details["project"]["states"]][:2] == ["Backlog", "Todo"]
            created = await call(
                client,
                "create_issue",
                **where,
                name="Real card",
                description="Plain *text* & <b>not bold</b>",
                priority="medium",
                labels=["bug"],
                card={"goal": "Prove it", "checkers": ["one", "two"]},
            )
            key = created["issue"]["identifier"]
            assert key.startswith(project.identifier + "-")
            read = (await call(client, "get_issue", workspace_slug=WORKSPACE, issue=key))["issue"]
            assert read["created_at"] == created["issue"]["created_at"]  # the stored one
            assert read["card"]["goal"] == "Prove it"
            await call(client, "update_issue", **where, issue=key, name="Real card, renamed")
            moved = await call(client, "move_issue", **where, issue=key, state="In Progress")
            assert moved["issue"]["state"]["name"] == "In Progress"
            labelled = await call(
                client, "set_issue_labels", **where, issue=key, add=["feature"], remove=["bug"]
            )
            assert [lb["name"] for lb in labelled["issue"]["labels"]] == ["feature"]
            added = await call(
                client, "set_issue_assignees", **where, issue=key, add=["bob@acme.test"]
            )
            assert [a["email"] for a in added["issue"]["assignees"]] == ["bob@acme.test"]
            removed = await call(
                client, "set_issue_assignees", **where, issue=key, remove=["bob@acme.test"]
            )
            assert removed["issue"]["assignees"] == []
            comment = await call(
                client, "add_comment", **where, issue=key, body="<script>alert(1)</script> ok"
            )
            assert "<script>" not in comment["comment"]["body_html"]
            checkers = read["card"]["checkers"]
            checked = await call(
                client, "update_checkers", **where, issue=key, check=[checkers[0]["id"]]
            )
            assert checked["issue"]["card"]["checkers"][0]["checked"] is True
            await call(client, "update_card", **where, issue=key, blocks={"risks": "None"})
            final = (await call(client, "get_issue", workspace_slug=WORKSPACE, issue=key))["issue"]
            assert final["name"] == "Real card, renamed"
            assert final["card"]["risks"] == "None"
            assert [c["checked"] for c in final["card"]["checkers"]] == [True, False]
            assert "ok" in final["comments"][0]["body_html"]
            session = await call(
                client, "start_work_session", **where, issue=key, summary="Starting"
            )
            session_id = session["session"]["id"]
            await call(
                client,
                "report_progress",
                session_id=session_id,
                note="Half way",
                check=[checkers[1]["id"]],
            )
            await call(
                client, "finish_work_session", session_id=session_id, outcome="done", summary="ok"
            )
            # `project_id` is resolved through Plane: the identifier's project is the one
            # granted, so a scope held there is refused; the workspace itself is not granted.
            held = await refusal(
                client,
                "request_access",
                **where,
                scopes=["issue:create"],
                justification="already have it, asking anyway",
            )
            assert held["code"] == "validation_failed"
            asked = await call(
                client,
                "request_access",
                workspace_slug=WORKSPACE,
                scopes=["issue:create"],
                justification="the whole workspace",
            )
            request_id = asked["request"]["id"]
            assert (await call(client, "get_access_request", request_id=request_id))["items"]
        async with plane.admin() as admin:
            # Plane stores comments as sent: the gateway's escaping is the only defence.
            stored = (
                await admin.get(
                    f"workspaces/{WORKSPACE}/projects/{project.id}/work-items/"
                    f"{read['id']}/comments/",
                    params={"per_page": 100},
                )
            ).json()["results"]
            bodies = " ".join(c["comment_html"] for c in stored)
            assert "<script>" not in bodies
            assert "&lt;script&gt;" in bodies


async def test_a_card_written_ten_times_in_a_row_stays_a_card(
    plane: RealPlane, project: RunProject
) -> None:
    where = {"workspace_slug": WORKSPACE, "project_id": project.identifier}
    async with gateway_on(plane) as (url, internal, _):
        token = await agent_token(internal, project.people["bob@acme.test"], project, ALL)
        async with http_client(url, token) as client:
            key = (
                await call(
                    client,
                    "create_issue",
                    **where,
                    name="Ten writes",
                    card={"goal": "Stay whole", "checkers": ["a", "b"]},
                )
            )["issue"]["identifier"]
            first_read: dict[str, Any] | None = None
            for n in range(10):
                await call(client, "update_card", **where, issue=key, blocks={"plan": f"Step {n}"})
                card = (await call(client, "get_issue", workspace_slug=WORKSPACE, issue=key))[
                    "issue"
                ]["card"]
                assert card is not None, f"the card vanished after write {n + 1}"
                assert (card["goal"], card["plan"]) == ("Stay whole", f"Step {n}")
                ids = [c["id"] for c in card["checkers"]]
                assert len(ids) == 2
                first_read = first_read or card
                assert ids == [c["id"] for c in first_read["checkers"]]
                toggle = "check" if n % 2 == 0 else "uncheck"
                await call(client, "update_checkers", **where, issue=key, **{toggle: [ids[0]]})


async def test_paging_retries_a_lost_answer_and_members(
    plane: RealPlane, project: RunProject
) -> None:
    where = {"workspace_slug": WORKSPACE, "project_id": project.identifier}
    async with gateway_on(plane) as (url, internal, (_, faults)):
        token = await agent_token(internal, project.people["bob@acme.test"], project, ALL)
        async with http_client(url, token) as client:
            names = [f"Paged {n}" for n in range(5)]
            for name in names:
                await call(client, "create_issue", **where, name=name)
            seen: list[str] = []
            cursor = None
            for _ in range(10):
                page = await call(
                    client,
                    "search_issues",
                    **where,
                    query="Paged",
                    limit=2,
                    **({"cursor": cursor} if cursor else {}),
                )
                seen += [i["name"] for i in page["items"]]
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            assert sorted(seen) == names
            bad = await refusal(client, "search_issues", **where, cursor="not-a-cursor")
            assert bad["code"] == "validation_failed"

            # An idempotent retry is answered from the gateway, not written twice.
            args = {**where, "name": "Once only", "idempotency_key": "real-once"}
            first = await call(client, "create_issue", **args)
            again = await call(client, "create_issue", **args)
            assert again["issue"]["id"] == first["issue"]["id"]
            # Plane makes the card, then its answer is lost: the adapter's retry meets
            # Plane's external-id 409 and returns the card made the first time.
            faults.armed = 1
            lost = await call(
                client, "create_issue", **where, name="Lost answer", idempotency_key="real-lost"
            )
            found = await call(client, "search_issues", **where, query="Lost answer")
            assert [i["id"] for i in found["items"]] == [lost["issue"]["id"]]

            # Members: carol (workspace member) joins; gus (a guest) does not.
            joined = await call(client, "add_project_member", **where, user="carol@acme.test")
            assert joined["member"]["email"] == "carol@acme.test"
            twice = await call(client, "add_project_member", **where, user="carol@acme.test")
            assert twice["member"]["email"] == "carol@acme.test"
            guest = await refusal(client, "add_project_member", **where, user="gus@acme.test")
            assert guest["code"] == "validation_failed"
            assigned = await call(
                client,
                "create_issue",
                **where,
                name="For Carol",
                assignees=["carol@acme.test"],
            )
            assert [a["email"] for a in assigned["issue"]["assignees"]] == ["carol@acme.test"]

            # Errors an agent meets, each clear.
            state = await refusal(
                client, "move_issue", **where, issue=lost["issue"]["identifier"], state="Nowhere"
            )
            assert state["code"] == "validation_failed"
            assert "Backlog" in state["message"]
            missing = await refusal(
                client, "get_issue", workspace_slug=WORKSPACE, issue=f"{project.identifier}-9999"
            )
            assert missing["code"] == "not_found"
            other = await refusal(client, "get_project", workspace_slug=WORKSPACE, project_id="WID")
            assert other["code"] == "not_granted"


async def test_plane_requests_per_tool_call(
    plane: RealPlane, project: RunProject, figures: Figure
) -> None:
    async with gateway_on(plane) as (url, internal, (counter, _)):
        token = await agent_token(internal, project.people["bob@acme.test"], project, ALL)
        async with http_client(url, token) as client:

            async def tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
                return await call(client, name, **arguments)

            report = await realistic_session(
                tool,
                lambda: counter.count,
                workspace=WORKSPACE,
                project=project.identifier,
                member_email="bob@acme.test",
                label="bug",
            )
    figures(
        f"real Plane: {report.per_call:.2f} Plane requests per tool call over a session "
        f"(target <= {SESSION_TARGET})"
    )
    print("\nPlane requests per tool call (real Plane):\n" + report.table())
    assert report.per_call <= SESSION_TARGET, report.table()
    assert max(report.of("get_project")) <= CACHED_READ_TARGET, report.table()
    assert max(report.of("list_projects")) <= CACHED_READ_TARGET, report.table()


# --- the adapter against Plane's answers ------------------------------------------------------


async def test_plane_refusals_mean_what_they_say(plane: RealPlane, project: RunProject) -> None:
    async with httpx.AsyncClient() as client:
        wrong = PlaneTasker(
            base_url=plane.base,
            api_key=SecretStr("plane_api_wrong_key_0000000000000000"),
            workspaces={WORKSPACE: True},
            client=client,
        )
        with pytest.raises(TaskerUnavailable) as bad_key:
            await wrong.list_projects(WORKSPACE)  # Plane: 403, like an unknown workspace
        assert "API key" in bad_key.value.message
        with pytest.raises(TaskerUnavailable):
            await wrong.get_project(WORKSPACE, project.id)
        right = PlaneTasker(
            base_url=plane.base,
            api_key=SecretStr(plane.token),
            workspaces={WORKSPACE: True, "no-such-workspace": True},
            client=client,
        )
        with pytest.raises(NotFound):
            await right.list_projects("no-such-workspace")  # Plane: 403
        with pytest.raises(NotFound):
            await right.get_project(WORKSPACE, "01900000-0000-7000-8000-00000000dead")
        created = await right.create_issue(
            WORKSPACE, project.id, IssueDraft(name="Timestamps"), actor=ACTOR
        )
        stored = await right.get_issue(WORKSPACE, created.id, project.id)
        assert created.created_at == stored.created_at
        page = await right.search_issues(WORKSPACE, project.id, IssueQuery(text="Timestamps"))
        assert created.id in [i.id for i in page.items]
