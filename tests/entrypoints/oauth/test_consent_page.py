"""The consent page: no script, a strict CSP, CSRF refused, cross-origin posts refused,
a wrong pairing code explained, deny sends access_denied, and the page says who asks,
where it returns and what the agent may do in plain words."""

from __future__ import annotations

import httpx

from tests.support import entities as e
from tests.support import oauth as o
from tests.support.served import ServedGateway


async def _consent_url(gateway: ServedGateway, client: httpx.AsyncClient) -> str:
    client_id = (await o.register(client, client_name="Codex <b>CLI</b>"))["client_id"]
    _, challenge = o.pkce()
    started = await o.authorize(
        client, client_id, challenge, resource=gateway.services.settings.mcp_url
    )
    assert started.status_code == 302, started.text
    return str(started.headers["location"])


async def test_the_page_is_script_free_escaped_and_locked_down() -> None:
    async with o.gateway_and_client() as (gateway, client):
        page = await client.get(await _consent_url(gateway, client))
    assert page.status_code == 200
    assert "<script" not in page.text
    assert "Codex &lt;b&gt;CLI&lt;/b&gt;" in page.text
    assert "127.0.0.1:9" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "form-action 'self' http://127.0.0.1:9" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


async def test_a_post_without_the_csrf_cookie_or_from_another_origin_is_refused() -> None:
    async with o.gateway_and_client() as (gateway, client):
        page = await client.get(await _consent_url(gateway, client))
        form = {
            "request": o.hidden(page.text, "request"),
            "csrf": o.hidden(page.text, "csrf"),
            "step": "deny",
        }
        foreign = await client.post(
            "/oauth/consent", data=form, headers={"Origin": "https://evil.example"}
        )
        opaque = await client.post("/oauth/consent", data=form, headers={"Origin": "null"})
        client.cookies.clear()
        forged = await client.post("/oauth/consent", data=form)
    assert foreign.status_code == 403
    assert opaque.status_code == 403
    assert forged.status_code == 403
    assert "location" not in forged.headers


async def test_a_wrong_pairing_code_is_explained_and_deny_returns_access_denied() -> None:
    async with o.gateway_and_client() as (gateway, client):
        page = await client.get(await _consent_url(gateway, client))
        form = {"request": o.hidden(page.text, "request"), "csrf": o.hidden(page.text, "csrf")}
        wrong = await client.post(
            "/oauth/consent", data={**form, "step": "identify", "code": "BBBB-BBBB"}
        )
        malformed = await client.post(
            "/oauth/consent", data={**form, "step": "approve", "code": "nope"}
        )
        denied = await client.post("/oauth/consent", data={**form, "step": "deny"})
        tampered = await client.post(
            "/oauth/consent",
            data={**form, "request": e.one_character_changed(form["request"]), "step": "deny"},
        )
    assert wrong.status_code == 400
    assert "unknown, already used or expired" in wrong.text
    assert malformed.status_code == 400
    assert "8 letters" in malformed.text
    assert denied.status_code == 303
    answer = o.query(denied.headers["location"])
    assert answer["error"] == "access_denied"
    assert answer["state"] == "st4te"
    assert tampered.status_code == 400


async def test_the_approval_page_names_the_agent_and_its_grants_in_plain_words() -> None:
    async with o.oauth_gateway() as gateway:
        agent = await gateway.create_agent()
        await gateway.grant(agent["id"], ["issue:read", "issue:comment"])
        code = await o.pairing_code(gateway, agent["id"])
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            page = await client.get(await _consent_url(gateway, client))
            form = {"request": o.hidden(page.text, "request"), "csrf": o.hidden(page.text, "csrf")}
            shown = await client.post(
                "/oauth/consent", data={**form, "step": "identify", "code": code}
            )
            still = await client.post(
                "/oauth/consent", data={**form, "step": "identify", "code": code}
            )
    assert shown.status_code == 200
    assert 'id="agent-name">Agent<' in shown.text
    assert "alice@demo.local" in shown.text
    assert "In workspace “demo”" in shown.text
    assert "read issues" in shown.text
    assert "comment on issues" in shown.text
    assert still.status_code == 200  # showing the agent does not use the code up


async def test_pairing_code_guesses_share_the_redeem_rate_limit() -> None:
    async with o.gateway_and_client(redeem_limit_per_minute=2) as (gateway, client):
        page = await client.get(await _consent_url(gateway, client))
        form = {"request": o.hidden(page.text, "request"), "csrf": o.hidden(page.text, "csrf")}
        statuses = [
            (
                await client.post(
                    "/oauth/consent", data={**form, "step": "identify", "code": "BBBB-BBBB"}
                )
            ).status_code
            for _ in range(4)
        ]
    assert statuses[-1] == 429
