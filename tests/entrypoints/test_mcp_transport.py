"""What the MCP conformance suite (tests/reliability) found at the transport: a GET on
/mcp, which a stateless JSON server has no stream for, is a 405 naming POST, not a
connection held open forever."""

from __future__ import annotations

import httpx

from tests.support.served import served_gateway


async def test_a_get_or_delete_on_mcp_is_405_not_a_stream_held_open() -> None:
    async with served_gateway() as gateway:
        agent = await gateway.create_agent()
        token = await gateway.token(agent["id"])
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
            listen = await client.get("/mcp", headers=headers)
            end = await client.delete("/mcp", headers=headers)
            anonymous = await client.get("/mcp")

    for response in (listen, end):
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.json()["status"] == 405
    assert anonymous.status_code == 401  # the token is checked first, as for every call


def _tool_call(key: str) -> dict[str, object]:
    arguments = {
        "workspace_slug": "demo",
        "project_id": "DEMO",
        "name": "Once",
        "idempotency_key": key,
    }
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "create_issue", "arguments": arguments},
    }


async def test_a_tool_call_the_sdk_refuses_before_running_it_frees_its_key() -> None:
    """The endpoint admits a tools/call (and claims its key) before the SDK reads it; when
    the SDK then refuses the request, the claim is freed, so the retry runs instead of
    being told the key is in flight."""
    async with served_gateway() as gateway:
        agent = await gateway.create_agent()
        await gateway.grant(agent["id"])
        token = await gateway.token(agent["id"])
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
        }
        async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as client:
            refused = await client.post(
                "/mcp",
                json=_tool_call("k1"),
                headers={**headers, "MCP-Protocol-Version": "1999-01-01"},
            )
            retried = await client.post("/mcp", json=_tool_call("k1"), headers=headers)
            again = await client.post("/mcp", json=_tool_call("k1"), headers=headers)

    assert refused.status_code == 400, refused.text
    assert retried.status_code == 200, retried.text
    result = retried.json()["result"]
    assert not result.get("isError"), result
    assert result["structuredContent"]["replayed"] is False
    assert again.json()["result"]["structuredContent"]["replayed"] is True
