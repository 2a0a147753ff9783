"""MCP authorization end to end, with the official `mcp` client's OAuth support
(`OAuthClientProvider`) and the consent page driven in Chromium by Playwright:
discovery from a 401, registration (Dynamic Client Registration, and a client metadata
document served by the test on loopback), authorization with PKCE, tool calls, refresh,
a refresh token reused, and revocation."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth import oauth2 as client_oauth
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import oauth as o
from tests.support.browser import chromium
from tests.support.served import ServedGateway, serve


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class ConsentInBrowser:
    """The client's redirect and callback handlers: the browser opens the authorize URL,
    a person types the pairing code, reads the page and allows; the redirect back to the
    client is caught by the browser (nothing listens on the callback port)."""

    def __init__(self, browser: Any, pairing_code: str, callback: str) -> None:
        self._browser = browser
        self._code = pairing_code
        self._callback = callback
        self.landed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.seen: dict[str, str] = {}

    async def redirect(self, authorization_url: str) -> None:
        page = await (await self._browser.new_context()).new_page()

        async def caught(route: Any) -> None:
            if not self.landed.done():
                self.landed.set_result(route.request.url)
            await route.fulfill(status=200, body="You can close this window.")

        await page.route(f"{self._callback}**", caught)
        await page.goto(authorization_url)
        self.seen["client"] = await page.text_content("#client-name") or ""
        self.seen["host"] = await page.text_content("#redirect-host") or ""
        await page.fill("#code", self._code)
        await page.click("button[value=identify]")
        self.seen["agent"] = await page.text_content("#agent-name") or ""
        self.seen["grants"] = await page.text_content("#grants") or ""
        await page.click("button[value=approve]")

    async def callback(self) -> AuthorizationCodeResult:
        answer = o.query(await self.landed)
        return AuthorizationCodeResult(
            code=answer["code"], state=answer.get("state"), iss=answer.get("iss")
        )


async def _agent(gateway: ServedGateway) -> tuple[str, str]:
    agent = await gateway.create_agent()
    await gateway.grant(agent["id"], ["project:read", "issue:read"])
    return str(agent["id"]), await o.pairing_code(gateway, agent["id"])


def _metadata(callback: str, name: str) -> OAuthClientMetadata:
    return OAuthClientMetadata.model_validate(
        {
            "client_name": name,
            "redirect_uris": [callback],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
    )


@contextlib.asynccontextmanager
async def _session(gateway: ServedGateway, provider: OAuthClientProvider) -> AsyncIterator[Client]:
    http = create_mcp_http_client(auth=provider)
    async with Client(streamable_http_client(f"{gateway.url}/mcp", http_client=http)) as client:
        yield client


def _expire_on_the_client(provider: OAuthClientProvider) -> None:
    """An hour passes for the client: its token is due for refresh before the next call."""
    provider.context.token_expiry_time = time.time() - 1


async def test_dynamic_registration_consent_tools_refresh_and_revocation() -> None:
    async with chromium() as browser, o.oauth_gateway() as gateway:
        agent_id, pairing = await _agent(gateway)
        callback = f"http://127.0.0.1:{o.free_port()}/callback"
        consent = ConsentInBrowser(browser, pairing, callback)
        storage = MemoryStorage()
        provider = OAuthClientProvider(
            f"{gateway.url}/mcp",
            _metadata(callback, "E2E client"),
            storage,
            consent.redirect,
            consent.callback,
        )
        async with _session(gateway, provider) as client:
            whoami = await client.call_tool("whoami", {})
            assert not whoami.is_error, whoami
            assert whoami.structured_content["agent"]["id"] == agent_id
            assert storage.client_info is not None  # registered dynamically
            first = storage.tokens
            assert first is not None
            assert first.refresh_token

            gateway.clock.advance(timedelta(minutes=61))
            _expire_on_the_client(provider)
            again = await client.call_tool("whoami", {})
            assert not again.is_error
            second = storage.tokens
            assert second is not None
            assert second.refresh_token != first.refresh_token

        assert consent.seen["client"] == "E2E client"
        assert consent.seen["host"] == callback.split("/")[2]
        assert consent.seen["agent"] == "Agent"
        assert "read projects" in consent.seen["grants"]

        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as plain:
            client_id = storage.client_info.client_id or ""
            assert (await o.tools_list(plain, second.access_token)).status_code == 200
            revoked = await plain.post(
                "/revoke", data={"client_id": client_id, "token": second.access_token}
            )
            assert revoked.status_code == 200
            assert (await o.tools_list(plain, second.access_token)).status_code == 401
            after = await o.refresh(plain, client_id, second.refresh_token or "")
            assert after.json()["error"] == "invalid_grant"
        listed = await gateway.client.get(f"{gateway.owner_url()}/agents/{agent_id}/tokens")
        names = {t["name"] for t in listed.json()["items"]}
        assert names == {"OAuth: E2E client"}


async def test_client_metadata_document_consent_and_refresh_reuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    callback = f"http://127.0.0.1:{o.free_port()}/callback"
    document: dict[str, Any] = {}

    async def serve_document(request: Any) -> JSONResponse:
        return JSONResponse(document)

    documents = Starlette(routes=[Route("/oauth/client.json", serve_document)])
    # The client library accepts only https metadata URLs; the test serves its document
    # on loopback http (allowed by the gateway in local mode, with private addresses
    # allowed by setting), so that one constructor check is relaxed here.
    monkeypatch.setattr(client_oauth, "is_valid_client_metadata_url", bool)
    async with (
        chromium() as browser,
        serve(documents) as documents_url,
        o.oauth_gateway(oauth_documents_allow_private=True) as gateway,
    ):
        client_id = f"{documents_url}/oauth/client.json"
        document.update(
            client_id=client_id,
            client_name="Document client",
            redirect_uris=[callback],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        )
        agent_id, pairing = await _agent(gateway)
        consent = ConsentInBrowser(browser, pairing, callback)
        storage = MemoryStorage()
        provider = OAuthClientProvider(
            f"{gateway.url}/mcp",
            _metadata(callback, "Document client"),
            storage,
            consent.redirect,
            consent.callback,
            client_metadata_url=client_id,
        )
        async with _session(gateway, provider) as client:
            listed = await client.list_tools()
            assert "whoami" in {tool.name for tool in listed.tools}
            assert storage.client_info is not None
            assert storage.client_info.client_id == client_id  # no registration happened
            first = storage.tokens
            assert first is not None
            _expire_on_the_client(provider)
            assert not (await client.call_tool("whoami", {})).is_error
            second = storage.tokens
            assert second is not None

        assert consent.seen["client"] == "Document client"
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as plain:
            replay = await o.refresh(plain, client_id, first.refresh_token or "")
            assert replay.status_code == 400
            assert replay.json()["error"] == "invalid_grant"
            for token in (first.access_token, second.access_token):
                assert (await o.tools_list(plain, token)).status_code == 401
            newest = await o.refresh(plain, client_id, second.refresh_token or "")
            assert newest.json()["error"] == "invalid_grant"
        tokens = await gateway.client.get(f"{gateway.owner_url()}/agents/{agent_id}/tokens")
        assert {t["status"] for t in tokens.json()["items"]} == {"revoked"}
