"""The authorization code flow over plain HTTP (the browser-driven run is in
test_oauth_end_to_end): registration, consent, PKCE, tokens, refresh, revocation, and
every refusal with its RFC error and nothing issued."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import oauth as o
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return await migrated_sqlite_url(tmp_path)
    if request.param == "postgres":
        return await migrated_postgres_url()
    return "memory://"


async def test_register_consent_exchange_call_refresh_and_revoke(database_url: str) -> None:
    async with o.oauth_gateway(database_url) as gateway:
        agent = await gateway.create_agent()
        await gateway.grant(agent["id"])
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            registered = await o.register(client)
            client_id = registered["client_id"]
            code, verifier = await o.code_for(gateway, client, client_id, agent["id"])
            issued = await o.exchange(client, client_id, code, verifier)
            assert issued.status_code == 200, issued.text
            tokens = issued.json()
            assert tokens["token_type"] == "Bearer"
            assert tokens["expires_in"] == 3600
            assert tokens["access_token"].startswith("ndca_")
            listed = await o.tools_list(client, tokens["access_token"])
            assert listed.status_code == 200, listed.text

            renewed = await o.refresh(client, client_id, tokens["refresh_token"])
            assert renewed.status_code == 200, renewed.text
            second = renewed.json()
            assert second["refresh_token"] != tokens["refresh_token"]
            assert (await o.tools_list(client, second["access_token"])).status_code == 200

            revoked = await client.post(
                "/revoke", data={"client_id": client_id, "token": second["refresh_token"]}
            )
            assert revoked.status_code == 200, revoked.text
            assert (await o.tools_list(client, second["access_token"])).status_code == 401
            assert (await o.tools_list(client, tokens["access_token"])).status_code == 401


async def test_revoking_the_token_or_the_agent_stops_the_client_for_good() -> None:
    async with o.oauth_gateway() as gateway:
        agent = await gateway.create_agent()
        await gateway.grant(agent["id"])
        agents = f"{gateway.owner_url()}/agents/{agent['id']}"
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            client_id = (await o.register(client))["client_id"]
            code, verifier = await o.code_for(gateway, client, client_id, agent["id"])
            tokens = (await o.exchange(client, client_id, code, verifier)).json()
            listed = (await gateway.client.get(f"{agents}/tokens")).json()["items"]
            assert [t["name"] for t in listed] == ["OAuth: Test client"]
            revoked = await gateway.client.post(f"{agents}/tokens/{listed[0]['id']}/revoke")
            assert revoked.status_code == 200, revoked.text
            assert (await o.tools_list(client, tokens["access_token"])).status_code == 401
            again = await o.refresh(client, client_id, tokens["refresh_token"])
            assert again.json()["error"] == "invalid_grant"

            code, verifier = await o.code_for(gateway, client, client_id, agent["id"])
            fresh = (await o.exchange(client, client_id, code, verifier)).json()
            assert (await o.tools_list(client, fresh["access_token"])).status_code == 200
            assert (await gateway.client.post(f"{agents}/revoke")).status_code == 200
            assert (await o.tools_list(client, fresh["access_token"])).status_code == 401
            after = await o.refresh(client, client_id, fresh["refresh_token"])
            assert after.json()["error"] == "invalid_grant"

        audit = await gateway.client.get(f"{agents}/audit")
        types = {event["event_type"] for event in audit.json()["items"]}
        assert {"oauth.consented", "token.issued", "oauth.family_revoked"} <= types
