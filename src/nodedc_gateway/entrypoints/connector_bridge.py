"""The SDK side of the stdio connector: an MCP server on stdio whose handlers call the
gateway through an MCP client, one session per call.

Imported only after `connector.serve_stdio` has answered `initialize` (the SDK takes longer
to import than Codex waits): the request it answered is replayed into the SDK server, so
the session state is the SDK's own, and the SDK's answer to it is dropped, not sent twice.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import anyio
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from nodedc_gateway import __version__
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.connector import REVOKED, SERVER_NAME, SERVER_TITLE
from nodedc_gateway.entrypoints.mcp.instructions import INSTRUCTIONS

HTTP_UNAUTHORIZED = 401


class RemoteGateway:
    """The gateway seen from the connector: one client session per call, opened and closed
    in the task that makes the call (anyio's structured concurrency requires it), so a
    broken or revoked connection never outlives the call that met it."""

    def __init__(self, mcp_url: str, token: SecretStr) -> None:
        self._mcp_url = mcp_url
        self._token = token

    async def call(self, make: Any) -> Any:
        """Run `make(client)` against the gateway."""
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {self._token.reveal()}"})
        refused: list[int] = []

        async def watch(response: Any) -> None:
            # The SDK reports any non-JSON error status generically; a 401 must be told apart.
            if response.status_code == HTTP_UNAUTHORIZED:
                refused.append(response.status_code)

        http.event_hooks["response"].append(watch)
        try:
            async with Client(
                streamable_http_client(self._mcp_url, http_client=http), mode="auto"
            ) as client:
                return await make(client)
        except Exception as error:
            if refused:
                raise _Revoked() from None
            if isinstance(error, MCPError):
                raise
            raise MCPError(
                code=types.INTERNAL_ERROR,
                message=f"Cannot reach the gateway at {self._mcp_url} ({type(error).__name__}).",
            ) from None


class _Revoked(Exception):
    pass


def build_connector(remote: RemoteGateway) -> Server[Any]:
    async def list_tools(
        ctx: Any, params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        try:
            tools = await remote.call(lambda client: client.list_tools())
        except _Revoked:
            raise MCPError(code=types.INVALID_REQUEST, message=REVOKED) from None
        return types.ListToolsResult(tools=tools.tools)

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        try:
            result: types.CallToolResult = await remote.call(
                lambda client: client.call_tool(params.name, params.arguments or {})
            )
        except _Revoked:
            payload = {"error": {"code": "unauthenticated", "message": REVOKED}}
            return types.CallToolResult(
                is_error=True,
                structured_content=payload,
                content=[types.TextContent(type="text", text=json.dumps(payload))],
            )
        return result

    return Server(
        SERVER_NAME,
        version=__version__,
        title=SERVER_TITLE,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def run_stdio(
    mcp_url: str,
    token: SecretStr,
    first_line: bytes = b"",
    answered: dict[str, Any] | None = None,
) -> None:
    """Serve the connector on stdio. `first_line` was read from stdin already (it goes to
    the server first); `answered` is the answer already sent to it, if any."""
    server = build_connector(RemoteGateway(mcp_url, token))
    options = server.create_initialization_options()
    async with stdio_server() as (stdin_messages, stdout_messages):
        inbound_send, inbound = anyio.create_memory_object_stream[SessionMessage | Exception](0)
        outbound, outbound_receive = anyio.create_memory_object_stream[SessionMessage](0)

        async def read() -> None:
            async with inbound_send:
                if first_line.strip():
                    await inbound_send.send(_parsed(first_line))
                async for message in stdin_messages:
                    await inbound_send.send(message)

        async def write() -> None:
            pending = answered
            async with outbound_receive, stdout_messages:
                async for message in outbound_receive:
                    if pending is not None and _answers(message, pending):
                        _check_same(message, pending)
                        pending = None
                        continue
                    await stdout_messages.send(message)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(read)
            tasks.start_soon(write)
            await server.run(inbound, outbound, options)
            tasks.cancel_scope.cancel()


def _parsed(line: bytes) -> SessionMessage | Exception:
    # As the SDK's stdio transport parses each line.
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except Exception as error:
        return error


def _answers(message: SessionMessage, answered: dict[str, Any]) -> bool:
    payload = message.message
    return getattr(payload, "id", None) == answered["id"] and hasattr(payload, "result")


def _check_same(message: SessionMessage, answered: dict[str, Any]) -> None:
    """The early answer must be the SDK's; say so on stderr (the client's log) if not."""
    own = message.message.model_dump(by_alias=True, exclude_unset=True, mode="json")
    if own != answered:
        print(
            "nodedc-gateway stdio: the early initialize answer differed from the SDK's: "
            f"sent {json.dumps(answered)[:400]}, the SDK's {json.dumps(own)[:400]}",
            file=sys.stderr,
        )
