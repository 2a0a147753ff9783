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
