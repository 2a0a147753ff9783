"""A full scenario over HTTP, with every log line and audit event captured: none of the
secrets it used (internal token, pepper, agent tokens, pairing codes) appears anywhere."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from nodedc_gateway.entrypoints.logs import Redactor, configure_logging
from tests.support.logs import logging_restored
from tests.support.served import INTERNAL_TOKEN, PEPPER, served_gateway


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    with logging_restored():
        configure_logging(Redactor([INTERNAL_TOKEN, PEPPER]), level="debug", stream=stream)
        yield stream


async def test_no_secret_reaches_a_log_line_or_an_audit_event(captured_logs: io.StringIO) -> None:
    secrets: list[str] = [INTERNAL_TOKEN, PEPPER]
    async with served_gateway() as gw:
        agent = await gw.create_agent()
        base = f"{gw.owner_url()}/agents/{agent['id']}"
        await gw.grant(agent["id"])
        token = await gw.token(agent["id"])
        secrets.append(token)
        await gw.client.post(
            f"{base}/tokens", json={"name": "k"}, headers={"Idempotency-Key": "k1"}
        )
        replay = await gw.client.post(
            f"{base}/tokens", json={"name": "k"}, headers={"Idempotency-Key": "k1"}
        )
        assert replay.json()["token"] is None
        codes = [(await gw.client.post(f"{base}/pairing-codes")).json()["code"] for _ in range(2)]
        secrets += codes + [c.replace("-", "") for c in codes]
        async with httpx.AsyncClient(base_url=gw.url) as public:
            redeemed = await public.post("/v1/pairing/redeem", json={"code": codes[0]})
            secrets.append(redeemed.json()["token"])
            await public.post("/v1/pairing/redeem", json={"code": codes[0]})  # used: refused
            # Secrets in the wrong places: headers, query strings, bodies of bad requests.
            await public.get(
                f"{base}?token={token}", headers={"Authorization": f"Token {INTERNAL_TOKEN}"}
            )
            await public.get(f"/nowhere/{token}", headers={"Authorization": f"Bearer {token}"})
            await public.post(
                f"{base}/tokens", json={"name": token}, headers={"Authorization": f"Bearer {token}"}
            )
            await public.post("/v1/pairing/redeem", json={"code": codes[1], "extra": token})
        pipeline = gw.services.pipeline
        from nodedc_gateway.domain.secret import SecretStr

        await pipeline.authenticate(SecretStr(token))
        await gw.client.post(f"{base}/revoke")
        with pytest.raises(Exception):  # noqa: B017,PT011 - any refusal will do; its text is checked below
            await pipeline.authenticate(SecretStr(token))
        # A library logging a secret by mistake is redacted too.
        logging.getLogger("httpx").warning("retrying with %s and %s", token, INTERNAL_TOKEN)
        logging.getLogger("nodedc_gateway").error("boom", extra={"pairing": codes[1]})
        audit = (await gw.client.get(f"{base}/audit", params={"limit": 100})).text
        stored = repr(getattr(gw.container.persistence.uow(), "state", ""))

    logs = captured_logs.getvalue()
    assert "request" in logs  # the access log did run through the pipeline
    assert "[redacted]" in logs
    for secret in secrets:
        assert secret not in logs, f"a secret reached the logs: {secret[:6]}…"
        assert secret not in audit
        assert secret not in stored
