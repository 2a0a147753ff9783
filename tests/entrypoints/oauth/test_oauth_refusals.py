"""Every refusal of MCP authorization answers with its RFC error and issues nothing:
wrong PKCE verifier, code reuse, an unregistered redirect URI, another resource, an
expired access token, a disabled agent, a client metadata document at a private address,
and a refresh token used twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import oauth as o
from tests.support.served import ServedGateway, serve


async def _tokens(gateway: ServedGateway, agent_id: str) -> list[dict[str, Any]]:
    response = await gateway.client.get(f"{gateway.owner_url()}/agents/{agent_id}/tokens")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _agent(gateway: ServedGateway) -> str:
    agent = await gateway.create_agent()
    await gateway.grant(agent["id"])
    return str(agent["id"])


def _refused(response: httpx.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error
    assert "access_token" not in body
    assert "refresh_token" not in body


async def test_a_wrong_pkce_verifier_is_invalid_grant_and_issues_nothing() -> None:
    async with o.oauth_gateway() as gateway:
        agent_id = await _agent(gateway)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            code, _ = await o.code_for(gateway, client, client_id, agent_id)
            wrong, _ = o.pkce()
            _refused(await o.exchange(client, client_id, code, wrong), "invalid_grant")
        assert await _tokens(gateway, agent_id) == []


async def test_a_code_used_twice_is_refused_and_revokes_what_it_issued() -> None:
    async with o.oauth_gateway() as gateway:
        agent_id = await _agent(gateway)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            code, verifier = await o.code_for(gateway, client, client_id, agent_id)
            first = await o.exchange(client, client_id, code, verifier)
            assert first.status_code == 200
            _refused(await o.exchange(client, client_id, code, verifier), "invalid_grant")
            access = first.json()["access_token"]
            assert (await o.tools_list(client, access)).status_code == 401
            again = await o.refresh(client, client_id, first.json()["refresh_token"])
            _refused(again, "invalid_grant")
        assert [t["status"] for t in await _tokens(gateway, agent_id)] == ["revoked"]


async def test_a_redirect_uri_not_registered_is_refused_without_redirecting() -> None:
    async with o.oauth_gateway() as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            _, challenge = o.pkce()
            response = await o.authorize(
                client,
                client_id,
                challenge,
                resource=gateway.services.settings.mcp_url,
                redirect_uri="http://127.0.0.1:9/elsewhere",
            )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
        assert "location" not in response.headers


async def test_a_token_for_another_resource_is_invalid_target() -> None:
    async with o.oauth_gateway() as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            _, challenge = o.pkce()
            response = await o.authorize(
                client, client_id, challenge, resource="https://other.example/mcp"
            )
        assert response.status_code == 302
        answer = o.query(response.headers["location"])
        assert answer["error"] == "invalid_target"
        assert answer["state"] == "st4te"
        assert "code" not in answer


async def test_an_access_token_expires_after_an_hour() -> None:
    async with o.oauth_gateway() as gateway:
        agent_id = await _agent(gateway)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            code, verifier = await o.code_for(gateway, client, client_id, agent_id)
            tokens = (await o.exchange(client, client_id, code, verifier)).json()
            gateway.clock.advance(timedelta(minutes=59))
            assert (await o.tools_list(client, tokens["access_token"])).status_code == 200
            gateway.clock.advance(timedelta(minutes=1))
            expired = await o.tools_list(client, tokens["access_token"])
            assert expired.status_code == 401
            assert "resource_metadata=" in expired.headers["www-authenticate"]
            renewed = await o.refresh(client, client_id, tokens["refresh_token"])
            assert renewed.status_code == 200
            assert (await o.tools_list(client, renewed.json()["access_token"])).status_code == 200


async def test_a_disabled_agent_gets_no_tokens_and_its_token_stops() -> None:
    async with o.oauth_gateway() as gateway:
        agent_id = await _agent(gateway)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            code, verifier = await o.code_for(gateway, client, client_id, agent_id)
            tokens = (await o.exchange(client, client_id, code, verifier)).json()
            pending_code, pending_verifier = await o.code_for(gateway, client, client_id, agent_id)
            disabled = await gateway.client.patch(
                f"{gateway.owner_url()}/agents/{agent_id}", json={"status": "disabled"}
            )
            assert disabled.status_code == 200, disabled.text
            call = (await o.whoami(client, tokens["access_token"])).json()["result"]
            assert call["isError"] is True
            assert call["structuredContent"]["error"]["code"] == "agent_inactive"
            _refused(
                await o.exchange(client, client_id, pending_code, pending_verifier),
                "invalid_grant",
            )
            _refused(await o.refresh(client, client_id, tokens["refresh_token"]), "invalid_grant")
        assert len(await _tokens(gateway, agent_id)) == 1
        audit = await gateway.client.get(f"{gateway.owner_url()}/agents/{agent_id}/audit")
        refusals = [e for e in audit.json()["items"] if e["event_type"] == "oauth.token_refused"]
        assert refusals
        assert {(e["decision"], e["reason"]) for e in refusals} == {("deny", "agent_inactive")}


async def test_a_refresh_token_used_twice_revokes_its_whole_family() -> None:
    async with o.oauth_gateway() as gateway:
        agent_id = await _agent(gateway)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            code, verifier = await o.code_for(gateway, client, client_id, agent_id)
            first = (await o.exchange(client, client_id, code, verifier)).json()
            second = (await o.refresh(client, client_id, first["refresh_token"])).json()
            _refused(await o.refresh(client, client_id, first["refresh_token"]), "invalid_grant")
            _refused(await o.refresh(client, client_id, second["refresh_token"]), "invalid_grant")
            for access in (first["access_token"], second["access_token"]):
                assert (await o.tools_list(client, access)).status_code == 401
        tokens = await _tokens(gateway, agent_id)
        assert [t["status"] for t in tokens] == ["revoked", "revoked"]
        assert {t["name"] for t in tokens} == {"OAuth: Test client"}


async def test_a_client_metadata_document_at_a_private_address_is_not_fetched() -> None:
    async with o.oauth_gateway() as gateway:
        # http is allowed in local mode; the loopback address is not (no setting).
        client_id = f"{gateway.url}/.well-known/oauth-protected-resource"
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            _, challenge = o.pkce()
            response = await o.authorize(
                client, client_id, challenge, resource=gateway.services.settings.mcp_url
            )
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"
        assert "not found" in response.json()["error_description"]


async def test_registration_is_rate_limited_per_address() -> None:
    async with o.gateway_and_client(redeem_limit_per_minute=2) as (_, client):
        body = {"client_name": "c", "redirect_uris": [o.REDIRECT_URI]}
        statuses = [(await client.post("/register", json=body)).status_code for _ in range(4)]
    assert statuses[:2] == [201, 201]
    assert statuses[-1] == 429


async def test_a_client_metadata_document_that_does_not_describe_its_url_is_refused() -> None:
    documents: dict[str, dict[str, Any]] = {}

    async def serve_document(request: Any) -> JSONResponse:
        return JSONResponse(documents[request.path_params["name"]])

    app = Starlette(routes=[Route("/{name}.json", serve_document)])
    async with (
        serve(app) as base,
        o.gateway_and_client(oauth_documents_allow_private=True) as (gateway, client),
    ):
        good = {"redirect_uris": [o.REDIRECT_URI], "client_name": "Doc"}
        documents["other"] = {**good, "client_id": "https://elsewhere.example/c.json"}
        documents["secret"] = {
            **good,
            "client_id": f"{base}/secret.json",
            "token_endpoint_auth_method": "client_secret_basic",
        }
        documents["broken"] = {**good, "client_id": f"{base}/broken.json", "grant_types": 7}
        documents["web"] = {
            **good,
            "client_id": f"{base}/web.json",
            "redirect_uris": ["http://evil.example/cb"],
        }
        for name in documents:
            _, challenge = o.pkce()
            response = await o.authorize(
                client,
                f"{base}/{name}.json",
                challenge,
                resource=gateway.services.settings.mcp_url,
            )
            assert response.status_code == 400, (name, response.text)
            assert response.json()["error"] == "invalid_request", name


async def test_a_token_request_for_another_resource_is_invalid_target() -> None:
    async with o.gateway_and_client() as (gateway, client):
        agent_id = await _agent(gateway)
        client_id = (await o.register(client))["client_id"]
        code, verifier = await o.code_for(gateway, client, client_id, agent_id)
        other = await o.exchange(
            client, client_id, code, verifier, resource="https://other.example/mcp"
        )
        _refused(other, "invalid_target")
        assert await _tokens(gateway, agent_id) == []
        mine = await o.exchange(
            client, client_id, code, verifier, resource=gateway.services.settings.mcp_url
        )
        assert mine.status_code == 200, mine.text
