"""The SSRF-safe fetcher of OAuth client metadata documents: https only (unless local),
no private, loopback or link-local targets (unless allowed), the checked address is the
one connected to, no redirects, a size cap, JSON objects only."""

from __future__ import annotations

import ipaddress
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from nodedc_gateway.adapters.client_documents import SafeClientDocumentFetcher, _is_public
from nodedc_gateway.ports.client_documents import ClientDocumentUnavailable
from tests.support.served import serve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, not bound
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_private_loopback_link_local_and_special_addresses_are_not_public(address: str) -> None:
    assert not _is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
def test_public_addresses_are_public(address: str) -> None:
    assert _is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/client.json", "https"),
        ("ftp://example.com/client.json", "https"),
        ("https://user:pw@example.com/client.json", "credentials"),
        ("https://127.0.0.1/client.json", "private"),
        ("https://localhost/client.json", "private"),
        ("https://169.254.169.254/latest/meta-data", "private"),
        ("https://[::1]/client.json", "private"),
    ],
)
async def test_unsafe_urls_are_refused_before_any_connection(url: str, reason: str) -> None:
    def no_connection(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"connected to {request.url}")

    fetcher = SafeClientDocumentFetcher(transport=httpx.MockTransport(no_connection))
    with pytest.raises(ClientDocumentUnavailable, match=reason):
        await fetcher.fetch(url)


async def test_the_checked_address_is_connected_to_with_the_host_kept() -> None:
    seen: dict[str, Any] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        seen.update(url=str(request.url), host=request.headers["host"])
        seen["sni"] = request.extensions.get("sni_hostname")
        return httpx.Response(200, json={"client_id": "x"})

    fetcher = SafeClientDocumentFetcher(allow_private=True, transport=httpx.MockTransport(answer))
    assert await fetcher.fetch("https://localhost:8443/client.json") == {"client_id": "x"}
    host = httpx.URL(seen["url"]).host
    assert ipaddress.ip_address(host).is_loopback
    assert seen["host"] == "localhost:8443"
    assert seen["sni"] == "localhost"


async def test_redirects_big_bodies_errors_and_non_objects_are_refused() -> None:
    async def redirect(request: Any) -> Response:
        return RedirectResponse("http://169.254.169.254/", status_code=302)

    async def big(request: Any) -> Response:
        return Response(b"[" + b"1," * 40_000 + b"1]", media_type="application/json")

    async def missing(request: Any) -> Response:
        return Response(status_code=404)

    async def array(request: Any) -> Response:
        return JSONResponse([1, 2])

    async def text(request: Any) -> Response:
        return Response("hello")

    async def good(request: Any) -> Response:
        return JSONResponse({"client_id": str(request.url)})

    app = Starlette(
        routes=[
            Route("/redirect", redirect),
            Route("/big", big),
            Route("/missing", missing),
            Route("/array", array),
            Route("/text", text),
            Route("/good", good),
        ]
    )
    fetcher = SafeClientDocumentFetcher(allow_http=True, allow_private=True)
    strict = SafeClientDocumentFetcher(allow_http=True)
    async with serve(app) as url:
        for path, reason in (
            ("/redirect", "HTTP 302"),
            ("/big", "over 65536 bytes"),
            ("/missing", "HTTP 404"),
            ("/array", "not a JSON object"),
            ("/text", "not JSON"),
        ):
            with pytest.raises(ClientDocumentUnavailable, match=reason):
                await fetcher.fetch(url + path)
        assert await fetcher.fetch(url + "/good") == {"client_id": url + "/good"}
        with pytest.raises(ClientDocumentUnavailable, match="private"):
            await strict.fetch(url + "/good")
