"""`/mcp` as an OAuth protected resource (RFC 9728): metadata at both well-known paths and a
challenge naming it on every 401; static agent tokens keep working."""

from __future__ import annotations

import httpx

from tests.support.served import served_gateway


async def test_metadata_is_served_at_both_paths_and_names_this_gateway() -> None:
    async with served_gateway() as gateway:
        settings = gateway.services.settings
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            nested = await client.get("/.well-known/oauth-protected-resource/mcp")
            root = await client.get("/.well-known/oauth-protected-resource")
    for response in (nested, root):
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["resource"] == settings.mcp_url
        assert body["authorization_servers"] == [settings.public_url.rstrip("/")]
        assert body["bearer_methods_supported"] == ["header"]


async def test_every_401_from_mcp_names_the_resource_metadata() -> None:
    async with served_gateway() as gateway:
        public = gateway.services.settings.public_url.rstrip("/")
        expected = f'resource_metadata="{public}/.well-known/oauth-protected-resource/mcp"'
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            missing = await client.post("/mcp", json={})
            bad = await client.post("/mcp", json={}, headers={"Authorization": "Bearer nope"})
            other = await client.post("/mcp", json={}, headers={"Authorization": "Basic eA=="})
    for response in (missing, bad, other):
        assert response.status_code == 401
        challenge = response.headers["www-authenticate"]
        assert challenge.startswith("Bearer ")
        assert expected in challenge


async def test_a_static_agent_token_still_lists_tools() -> None:
    async with served_gateway() as gateway:
        agent = await gateway.create_agent()
        token = await gateway.token(agent["id"])
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            response = await client.post(
                "/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json, text/event-stream",
                    "MCP-Protocol-Version": "2025-06-18",
                },
            )
    assert response.status_code == 200, response.text
    assert any(tool["name"] == "whoami" for tool in response.json()["result"]["tools"])


async def test_authorization_server_metadata_names_every_endpoint() -> None:
    async with served_gateway() as gateway:
        issuer = gateway.services.settings.public_url.rstrip("/")
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            response = await client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issuer"] == issuer
    assert body["authorization_endpoint"] == f"{issuer}/authorize"
    assert body["token_endpoint"] == f"{issuer}/token"
    assert body["registration_endpoint"] == f"{issuer}/register"
    assert body["revocation_endpoint"] == f"{issuer}/revoke"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["response_types_supported"] == ["code"]
    assert body["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert body["client_id_metadata_document_supported"] is True
