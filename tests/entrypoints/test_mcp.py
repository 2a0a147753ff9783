"""The MCP server as Codex and Claude Code see it: the official client over real HTTP
(2025-era handshake and 2026-07-28) and over stdio through the connector."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import INTERNAL_ERROR

from nodedc_gateway.entrypoints.mcp.instructions import INSTRUCTIONS, SUMMARY
from tests.support.mcp import CLI, http_client, stdio_client, structured
from tests.support.served import ServedGateway, served_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}
ALL_SCOPES = [
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
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


@pytest.fixture
async def gw() -> AsyncIterator[ServedGateway]:
    async with served_gateway() as served:
        yield served


async def agent_token(
    gw: ServedGateway, scopes: list[str] | None = None, **grant: Any
) -> tuple[str, str]:
    agent = await gw.create_agent()
    await gw.grant(agent["id"], scopes=scopes or ALL_SCOPES, **grant)
    return agent["id"], await gw.token(agent["id"])


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    body = structured(result)
    assert not result.is_error, body
    return body


async def refusal(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    body = structured(result)
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"])
    assert json.loads(result.content[0].text) == body  # the text says the same
    return dict(body["error"])


async def workflow(client: Client) -> None:
    """Create, update, move, label, assign, comment: get_issue shows it all."""
    names = {tool.name for tool in (await client.list_tools()).tools}
    assert {
        "create_issue",
        "update_issue",
        "move_issue",
        "set_issue_labels",
        "set_issue_assignees",
        "add_comment",
        "get_issue",
    } <= names
    created = await call(
        client, "create_issue", **DEMO, name="Connect the dots", idempotency_key="c1"
    )
    key = created["issue"]["identifier"]
    assert created["replayed"] is False
    await call(
        client, "update_issue", **DEMO, issue=key, description="Use **MCP**", priority="high"
    )
    await call(client, "move_issue", **DEMO, issue=key, state="In Progress")
    await call(client, "set_issue_labels", **DEMO, issue=key, add=["feature"])
    await call(client, "set_issue_assignees", **DEMO, issue=key, add=["bob@demo.local"])
    await call(client, "add_comment", **DEMO, issue=key, body="Progress: wired up")
    issue = (await call(client, "get_issue", workspace_slug="demo", issue=key))["issue"]
    assert issue["name"] == "Connect the dots"
    assert issue["priority"] == "high"
    assert "<strong>MCP</strong>" in issue["description_html"]
    assert issue["state"]["name"] == "In Progress"
    assert [label["name"] for label in issue["labels"]] == ["feature"]
    assert [a["email"] for a in issue["assignees"]] == ["bob@demo.local"]
    assert "wired up" in issue["comments"][0]["body_html"]


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_pairing_then_the_whole_workflow_over_http(
    gw: ServedGateway, mode: Literal["legacy", "auto"]
) -> None:
    agent = await gw.create_agent()
    await gw.grant(agent["id"], scopes=ALL_SCOPES)
    code = (await gw.client.post(f"{gw.owner_url()}/agents/{agent['id']}/pairing-codes")).json()[
        "code"
    ]
    async with httpx.AsyncClient(base_url=gw.url) as public:
        redeemed = (await public.post("/v1/pairing/redeem", json={"code": code})).json()
    async with http_client(gw.url, redeemed["token"], mode) as client:
        if mode == "legacy":
            assert client.protocol_version < "2026"
        await workflow(client)
        assert client.instructions is not None
        assert client.instructions.startswith(SUMMARY)


async def test_pairing_connect_then_the_whole_workflow_over_stdio(
    gw: ServedGateway, tmp_path: Path
) -> None:
    agent = await gw.create_agent()
    await gw.grant(agent["id"], scopes=ALL_SCOPES)
    code = (await gw.client.post(f"{gw.owner_url()}/agents/{agent['id']}/pairing-codes")).json()[
        "code"
    ]
    connect = await asyncio.create_subprocess_exec(
        CLI,
        "connect",
        "--gateway",
        gw.url,
        "--code",
        code.lower(),
        env={"NODEDC_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await connect.communicate()
    assert connect.returncode == 0, err.decode()
    stored = tmp_path / "credentials.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert json.loads(stored.read_text())["agent_id"] == agent["id"]
    assert 'args = ["stdio"]' in out.decode()
    assert json.loads(stored.read_text())["token"] not in out.decode()
    async with stdio_client(tmp_path) as client:
        await workflow(client)
        assert (await call(client, "whoami"))["agent"]["id"] == agent["id"]


async def test_connect_explains_a_bad_code(gw: ServedGateway, tmp_path: Path) -> None:
    connect = await asyncio.create_subprocess_exec(
        CLI,
        "connect",
        "--gateway",
        gw.url,
        "--code",
        "BCDF-GHJK",
        env={"NODEDC_CONFIG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await connect.communicate()
    assert connect.returncode != 0
    assert "unknown, already used or expired" in err.decode()
    assert not (tmp_path / "credentials.json").exists()


async def test_another_workspace_or_project_is_not_granted(gw: ServedGateway) -> None:
    _, token = await agent_token(gw)
    async with http_client(gw.url, token) as client:
        other = await refusal(client, "get_project", workspace_slug="other", project_id="OTH")
        assert other["code"] == "not_granted"
        other_id = gw.demo.other_project.id
        wrong = await refusal(client, "search_issues", workspace_slug="demo", project_id=other_id)
        assert wrong["code"] == "not_granted"
        create = await refusal(
            client, "create_issue", workspace_slug="other", project_id="OTH", name="x"
        )
        assert create["code"] == "not_granted"


async def test_a_missing_scope_is_named_and_points_to_request_access(gw: ServedGateway) -> None:
    _, token = await agent_token(gw, ["project:read", "issue:read", "issue:create"])
    async with http_client(gw.url, token) as client:
        error = await refusal(client, "create_issue", **DEMO, name="x", labels=["bug"])
    assert error["code"] == "scope_missing"
    assert error["missing_scopes"] == ["issue:label"]
    assert "issue:label" in error["message"]
    assert "request_access" in error["message"]


async def test_unusable_tools_are_not_listed_and_refused_anyway(gw: ServedGateway) -> None:
    agent_id, token = await agent_token(gw, ["issue:read"])
    async with http_client(gw.url, token) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        assert listed == {
            "whoami",
            "search_issues",
            "get_issue",
            "request_access",
            "get_access_request",
        }
        hidden = await refusal(client, "create_issue", **DEMO, name="Sneaky")
        assert hidden["code"] == "scope_missing"
        assert hidden["missing_scopes"] == ["issue:create"]
        assert (await call(client, "search_issues", **DEMO))["items"] == []
    audit = (await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/audit")).json()["items"]
    assert (audit[1]["operation"], audit[1]["decision"], audit[1]["reason"]) == (
        "create_issue",
        "deny",
        "scope_missing",
    )


async def test_tool_annotations_and_schemas_are_accurate(gw: ServedGateway) -> None:
    _, token = await agent_token(gw)
    async with http_client(gw.url, token) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("whoami", "list_projects", "get_project", "search_issues", "get_issue"):
        assert tools[name].annotations.read_only_hint is True
    for name in ("create_issue", "add_comment", "update_issue", "move_issue", "add_project_member"):
        assert tools[name].annotations.read_only_hint is False
        assert tools[name].annotations.destructive_hint is (name == "update_issue")
        assert "idempotency_key" in tools[name].input_schema["properties"]
    for tool in tools.values():
        assert tool.output_schema is not None
        assert tool.output_schema["type"] == "object"
        assert tool.annotations.open_world_hint is False
    create = tools["create_issue"].input_schema
    assert set(create["required"]) == {"workspace_slug", "project_id", "name"}
    assert "replayed" in tools["create_issue"].output_schema["properties"]


async def test_an_idempotent_retry_replays_and_a_reused_key_is_refused(gw: ServedGateway) -> None:
    _, token = await agent_token(gw)
    async with http_client(gw.url, token) as client:
        first = await call(client, "create_issue", **DEMO, name="Once", idempotency_key="k-1")
        again = await call(client, "create_issue", **DEMO, name="Once", idempotency_key="k-1")
        assert again["replayed"] is True
        assert again["issue"] == first["issue"]
        reused = await refusal(client, "create_issue", **DEMO, name="Twice", idempotency_key="k-1")
        assert reused["code"] == "idempotency_key_reused"
        found = await call(client, "search_issues", **DEMO, query="Once")
        assert len(found["items"]) == 1


async def test_a_token_revoked_mid_session_gets_401_on_the_next_request(gw: ServedGateway) -> None:
    agent_id, token = await agent_token(gw)
    async with httpx.AsyncClient(base_url=gw.url, headers=MCP_HEADERS) as raw:
        ok = await raw.post("/mcp", json=INITIALIZE, headers={"authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        tokens = (await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/tokens")).json()["items"]
        await gw.client.post(f"{gw.owner_url()}/agents/{agent_id}/tokens/{tokens[0]['id']}/revoke")
        refused = await raw.post(
            "/mcp", json=INITIALIZE, headers={"authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"].startswith("Bearer")
        assert refused.json()["code"] == "unauthenticated"
    audit = (await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/audit")).json()["items"]
    assert (audit[0]["reason"], audit[0]["operation"]) == ("unauthenticated", "mcp_request")


async def test_a_session_with_a_revoked_token_fails_on_its_next_call(gw: ServedGateway) -> None:
    agent_id, token = await agent_token(gw)
    failures: list[Any] = []
    async with http_client(gw.url, token, "legacy", failures) as client:
        await call(client, "whoami")
        await gw.client.post(f"{gw.owner_url()}/agents/{agent_id}/revoke")
        # The SDK turns any non-JSON-RPC HTTP error (a 500 too) into this one error; what
        # the gateway answered is checked on the HTTP response itself.
        with pytest.raises(MCPError) as raised:
            await client.call_tool("whoami", {})
    assert raised.value.error.code == INTERNAL_ERROR
    [refused] = failures
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"].startswith('Bearer realm="nodedc-agent-gateway"')
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "unauthenticated"
    audit = (await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/audit")).json()["items"]
    assert (audit[0]["reason"], audit[0]["operation"]) == ("unauthenticated", "mcp_request")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer ndca_not-a-token"},
        {"authorization": "Basic abc"},
        {"authorization": "Bearer"},
    ],
)
async def test_a_missing_or_bad_token_is_401_with_a_bearer_challenge(
    gw: ServedGateway, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=gw.url, headers=MCP_HEADERS) as raw:
        response = await raw.post("/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith('Bearer realm="nodedc-agent-gateway"')


async def test_origin_host_and_size_are_checked(gw: ServedGateway) -> None:
    _, token = await agent_token(gw)
    auth = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=gw.url, headers={**MCP_HEADERS, **auth}) as raw:
        evil_origin = await raw.post(
            "/mcp", json=INITIALIZE, headers={"origin": "https://evil.example"}
        )
        assert evil_origin.status_code == 403
        evil_host = await raw.post("/mcp", json=INITIALIZE, headers={"host": "evil.example"})
        assert evil_host.status_code == 421
        huge = {**INITIALIZE, "params": {**INITIALIZE["params"], "pad": "x" * (1024 * 1024 + 1)}}
        too_big = await raw.post("/mcp", json=huge)
        assert too_big.status_code == 413
        fine = await raw.post("/mcp", json=INITIALIZE, headers={"origin": gw.url})
        assert fine.status_code == 200


async def test_arguments_the_schema_refuses_are_named_and_audited(gw: ServedGateway) -> None:
    agent_id, token = await agent_token(gw)
    async with http_client(gw.url, token) as client:
        missing = await refusal(client, "create_issue", **DEMO)
        assert missing["code"] == "validation_failed"
        assert missing["errors"][0]["field"] == "name"
        typed = await refusal(client, "search_issues", **DEMO, limit=1000)
        assert typed["errors"][0]["field"] == "limit"
        unknown_state = await refusal(client, "move_issue", **DEMO, issue="DEMO-1", state="Shipped")
        assert unknown_state["code"] in ("validation_failed", "not_found")
    audit = (await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/audit")).json()["items"]
    refused = [e for e in audit if e["reason"] == "validation_failed"]
    assert {e["operation"] for e in refused} >= {"create_issue", "search_issues"}


async def test_the_instructions_open_with_what_an_agent_needs(gw: ServedGateway) -> None:
    first = INSTRUCTIONS.split("\n", 1)[0]
    assert len(first) <= 512
    for needed in ("workspace", "DEMO-12", "idempotency_key", "request_access"):
        assert needed in first


async def test_every_call_and_refusal_is_audited_with_its_agent_and_owner(
    gw: ServedGateway,
) -> None:
    agent_id, token = await agent_token(gw, ["project:read", "issue:read"])
    async with http_client(gw.url, token) as client:
        await call(client, "whoami")
        await call(client, "list_projects")
        await refusal(client, "get_project", workspace_slug="other", project_id="OTH")
    audit = (await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/audit")).json()["items"]
    calls = [e for e in audit if e["event_type"] == "tool_call"]
    assert [(e["operation"], e["decision"]) for e in reversed(calls)] == [
        ("whoami", "allow"),
        ("list_projects", "allow"),
        ("get_project", "deny"),
    ]
    assert all(e["owner_user_id"] == gw.alice and e["agent_id"] == agent_id for e in calls)
    assert calls[1]["grant_versions"]  # the allow names the grant version it used
