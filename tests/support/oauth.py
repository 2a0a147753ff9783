"""Helpers for MCP authorization tests: a gateway whose PUBLIC_URL is its real loopback
address (OAuth metadata names it), and a plain-HTTP walk through the consent page."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import secrets
import socket
from collections.abc import AsyncIterator
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from tests.support.served import ServedGateway, gateway_settings, served_gateway

REDIRECT_URI = "http://127.0.0.1:9/callback"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def oauth_gateway(
    database_url: str = "memory://", **overrides: Any
) -> AsyncIterator[ServedGateway]:
    port = free_port()
    settings = gateway_settings(database_url, public_url=f"http://127.0.0.1:{port}", **overrides)
    async with served_gateway(settings, port) as gateway:
        yield gateway


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def pairing_code(gateway: ServedGateway, agent_id: str) -> str:
    response = await gateway.client.post(f"{gateway.owner_url()}/agents/{agent_id}/pairing-codes")
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


async def register(client: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    body = {
        "client_name": "Test client",
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        **extra,
    }
    response = await client.post("/register", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the page"
    return unescape(match.group(1))


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def authorize(
    client: httpx.AsyncClient,
    client_id: str,
    challenge: str,
    *,
    resource: str | None,
    redirect_uri: str = REDIRECT_URI,
    state: str = "st4te",
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    if resource is not None:
        params["resource"] = resource
    return await client.get("/authorize?" + urlencode(params))


async def consent(client: httpx.AsyncClient, consent_url: str, code: str) -> httpx.Response:
    """Walk the consent page as a browser would; returns the final (303) response."""
    page = await client.get(consent_url)
    assert page.status_code == 200, page.text
    form = {"request": hidden(page.text, "request"), "csrf": hidden(page.text, "csrf")}
    shown = await client.post("/oauth/consent", data={**form, "step": "identify", "code": code})
    assert shown.status_code == 200, shown.text
    return await client.post("/oauth/consent", data={**form, "step": "approve", "code": code})


async def code_for(
    gateway: ServedGateway, client: httpx.AsyncClient, client_id: str, agent_id: str
) -> tuple[str, str]:
    """A fresh authorization code and its PKCE verifier."""
    verifier, challenge = pkce()
    started = await authorize(
        client, client_id, challenge, resource=gateway.services.settings.mcp_url
    )
    assert started.status_code == 302, started.text
    done = await consent(client, started.headers["location"], await pairing_code(gateway, agent_id))
    assert done.status_code == 303, done.text
    answer = query(done.headers["location"])
    assert answer["state"] == "st4te"
    return answer["code"], verifier


async def exchange(
    client: httpx.AsyncClient, client_id: str, code: str, verifier: str, **extra: str
) -> httpx.Response:
    return await client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": REDIRECT_URI,
            **extra,
        },
    )


async def refresh(client: httpx.AsyncClient, client_id: str, token: str) -> httpx.Response:
    return await client.post(
        "/token",
        data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": token},
    )


async def tools_list(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )


async def whoami(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.post(
        "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}},
        },
        headers={
            "Authorization": f"Bearer {access_token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
        },
    )


@contextlib.asynccontextmanager
async def gateway_and_client(
    **overrides: Any,
) -> AsyncIterator[tuple[ServedGateway, httpx.AsyncClient]]:
    """An OAuth-ready gateway and a plain HTTP client on it (no credentials)."""
    async with (
        oauth_gateway(**overrides) as gateway,
        httpx.AsyncClient(base_url=gateway.url, timeout=30) as client,
    ):
        yield gateway, client
