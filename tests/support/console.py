"""Driving the owner console over plain HTTP, as a browser would: a one-time link, the
session cookie, and forms posted with the CSRF token of the page they came from."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx

from tests.support.served import ServedGateway

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


async def console_link(gw: ServedGateway, owner: str | None = None, **body: Any) -> str:
    """A fresh link's path (`/console/open/…`); the gateway's public URL is not the test's."""
    response = await gw.client.post(f"{gw.owner_url(owner)}/console-links", json=body or None)
    assert response.status_code == 201, response.text
    return urlsplit(response.json()["url"]).path


@attrs.define
class ConsoleUser:
    client: httpx.AsyncClient
    csrf: str = ""
    last: httpx.Response | None = None

    async def open(self, path: str) -> httpx.Response:
        response = await self.client.get(path)
        assert response.status_code == 303, response.text
        return response

    async def get(self, path: str, **params: Any) -> httpx.Response:
        response = await self.client.get(path, params=params or None)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        self.last = response
        return response

    def key(self) -> str:
        assert self.last is not None
        found = _KEY.search(self.last.text)
        assert found, "the page has no form with an idempotency key"
        return found.group(1)

    async def post(
        self, path: str, data: dict[str, Any] | None = None, *, csrf: str | None = None
    ) -> httpx.Response:
        form: dict[str, Any] = {"_csrf_token": self.csrf if csrf is None else csrf, **(data or {})}
        if csrf == "":
            del form["_csrf_token"]
        return await self.client.post(path, data=form)


@asynccontextmanager
async def signed_in(
    gw: ServedGateway, owner: str | None = None, **body: Any
) -> AsyncIterator[ConsoleUser]:
    """A browser signed in through a fresh link, on the agents page."""
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as client:
        user = ConsoleUser(client)
        await user.open(await console_link(gw, owner, **body))
        await user.get("/console/agents")
        yield user
