"""Task cards, reporting mode, access requests and workspace policy, through MCP and HTTP
against a served gateway (issue 7's acceptance)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from mcp import Client

from tests.support.backends import BACKENDS, backend_settings
from tests.support.mcp import http_client, structured
from tests.support.served import ServedGateway, served_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}
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


@pytest.fixture(params=BACKENDS)
async def gw(request: pytest.FixtureRequest) -> AsyncIterator[ServedGateway]:
    async with backend_settings(request.param) as settings, served_gateway(settings) as served:
        yield served


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    body = structured(result)
    assert not result.is_error, body
    return body


async def refusal(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, structured(result)
    return dict(structured(result)["error"])


async def agent(
    gw: ServedGateway, scopes: list[str] | None = None, mode: str = "voluntary"
) -> tuple[str, str]:
    created = await gw.create_agent()
    await gw.grant(created["id"], scopes=scopes or ALL, mode=mode)
    return created["id"], await gw.token(created["id"])


async def test_a_card_reads_back_and_checkers_and_notes_behave(gw: ServedGateway) -> None:
    _, token = await agent(gw)
    async with http_client(gw.url, token) as client:
        created = await call(
            client,
            "create_issue",
            **DEMO,
            name="Card",
            description="Background text",
            card={
                "goal": "Ship the **login**",
                "plan": "- wire\n- test",
                "checkers": ["works", "tested"],
            },
        )
        key = created["issue"]["identifier"]
        card = (await call(client, "get_issue", workspace_slug="demo", issue=key))["issue"]["card"]
        assert card["goal"] == "Ship the **login**"
        assert card["plan"] == "- wire\n- test"
        assert [(c["text"], c["checked"]) for c in card["checkers"]] == [
            ("works", False),
            ("tested", False),
        ]
        first = card["checkers"][0]["id"]
        updated = await call(
            client, "update_checkers", **DEMO, issue=key, check=[first], add=["documented"]
        )
        checkers = updated["issue"]["card"]["checkers"]
        assert [(c["text"], c["checked"]) for c in checkers] == [
            ("works", True),
            ("tested", False),
            ("documented", False),
        ]
        assert checkers[0]["id"] == first  # ids survive edits
        await call(
            client, "update_card", **DEMO, issue=key, blocks={"implementation_notes": "First note"}
        )
        await call(
            client,
            "update_card",
            **DEMO,
            issue=key,
            blocks={"implementation_notes": "Second note", "risks": "None known"},
        )
        issue = (await call(client, "get_issue", workspace_slug="demo", issue=key))["issue"]
        notes = issue["card"]["implementation_notes"]
        assert "First note" in notes
        assert "Second note" in notes
        assert notes.index("First note") < notes.index("Second note")
        assert issue["card"]["risks"] == "None known"
        assert "Background text" in issue["description_html"]
        # update_issue replaces the free text but keeps the card
        await call(client, "update_issue", **DEMO, issue=key, description="New background")
        issue = (await call(client, "get_issue", workspace_slug="demo", issue=key))["issue"]
        assert "New background" in issue["description_html"]
        assert "Background text" not in issue["description_html"]
        assert issue["card"]["goal"] == "Ship the **login**"
        assert "Second note" in issue["card"]["implementation_notes"]
        bad = await refusal(client, "update_checkers", **DEMO, issue=key, check=["chk-nope"])
        assert bad["code"] == "validation_failed"
        unknown = await refusal(client, "update_card", **DEMO, issue=key, blocks={"wishes": "x"})
        assert unknown["code"] == "validation_failed"


async def test_card_writes_need_the_structured_blocks_scope(gw: ServedGateway) -> None:
    _, token = await agent(gw, ["issue:read", "issue:create", "project:read"])
    async with http_client(gw.url, token) as client:
        error = await refusal(client, "create_issue", **DEMO, name="x", card={"goal": "g"})
        assert error["missing_scopes"] == ["issue:structured_blocks:write"]
        plain = await call(client, "create_issue", **DEMO, name="no card")
        error = await refusal(
            client, "update_card", **DEMO, issue=plain["issue"]["identifier"], blocks={"goal": "g"}
        )
        assert error["code"] == "scope_missing"


async def test_card_rules_are_the_projects_and_refuse_what_breaks_them(gw: ServedGateway) -> None:
    _, token = await agent(gw)
    policy_url = "/internal/v1/workspaces/demo/projects/DEMO/policy"
    default = (await gw.client.get(policy_url)).json()
    assert default["card_rules"]["required_blocks"] == ["goal"]
    changed = await gw.client.put(
        policy_url,
        json={
            "card_rules": {"required_blocks": ["goal", "acceptance"], "max_checkers": 2},
            "stale_after_minutes": 30,
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["stale_after_minutes"] == 30
    # The slug is trimmed like every other text before it names whose policy this is.
    padded = await gw.client.get("/internal/v1/workspaces/%1C%20demo%09/projects/DEMO/policy")
    assert padded.status_code == 200, padded.text
    assert padded.json()["stale_after_minutes"] == 30
    async with http_client(gw.url, token) as client:
        rules = (await call(client, "get_project", **DEMO))["project"]["card_rules"]
        assert rules["required_blocks"] == ["acceptance", "goal"]
        missing = await refusal(client, "create_issue", **DEMO, name="x", card={"plan": "p"})
        assert missing["code"] == "card_rule_violation"
        too_many = await refusal(
            client,
            "create_issue",
            **DEMO,
            name="x",
            card={"goal": "g", "checkers": ["a", "b", "c"]},
        )
        assert too_many["code"] == "card_rule_violation"
        ok = await call(
            client, "create_issue", **DEMO, name="x", card={"goal": "g", "checkers": ["a", "b"]}
        )
        assert ok["issue"]["identifier"]


async def test_a_reporting_session_starts_reports_finishes_once_and_goes_stale(
    gw: ServedGateway,
) -> None:
    _, token = await agent(gw, mode="reporting")
    async with http_client(gw.url, token) as client:
        started_card = await call(
            client,
            "create_issue",
            **DEMO,
            name="Reported",
            state="In Progress",
            card={"goal": "g", "checkers": ["step"]},
        )
        key = started_card["issue"]["identifier"]
        silent = await call(client, "create_issue", **DEMO, name="Silent", state="In Progress")
        started = await call(
            client, "start_work_session", **DEMO, issue=key, summary="Starting the work"
        )
        session_id = started["session"]["id"]
        assert started["session"]["status"] == "open"
        again = await refusal(client, "start_work_session", **DEMO, issue=key, summary="twice")
        assert again["session_id"] == session_id
        checker = (await call(client, "get_issue", workspace_slug="demo", issue=key))["issue"][
            "card"
        ]["checkers"][0]["id"]
        reported = await call(
            client, "report_progress", session_id=session_id, note="Half way", check=[checker]
        )
        assert reported["session"]["reports"] == 1
        reporting = (await gw.client.get("/internal/v1/workspaces/demo/reporting")).json()
        assert [s["id"] for s in reporting["open"]] == [session_id]
        assert reporting["stale"] == []
        assert [m["identifier"] for m in reporting["missing"]] == [silent["issue"]["identifier"]]
        gw.clock.advance(minutes=61)
        reporting = (await gw.client.get("/internal/v1/workspaces/demo/reporting")).json()
        assert [s["id"] for s in reporting["stale"]] == [session_id]
        finished = await call(
            client, "finish_work_session", session_id=session_id, outcome="done", summary="All done"
        )
        assert finished["session"]["status"] == "finished"
        assert finished["session"]["outcome"] == "done"
        twice = await refusal(
            client, "finish_work_session", session_id=session_id, outcome="done", summary="again"
        )
        assert twice["code"] == "validation_failed"
        issue = (await call(client, "get_issue", workspace_slug="demo", issue=key))["issue"]
        bodies = " ".join(c["body_html"] for c in issue["comments"])
        for seen in ("Work session started", "Half way", "Work session finished"):
            assert seen in bodies
        assert issue["card"]["checkers"][0]["checked"] is True
    reporting = (await gw.client.get("/internal/v1/workspaces/demo/reporting")).json()
    assert reporting["open"] == []
    assert key in [m["identifier"] for m in reporting["missing"]]  # started, no open session


async def test_another_agents_session_is_not_found(gw: ServedGateway) -> None:
    _, first = await agent(gw)
    _, second = await agent(gw)
    async with http_client(gw.url, first) as client:
        key = (await call(client, "create_issue", **DEMO, name="Mine"))["issue"]["identifier"]
        session_id = (await call(client, "start_work_session", **DEMO, issue=key, summary="s"))[
            "session"
        ]["id"]
    async with http_client(gw.url, second) as client:
        error = await refusal(client, "report_progress", session_id=session_id, note="not mine")
        assert error["code"] == "not_found"


async def test_an_approved_request_changes_whoami_and_the_next_call(gw: ServedGateway) -> None:
    agent_id, token = await agent(gw, ["project:read", "issue:read"])
    requests_url = f"{gw.owner_url()}/access-requests"
    async with http_client(gw.url, token) as client:
        refused = await refusal(client, "create_issue", **DEMO, name="Not yet")
        assert refused["code"] == "scope_missing"
        denied = await refusal(
            client,
            "request_access",
            workspace_slug="demo",
            project_id="DEMO",
            scopes=["issue:delete"],
            justification="cleanup",
        )
        assert denied["code"] == "human_only_operation"
        filed = await call(
            client,
            "request_access",
            workspace_slug="demo",
            project_id="DEMO",
            scopes=["issue:create", "issue:label"],
            justification="I need to file bugs",
        )
        request_id = filed["request"]["id"]
        assert filed["request"]["status"] == "pending"
        assert filed["request"]["project_id"] == gw.demo.project.id  # "DEMO", resolved
        pending = (await gw.client.get(requests_url, params={"status": "pending"})).json()["items"]
        assert [r["id"] for r in pending] == [request_id]
        assert pending[0]["project_id"] == gw.demo.project.id
        no_reason = await gw.client.post(
            f"{requests_url}/{request_id}/decision", json={"decision": "deny"}
        )
        assert no_reason.status_code == 422
        assert no_reason.json()["errors"][0]["field"] == "note"
        wider = await gw.client.post(
            f"{requests_url}/{request_id}/decision",
            json={"decision": "approve", "scopes": ["issue:delete"]},
        )
        assert wider.status_code == 403
        assert wider.json()["code"] == "human_only_operation"
        approved = await gw.client.post(
            f"{requests_url}/{request_id}/decision",
            json={"decision": "approve", "scopes": ["issue:create"], "note": "go ahead"},
            headers={"X-NodeDC-Actor-User-Id": "admin-1"},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["request"]["decision"]["approved_scopes"] == ["issue:create"]
        assert approved.json()["request"]["decision"]["by_user_id"] == "admin-1"
        grant = approved.json()["grant"]
        assert grant["version"] == 2
        whoami = await call(client, "whoami")
        assert "issue:create" in whoami["grants"][0]["scopes"]
        assert "issue:label" not in whoami["grants"][0]["scopes"]
        assert "create_issue" in whoami["tools"]
        created = await call(client, "create_issue", **DEMO, name="Now allowed")
        assert created["issue"]["identifier"]
        mine = await call(client, "get_access_request", request_id=request_id)
        assert mine["items"][0]["status"] == "approved"
        again = await gw.client.post(
            f"{requests_url}/{request_id}/decision", json={"decision": "deny", "note": "late"}
        )
        assert again.status_code == 422
    versions = (
        await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/grants/{grant['id']}/versions")
    ).json()["items"]
    assert [(v["version"], v["change"]) for v in versions] == [
        (1, "created"),
        (2, "access_approved"),
    ]
    assert versions[1]["changed_by_user_id"] == "admin-1"
    audit = (
        await gw.client.get(
            f"{gw.owner_url()}/agents/{agent_id}/audit",
            params={"event_type": "access_request.approved"},
        )
    ).json()["items"]
    assert audit[0]["grant_versions"] == [{"grant_id": grant["id"], "version": 2}]
    assert audit[0]["metadata"]["note"] == "go ahead"


async def test_suggestions_denials_and_expiry(gw: ServedGateway) -> None:
    _, token = await agent(gw, ["project:read", "issue:read"])
    url = f"{gw.owner_url()}/access-requests"
    async with http_client(gw.url, token) as client:
        ids = [
            (
                await call(
                    client,
                    "request_access",
                    workspace_slug="demo",
                    scopes=[scope],
                    justification="j",
                )
            )["request"]["id"]
            for scope in ("issue:label", "issue:assign", "issue:move")
        ]
        suggested = await gw.client.post(
            f"{url}/{ids[0]}/decision",
            json={"decision": "suggest", "scopes": ["issue:comment"], "note": "comment instead"},
        )
        assert suggested.json()["request"]["status"] == "alternative_suggested"
        assert suggested.json()["request"]["decision"]["suggested_scopes"] == ["issue:comment"]
        denied = await gw.client.post(
            f"{url}/{ids[1]}/decision", json={"decision": "deny", "note": "not for agents"}
        )
        assert denied.json()["request"]["status"] == "denied"
        gw.clock.advance(days=7)
        expired = (await call(client, "get_access_request", request_id=ids[2]))["items"][0]
        assert expired["status"] == "expired"
        late = await gw.client.post(f"{url}/{ids[2]}/decision", json={"decision": "approve"})
        assert late.status_code == 422
        listed = (await gw.client.get(url, params={"status": "expired"})).json()["items"]
        assert [r["id"] for r in listed] == [ids[2]]
    other_owner = await gw.client.get(f"/internal/v1/owners/{gw.demo.carol.id}/access-requests")
    assert other_owner.json()["items"] == []


async def test_switching_the_workspace_policy_off_stops_agents_and_new_grants(
    gw: ServedGateway,
) -> None:
    agent_id, token = await agent(gw)
    features = await gw.client.get(
        "/internal/v1/workspaces/demo/features/codex-agents", params={"user_id": gw.alice}
    )
    assert features.json()["visible"] is True
    async with http_client(gw.url, token) as client:
        await call(client, "search_issues", **DEMO)
        sandbox = gw.services.tools.tasker
        await sandbox.set_workspace_policy("demo", agents_allowed=False)  # type: ignore[attr-defined]
        refused = await refusal(client, "search_issues", **DEMO)
        assert refused["code"] == "not_granted"
        assert "does not allow agents" in refused["message"]
        listing = await refusal(client, "list_projects")  # nothing is readable any more
        assert listing["code"] == "not_granted"
    grant = await gw.client.post(
        f"{gw.owner_url()}/agents/{agent_id}/grants",
        json={"workspace_slug": "demo", "scopes": ["issue:read"]},
    )
    assert grant.status_code == 422
    assert grant.json()["errors"][0]["field"] == "workspace_slug"
    features = (
        await gw.client.get(
            "/internal/v1/workspaces/demo/features/codex-agents", params={"user_id": gw.alice}
        )
    ).json()
    assert features["visible"] is False
    assert features["workspace_policy"] is False
    assert features["tasker_access"] is True
    outsider = (
        await gw.client.get(
            "/internal/v1/workspaces/other/features/codex-agents",
            params={"user_id": gw.demo.carol.id},
        )
    ).json()
    assert outsider["tasker_access"] is False
