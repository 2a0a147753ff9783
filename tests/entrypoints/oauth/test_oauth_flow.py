"""The authorization code flow over plain HTTP (the browser-driven run is in
test_oauth_end_to_end): registration, consent, PKCE, tokens, refresh, revocation, and
every refusal with its RFC error and nothing issued."""

from __future__ import annotations

import httpx

from tests.support import oauth as o


async def test_register_consent_exchange_call_refresh_and_revoke() -> None:
    async with o.oauth_gateway() as gateway:
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
