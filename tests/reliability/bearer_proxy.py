"""A loopback proxy that adds `Authorization: Bearer <agent token>` to every request and
forwards it to the gateway, for clients with no header option (the MCP conformance
suite). Everything else passes through untouched, the Host and Origin headers included,
so the gateway's own DNS-rebinding checks still see what the client sent."""

from __future__ import annotations

from typing import Any

import httpx

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
#: Set again by the proxy's own server; forwarding them too would send them twice.
_SET_BY_SERVER = frozenset({"date", "server"})


def bearer_proxy(upstream: str, token: str) -> Any:
    """An ASGI app forwarding to `upstream` (scheme://host:port) with the token added."""
    client = httpx.AsyncClient(base_url=upstream, timeout=60)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in _HOP_BY_HOP | {"authorization"}
        ]
        headers.append(("Authorization", f"Bearer {token}"))
        path = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        request = client.build_request(
            scope["method"], path + (f"?{query}" if query else ""), headers=headers, content=body
        )
        response = await client.send(request, stream=True)
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers.multi_items()
                        if k.lower() not in _HOP_BY_HOP | _SET_BY_SERVER
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()

    return app
