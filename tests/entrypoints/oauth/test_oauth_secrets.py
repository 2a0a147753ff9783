"""OAuth secrets stay secret: a confidential client's secret is stored only as an HMAC
and checked against it; codes, tokens, verifiers and pairing codes never reach a log
line, an audit event or stored state."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from nodedc_gateway.entrypoints.logs import Redactor, configure_logging
from tests.support import oauth as o
from tests.support.logs import logging_restored
from tests.support.served import INTERNAL_TOKEN, PEPPER


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with logging_restored():
        configure_logging(Redactor([INTERNAL_TOKEN, PEPPER]), level="debug", stream=stream)
        yield stream


async def test_a_confidential_client_and_every_secret_of_the_flow(
    captured_logs: io.StringIO,
) -> None:
    async with o.gateway_and_client() as (gateway, client):
        agent = await gateway.create_agent()
        await gateway.grant(agent["id"])
        registered = await o.register(client, token_endpoint_auth_method="client_secret_post")
        client_id, client_secret = registered["client_id"], registered["client_secret"]
        pairing = await o.pairing_code(gateway, agent["id"])
        verifier, challenge = o.pkce()
        started = await o.authorize(
            client, client_id, challenge, resource=gateway.services.settings.mcp_url
        )
        done = await o.consent(client, started.headers["location"], pairing)
        code = o.query(done.headers["location"])["code"]

        wrong = await o.exchange(client, client_id, code, verifier, client_secret="nope")
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "invalid_client"
        issued = await o.exchange(client, client_id, code, verifier, client_secret=client_secret)
        assert issued.status_code == 200, issued.text
        tokens = issued.json()
        logging.getLogger("httpx").warning("oops %s %s", tokens["refresh_token"], code)
        audit = (await gateway.client.get(f"{gateway.owner_url()}/agents/{agent['id']}/audit")).text
        stored = repr(gateway.container.persistence.uow().state.oauth)
        stored += repr(gateway.container.persistence.uow().state.tokens)

    secrets = [
        client_secret,
        code,
        verifier,
        pairing,
        pairing.replace("-", ""),
        tokens["access_token"],
        tokens["refresh_token"],
    ]
    logs = captured_logs.getvalue()
    assert "[redacted]" in logs
    for secret in secrets:
        assert secret not in logs, f"a secret reached the logs: {secret[:6]}…"
        assert secret not in audit
        assert secret not in stored


async def test_the_client_secret_is_checked_with_http_basic_too() -> None:
    async with o.gateway_and_client() as (gateway, client):
        agent = await gateway.create_agent()
        registered = await o.register(client, token_endpoint_auth_method="client_secret_basic")
        code, verifier = await o.code_for(gateway, client, registered["client_id"], agent["id"])
        body = {
            "grant_type": "authorization_code",
            "client_id": registered["client_id"],
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": o.REDIRECT_URI,
        }
        bad = await client.post(
            "/token", data=body, auth=httpx.BasicAuth(registered["client_id"], "wrong")
        )
        good = await client.post(
            "/token",
            data=body,
            auth=httpx.BasicAuth(registered["client_id"], registered["client_secret"]),
        )
    assert bad.status_code == 401
    assert good.status_code == 200, good.text
