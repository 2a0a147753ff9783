"""The owner console over HTTP (CONTRACT §13): entry by one-time link, the session
cookie, the pages over the same use cases, and every refusal leaving things unchanged."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import attrs
import httpx
import pytest

from nodedc_gateway.domain.console import LINK_TTL, SESSION_ABSOLUTE, SESSION_IDLE
from nodedc_gateway.entrypoints.bootstrap import build_container
from nodedc_gateway.entrypoints.connector import codex_config
from nodedc_gateway.entrypoints.console.web import (
    TEMPLATES,
    LazyJinja,
    csrf_cookie_name,
    security_headers,
    session_cookie,
)
from nodedc_gateway.entrypoints.http.app import create_app
from nodedc_gateway.entrypoints.settings import Environment
from tests.support.backends import backend_settings
from tests.support.console import ConsoleUser, console_link, signed_in
from tests.support.mcp import http_client, structured
from tests.support.served import ServedGateway, gateway_settings, served_gateway

US = timedelta(microseconds=1)


@pytest.fixture
async def gw() -> AsyncIterator[ServedGateway]:
    async with served_gateway() as served:
        yield served


@pytest.fixture
async def alice(gw: ServedGateway) -> AsyncIterator[ConsoleUser]:
    async with signed_in(gw) as user:
        yield user


async def agents_of(gw: ServedGateway, owner: str | None = None) -> list[dict[str, Any]]:
    response = await gw.client.get(f"{gw.owner_url(owner)}/agents")
    return list(response.json()["items"])


async def audit_of(gw: ServedGateway, agent_id: str) -> list[dict[str, Any]]:
    response = await gw.client.get(f"{gw.owner_url()}/agents/{agent_id}/audit")
    return list(response.json()["items"])


async def create_in_console(user: ConsoleUser, name: str = "Laptop Codex") -> str:
    await user.get("/console/agents")
    response = await user.post(
        "/console/agents",
        {"display_name": name, "owner_email": "alice@demo.local", "idempotency_key": user.key()},
    )
    assert response.status_code == 303, response.text
    return response.headers["location"].split("/")[-1].split("?")[0]


# --- entry -------------------------------------------------------------------------


async def test_a_link_is_single_use_short_lived_and_needs_the_internal_token(
    gw: ServedGateway,
) -> None:
    response = await gw.client.post(f"{gw.owner_url()}/console-links")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"url", "expires_at"}
    assert body["url"].startswith("http://127.0.0.1:8000/console/open/")
    code = body["url"].rsplit("/", 1)[1]
    assert len(code) >= 22  # 43 characters from 62: about 256 bits, at least 128 asked
    assert body["expires_at"] == "2026-11-22T12:02:00.000000Z"  # the test clock's now + 2 min
    async with httpx.AsyncClient(base_url=gw.url) as anonymous:
        refused = await anonymous.post(f"{gw.owner_url()}/console-links")
    assert refused.status_code == 401


async def test_opening_a_link_sets_the_session_cookie_and_drops_the_code(
    gw: ServedGateway,
) -> None:
    path = await console_link(gw)
    async with httpx.AsyncClient(base_url=gw.url) as browser:
        response = await browser.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == "/console/agents"
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("nodedc_console=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert response.headers["referrer-policy"] == "no-referrer"
        page = await browser.get("/console/agents")
        assert page.status_code == 200
        assert "Your agents" in page.text
        assert path.rsplit("/", 1)[1] not in page.text


def test_outside_local_the_cookies_are_secure_and_host_prefixed() -> None:
    settings = attrs.evolve(gateway_settings(), env=Environment.PRODUCTION)
    cookie = session_cookie(settings, "value").to_header(header="")
    assert cookie.startswith("__Host-nodedc_console=value")
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie
    assert csrf_cookie_name(settings).startswith("__Host-")


async def test_a_used_link_is_refused(gw: ServedGateway) -> None:
    path = await console_link(gw)
    async with (
        httpx.AsyncClient(base_url=gw.url) as first,
        httpx.AsyncClient(base_url=gw.url) as second,
    ):
        assert (await first.get(path)).status_code == 303
        again = await second.get(path)
        assert again.status_code == 404
        assert "already used or expired" in again.text
        assert not [c for c in again.headers.get_list("set-cookie") if "nodedc_console=" in c]
        assert (await second.get("/console/agents")).status_code == 401


async def test_an_expired_link_is_refused(gw: ServedGateway) -> None:
    path = await console_link(gw)
    gw.clock.advance(LINK_TTL)
    async with httpx.AsyncClient(base_url=gw.url) as browser:
        assert (await browser.get(path)).status_code == 404
        assert (await browser.get("/console/agents")).status_code == 401


async def test_a_malformed_code_is_refused_without_a_lookup(gw: ServedGateway) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as browser:
        assert (await browser.get("/console/open/short")).status_code == 404


async def test_opening_links_is_rate_limited_per_client(gw: ServedGateway) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as browser:
        statuses = [(await browser.get("/console/open/" + "A" * 43)).status_code for _ in range(11)]
    assert statuses[:10] == [404] * 10
    assert statuses[10] == 429


async def test_a_session_ends_when_idle_or_after_eight_hours(gw: ServedGateway) -> None:
    async with signed_in(gw) as user:
        gw.clock.advance(SESSION_IDLE - US)
        assert (await user.get("/console/agents")).status_code == 200
        gw.clock.advance(SESSION_IDLE)
        assert (await user.get("/console/agents")).status_code == 401
    async with signed_in(gw) as user:
        start = gw.clock.now()
        while gw.clock.now() + SESSION_IDLE < start + SESSION_ABSOLUTE:
            gw.clock.advance(SESSION_IDLE - US)
            assert (await user.get("/console/agents")).status_code == 200
        gw.clock.set(start + SESSION_ABSOLUTE)
        ended = await user.get("/console/agents")
        assert ended.status_code == 401
        assert "Open the console from Tasker again" in ended.text


# --- security: each refusal changes nothing -----------------------------------------


async def test_a_missing_or_forged_csrf_token_is_refused(
    alice: ConsoleUser, gw: ServedGateway
) -> None:
    form = {"display_name": "Sneaky", "owner_email": "alice@demo.local"}
    missing = await alice.post("/console/agents", form, csrf="")
    assert missing.status_code == 403
    assert "Nothing was changed" in missing.text
    forged = await alice.post("/console/agents", form, csrf="0" * 128)
    assert forged.status_code == 403
    async with signed_in(gw) as other:  # a valid token, but of another browser
        swapped = await alice.post("/console/agents", form, csrf=other.csrf[:-1] + "0")
    assert swapped.status_code == 403
    assert await agents_of(gw) == []


async def test_a_signed_out_session_is_refused_everywhere(
    alice: ConsoleUser, gw: ServedGateway
) -> None:
    await alice.get("/console/agents")
    stolen = dict(alice.client.cookies.items())
    out = await alice.post("/console/sign-out")
    assert out.status_code == 303
    assert out.headers["location"] == "/console/signed-out"
    async with httpx.AsyncClient(base_url=gw.url, cookies=stolen) as replay:
        assert (await replay.get("/console/agents")).status_code == 401
        refused = await replay.post(
            "/console/agents",
            data={
                "_csrf_token": alice.csrf,
                "display_name": "After sign-out",
                "owner_email": "alice@demo.local",
            },
        )
        assert refused.status_code == 401
    assert await agents_of(gw) == []


async def test_another_owners_objects_are_not_found_in_any_console_url(
    alice: ConsoleUser, gw: ServedGateway
) -> None:
    bob = gw.demo.bob.id
    agent = (
        await gw.client.post(
            f"{gw.owner_url(bob)}/agents",
            json={"display_name": "Bob's", "owner_email": "bob@demo.local"},
        )
    ).json()
    token = (
        await gw.client.post(f"{gw.owner_url(bob)}/agents/{agent['id']}/tokens", json={"name": "t"})
    ).json()
    grant = (
        await gw.client.post(
            f"{gw.owner_url(bob)}/agents/{agent['id']}/grants",
            json={"workspace_slug": "demo", "project_id": "DEMO", "scopes": ["issue:read"]},
        )
    ).json()
    async with http_client(gw.url, token["token"]) as mcp:
        filed = await mcp.call_tool(
            "request_access",
            {
                "workspace_slug": "demo",
                "project_id": "DEMO",
                "scopes": ["issue:create"],
                "justification": "to file bugs",
            },
        )
    request_id = structured(filed)["request"]["id"]
    before = await audit_of_owner(gw, bob, agent["id"])
    ids = {
        "agent_id": agent["id"],
        "token_id": token["id"],
        "grant_id": grant["id"],
        "request_id": request_id,
    }
    checked = 0
    for method, path in console_routes():
        if not any("{" + name in path for name in ids):
            continue
        url = re.sub(r"\{(\w+):\w+\}", r"{\1}", path).format(**ids)
        await alice.get("/console/agents")
        if method == "GET":
            response = await alice.client.get(url)
        else:
            response = await alice.post(url, EVERY_FIELD)
        assert response.status_code == 404, (method, url, response.text[-900:].replace("\n", " "))
        checked += 1
    assert checked >= 14
    pending = await gw.client.get(f"{gw.owner_url(bob)}/access-requests")
    assert [r["status"] for r in pending.json()["items"]] == ["pending"]
    audit = await alice.client.get("/console/audit", params={"agent": agent["id"]})
    assert audit.status_code == 404
    assert await audit_of_owner(gw, bob, agent["id"]) == before
    assert (await gw.client.get(f"{gw.owner_url(bob)}/agents/{agent['id']}")).json()[
        "status"
    ] == "active"


async def audit_of_owner(gw: ServedGateway, owner: str, agent_id: str) -> list[Any]:
    response = await gw.client.get(f"{gw.owner_url(owner)}/agents/{agent_id}/audit")
    return list(response.json()["items"])


EVERY_FIELD = {
    "display_name": "x",
    "status": "disabled",
    "name": "x",
    "scopes": "issue:create",  # what Bob's agent asked for: valid, so ownership decides
    "mode": "reporting",
    "workspace_slug": "demo",
    "decision": "approve",
}


def console_routes() -> list[tuple[str, str]]:
    """Every console route, from the app itself: a new route is covered without asking."""
    app = create_app(build_container(gateway_settings()))
    return [
        (method, route.path)
        for route in app.routes
        if route.path.startswith("/console/")
        for method in sorted(getattr(route, "methods", ()))
        if method in ("GET", "POST")
    ]


# --- pages and actions ---------------------------------------------------------------


async def test_every_response_carries_a_strict_content_security_policy(alice: ConsoleUser) -> None:
    for path in ("/console/agents", "/console/requests", "/console/audit", "/console/reporting"):
        response = await alice.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert "<script>" not in response.text  # no inline script
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_frame_ancestors_come_from_the_setting() -> None:
    settings = gateway_settings(console_frame_ancestors="https://tasker.example.com")
    assert security_headers(settings)["Content-Security-Policy"].endswith(
        "frame-ancestors https://tasker.example.com"
    )
    unquoted = gateway_settings(console_frame_ancestors="self https://tasker.example.com")
    assert security_headers(unquoted)["Content-Security-Policy"].endswith(
        "frame-ancestors 'self' https://tasker.example.com"
    )
    with pytest.raises(ValueError, match="CONSOLE_FRAME_ANCESTORS"):
        security_headers(gateway_settings(console_frame_ancestors="'self'; script-src *"))


def test_the_template_engine_made_on_first_use_has_the_filter_and_every_callable() -> None:
    """Litestar registers template callables as the app is built, before the Jinja engine
    exists (`LazyJinja`): each is handed over when it is made, and later ones go to it."""
    engine = LazyJinja(TEMPLATES)
    engine.register_template_callable("before", lambda _: "early")
    page = "{{ before() }} {{ at|when }}"
    context = {"at": "2026-12-04T17:30:12.123456Z"}
    assert engine.render_string(page, context) == "early 2026-12-04 17:30 UTC"
    engine.register_template_callable("after", lambda _: "late")
    assert engine.render_string("{{ after() }}", {}) == "late"
    assert "{{" not in engine.get_template("base.html").render(prefix="/console")


async def test_actions_run_the_owner_use_cases_audited_with_the_acting_user(
    gw: ServedGateway,
) -> None:
    async with signed_in(gw, actor_user_id="assistant-7") as user:
        agent_id = await create_in_console(user)
        page = await user.get(f"/console/agents/{agent_id}")
        assert "Laptop Codex" in page.text
        renamed = await user.post(
            f"/console/agents/{agent_id}/rename",
            {"display_name": "Desk Codex", "idempotency_key": user.key()},
        )
        assert renamed.status_code == 303
    agents = await agents_of(gw)
    assert [a["display_name"] for a in agents] == ["Desk Codex"]
    events = await audit_of(gw, agent_id)
    assert {e["actor_user_id"] for e in events} == {"assistant-7"}
    assert {e["event_type"] for e in events} >= {"agent.created", "agent.updated"}


async def test_a_resent_form_replays_instead_of_acting_twice(
    alice: ConsoleUser, gw: ServedGateway
) -> None:
    await alice.get("/console/agents")
    form = {
        "display_name": "Once",
        "owner_email": "alice@demo.local",
        "idempotency_key": alice.key(),
    }
    first = await alice.post("/console/agents", form)
    second = await alice.post("/console/agents", form)
    assert first.headers["location"] == second.headers["location"]
    assert len(await agents_of(gw)) == 1


async def test_a_token_is_shown_once_with_ready_snippets(
    gw: ServedGateway, alice: ConsoleUser
) -> None:
    agent_id = await create_in_console(alice)
    await alice.get(f"/console/agents/{agent_id}")
    form = {"name": "work laptop", "expires_in_days": "30", "idempotency_key": alice.key()}
    shown = await alice.post(f"/console/agents/{agent_id}/tokens", form)
    assert shown.status_code == 200
    token = shown.text.split('id="token" readonly value="', 1)[1].split('"', 1)[0]
    assert token.startswith("ndca_")
    # The Codex block is the one `connect` and docs/codex.md print (real-client tested).
    block = codex_config(gw.container.settings().mcp_url, None).rstrip()
    assert block in html.unescape(shown.text)
    assert "claude mcp add --transport http nodedc" in shown.text
    again = await alice.post(f"/console/agents/{agent_id}/tokens", form)  # resent
    assert again.status_code == 200
    assert token not in again.text
    assert "already shown once" in again.text
    listing = await alice.get(f"/console/agents/{agent_id}")
    assert token not in listing.text
    assert "work laptop" in listing.text


async def test_a_pairing_code_is_shown_once_with_the_connect_command(alice: ConsoleUser) -> None:
    agent_id = await create_in_console(alice)
    await alice.get(f"/console/agents/{agent_id}")
    form = {"idempotency_key": alice.key()}
    shown = await alice.post(f"/console/agents/{agent_id}/pairing-code", form)
    assert shown.status_code == 200
    assert "nodedc-gateway connect --gateway http://127.0.0.1:8000 --code " in shown.text
    code = shown.text.split("--code ", 1)[1][:9]
    again = await alice.post(f"/console/agents/{agent_id}/pairing-code", form)
    assert code not in again.text


async def test_grants_are_chosen_from_tasker_and_edited_as_versions(alice: ConsoleUser) -> None:
    agent_id = await create_in_console(alice)
    chooser = await alice.get(f"/console/agents/{agent_id}/grants/new", workspace="demo")
    assert chooser.status_code == 200
    assert "DEMO" in chooser.text
    assert 'value="issue:delete"' not in chooser.text  # human-only: shown, never selectable
    assert "issue:delete" in chooser.text
    project = chooser.text.split('<option value="', 2)[2].split('"', 1)[0]
    created = await alice.post(
        f"/console/agents/{agent_id}/grants",
        {
            "workspace_slug": "demo",
            "project_id": project,
            "scopes": ["issue:read", "issue:create"],
            "mode": "voluntary",
            "idempotency_key": alice.key(),
        },
    )
    assert created.status_code == 303, created.text
    grant_path = created.headers["location"].split("?")[0]
    page = await alice.get(grant_path)
    changed = await alice.post(
        grant_path,
        {"scopes": ["issue:read"], "mode": "reporting", "idempotency_key": alice.key()},
    )
    assert changed.status_code == 303
    page = await alice.get(grant_path)
    assert "v2" in page.text
    assert "v1" in page.text
    human_only = await alice.post(grant_path, {"scopes": ["issue:delete"], "mode": "voluntary"})
    assert human_only.status_code == 403
    reporting = await alice.get("/console/reporting")
    assert "demo" in reporting.text


async def test_bad_input_gets_a_clear_specific_page(alice: ConsoleUser, gw: ServedGateway) -> None:
    response = await alice.post("/console/agents", {"display_name": "", "owner_email": "nope"})
    assert response.status_code == 422
    assert "owner_email" in response.text or "display_name" in response.text
    assert await agents_of(gw) == []


async def test_the_console_works_on_sqlite_too() -> None:
    async with (
        backend_settings("sqlite") as settings,
        served_gateway(settings) as gw,
        signed_in(gw) as user,
    ):
        agent_id = await create_in_console(user)
        assert (await user.get(f"/console/agents/{agent_id}")).status_code == 200
        assert (await user.post("/console/sign-out")).status_code == 303
        assert (await user.get("/console/agents")).status_code == 401


async def test_the_audit_page_filters_and_pages(alice: ConsoleUser) -> None:
    agent_id = await create_in_console(alice)
    for index in range(26):  # 27 events: created, then 26 renames
        await alice.get(f"/console/agents/{agent_id}")
        renamed = await alice.post(
            f"/console/agents/{agent_id}/rename",
            {"display_name": f"Name {index}", "idempotency_key": alice.key()},
        )
        assert renamed.status_code == 303
    first = await alice.get("/console/audit", agent=agent_id)
    assert first.text.count("<tr>") == 1 + 25  # the header, then a page of 25
    assert "Chain verified: all 27 events" in first.text
    found = re.search(r"cursor=([0-9]+)\">Older events", first.text)
    assert found, "no link to older events"
    cursor = found.group(1)
    second = await alice.get("/console/audit", agent=agent_id, cursor=cursor)
    assert second.text.count("<tr>") == 1 + 2
    assert "Older events" not in second.text
    created = await alice.get("/console/audit", agent=agent_id, operation="create_agent")
    assert created.text.count("<tr>") == 1 + 1
    refused = await alice.get("/console/audit", agent=agent_id, decision="deny")
    assert "No events match." in refused.text
    bad = await alice.get("/console/audit", agent=agent_id, since="yesterday")
    assert bad.status_code == 422
    assert "since" in bad.text


async def file_request(gw: ServedGateway, token: str, scopes: list[str]) -> str:
    async with http_client(gw.url, token) as mcp:
        filed = await mcp.call_tool(
            "request_access",
            {
                "workspace_slug": "demo",
                "project_id": "DEMO",
                "scopes": scopes,
                "justification": "to do my work",
            },
        )
    return str(structured(filed)["request"]["id"])


async def test_requests_are_approved_with_fewer_scopes_or_denied_with_a_reason(
    alice: ConsoleUser, gw: ServedGateway
) -> None:
    agent = await gw.create_agent()
    await gw.grant(agent["id"], ["issue:read"])
    token = await gw.token(agent["id"])
    first = await file_request(gw, token, ["issue:create", "issue:comment"])
    inbox = await alice.get("/console/requests")
    assert "to do my work" in inbox.text
    assert "demo / DEMO — " in inbox.text  # the project the request holds, by its name
    approved = await alice.post(
        f"/console/requests/{first}",
        {"decision": "approve", "scopes": ["issue:create"], "idempotency_key": alice.key()},
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == "/console/requests?notice=request_approved"
    grants = (await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/grants")).json()
    assert sorted(grants["items"][0]["scopes"]) == ["issue:create", "issue:read"]

    second = await file_request(gw, token, ["issue:assign"])
    await alice.get("/console/requests")
    no_reason = await alice.post(f"/console/requests/{second}", {"decision": "deny"})
    assert no_reason.status_code == 422
    assert "note" in no_reason.text
    denied = await alice.post(
        f"/console/requests/{second}", {"decision": "deny", "note": "Not this sprint"}
    )
    assert denied.status_code == 303
    decided = await alice.get("/console/requests")
    assert "Nothing is waiting." in decided.text
    assert "Not this sprint" in decided.text
    assert "approved: issue:create" in decided.text
