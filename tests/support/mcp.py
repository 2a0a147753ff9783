"""The official MCP client against a served gateway, over HTTP or the stdio connector."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

CLI = str(Path(sys.executable).with_name("nodedc-gateway"))


@contextlib.asynccontextmanager
async def http_client(
    url: str,
    token: str,
    mode: Literal["legacy", "auto"] = "auto",
    failures: list[Any] | None = None,
) -> AsyncIterator[Client]:
    """`failures`, when given, collects every HTTP response of status 400 or more (body
    read): the SDK reports a 401 and a 500 alike, as one internal JSON-RPC error."""
    http = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"})
    if failures is not None:

        async def keep(response: Any) -> None:
            if response.status_code >= 400:
                await response.aread()
                failures.append(response)

        http.event_hooks["response"].append(keep)
    async with Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client:
        yield client


@contextlib.asynccontextmanager
async def stdio_client(config_dir: Path, **env: str) -> AsyncIterator[Client]:
    """`nodedc-gateway stdio` as a subprocess, reading the token `connect` stored."""
    environment = {**os.environ, "NODEDC_CONFIG_DIR": str(config_dir), **env}
    environment.pop("NODEDC_AGENT_TOKEN", None) if "NODEDC_AGENT_TOKEN" not in env else None
    params = StdioServerParameters(command=CLI, args=["stdio"], env=environment)
    async with Client(params) as client:
        yield client


def structured(result: Any) -> dict[str, Any]:
    assert result.structured_content is not None, result
    return dict(result.structured_content)
