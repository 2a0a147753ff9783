"""An SSRF-safe fetcher for OAuth Client ID Metadata Documents.

A client_id that is a URL makes the gateway fetch whatever that URL names, so the fetch is
fenced: https only (http too when configured, for local work); no credentials in the URL;
the host is resolved first and every address it resolves to must be public (not private,
loopback, link-local, multicast, reserved or unspecified) unless private addresses are
allowed by configuration; the connection then goes to the checked address itself (the
hostname kept for `Host` and TLS SNI/certificate checks), so a second DNS answer cannot
swap in another target. No redirects, a short timeout, and a size cap on the body.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from nodedc_gateway.ports.client_documents import ClientDocumentUnavailable

if TYPE_CHECKING:
    import httpx

MAX_DOCUMENT_BYTES = 64 * 1024
TIMEOUT_S = 5.0


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _is_public(address.ipv4_mapped)
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_unspecified
    )


class SafeClientDocumentFetcher:
    def __init__(
        self,
        *,
        allow_http: bool = False,
        allow_private: bool = False,
        timeout_s: float = TIMEOUT_S,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_http = allow_http
        self._allow_private = allow_private
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._transport = transport

    async def fetch(self, url: str) -> Mapping[str, Any]:
        import httpx  # on first use: a gateway that never fetches one never loads it

        parts = urlsplit(url)
        schemes = ("https", "http") if self._allow_http else ("https",)
        if parts.scheme not in schemes:
            raise ClientDocumentUnavailable(
                "a client metadata document URL must use https"
                + (" (or http in local mode)" if self._allow_http else "")
            )
        if parts.username or parts.password or not parts.hostname:
            raise ClientDocumentUnavailable(
                "the client metadata URL needs a host and no credentials"
            )
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await self._checked_address(host, port)
        netloc = f"[{address}]" if ":" in address else address
        target = urlunsplit((parts.scheme, f"{netloc}:{port}", parts.path or "/", parts.query, ""))
        headers = {"Host": parts.netloc.rpartition("@")[2], "Accept": "application/json"}
        try:
            async with (
                httpx.AsyncClient(
                    timeout=httpx.Timeout(self._timeout_s),
                    follow_redirects=False,
                    transport=self._transport,
                ) as client,
                client.stream(
                    "GET", target, headers=headers, extensions={"sni_hostname": host}
                ) as response,
            ):
                if response.status_code != 200:
                    raise ClientDocumentUnavailable(
                        f"the client metadata document answered HTTP {response.status_code}"
                    )
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise ClientDocumentUnavailable(
                            f"the client metadata document is over {self._max_bytes} bytes"
                        )
        except httpx.HTTPError as error:
            raise ClientDocumentUnavailable(
                f"the client metadata document could not be fetched ({type(error).__name__})"
            ) from None
        try:
            document = json.loads(bytes(body))
        except ValueError:
            raise ClientDocumentUnavailable("the client metadata document is not JSON") from None
        if not isinstance(document, dict):
            raise ClientDocumentUnavailable("the client metadata document is not a JSON object")
        return document

    async def _checked_address(self, host: str, port: int) -> str:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError:
            raise ClientDocumentUnavailable(
                f"the client metadata host {host!r} does not resolve"
            ) from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses:
            raise ClientDocumentUnavailable(f"the client metadata host {host!r} does not resolve")
        if not self._allow_private and not all(_is_public(a) for a in addresses):
            raise ClientDocumentUnavailable(
                f"the client metadata host {host!r} resolves to a private, loopback or "
                "link-local address, which this gateway does not fetch from"
            )
        return str(addresses[0])
