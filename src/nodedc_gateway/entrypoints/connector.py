"""The local side of an agent's connection: `connect` trades a pairing code for a token and
stores it (0600); `stdio` is an MCP stdio server that forwards every tool call to the remote
gateway with that token.

The stdio connector is an SDK server on one side and an SDK client on the other, so each
side negotiates its own protocol version: a 2025-era stdio client can talk to the gateway
over 2026-07-28 HTTP and the other way round.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import attrs
import httpx
from mcp import Client, types
from mcp.client.streamable_http import streamable_http_client
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from nodedc_gateway import __version__
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.mcp.instructions import INSTRUCTIONS

CONFIG_DIR_ENV = "NODEDC_CONFIG_DIR"
TOKEN_ENV = "NODEDC_AGENT_TOKEN"  # noqa: S105 - the variable's name
GATEWAY_ENV = "NODEDC_GATEWAY_URL"
CREDENTIALS_FILE = "credentials.json"
HTTP_UNAUTHORIZED = 401
REVOKED = (
    "The gateway refused this agent's token (revoked or expired). Ask the agent's owner for "
    "a new pairing code and run `nodedc-gateway connect` again."
)


class ConnectorError(Exception):
    """Something the person running the connector must fix; the message says what."""


@attrs.frozen
class Credentials:
    gateway_url: str
    mcp_url: str
    agent_id: str
    token: SecretStr = attrs.field(repr=False)
    expires_at: str

    def as_json(self) -> dict[str, str]:
        return {
            "gateway_url": self.gateway_url,
            "mcp_url": self.mcp_url,
            "agent_id": self.agent_id,
            "token": self.token.reveal(),
            "expires_at": self.expires_at,
        }


def config_dir() -> Path:
    explicit = os.environ.get(CONFIG_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nodedc-gateway"


def credentials_path() -> Path:
    return config_dir() / CREDENTIALS_FILE


def store_credentials(credentials: Credentials, path: Path | None = None) -> Path:
    """Write the credentials atomically, readable by their owner only (0600)."""
    path = path or credentials_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".credentials-")
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(credentials.as_json(), handle)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_credentials(path: Path | None = None) -> Credentials | None:
    path = path or credentials_path()
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        return Credentials(
            gateway_url=data["gateway_url"],
            mcp_url=data["mcp_url"],
            agent_id=data["agent_id"],
            token=SecretStr(data["token"]),
            expires_at=data["expires_at"],
        )
    except (ValueError, KeyError, TypeError) as error:
        raise ConnectorError(
            f"{path} is not a credentials file this tool wrote ({type(error).__name__})"
        ) from None


def default_token_name() -> str:
    user = os.environ.get("USER") or os.environ.get("USERNAME") or "agent"
    return f"{user}@{socket.gethostname()}"[:100]


async def redeem(
    gateway_url: str, code: str, token_name: str, client: httpx.AsyncClient | None = None
) -> Credentials:
    """Trade a pairing code for an agent token at the gateway's public redeem route."""
    base = gateway_url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ConnectorError("--gateway must be the gateway's URL, like https://agents.nodedc.ru")
    async with AsyncExitStack() as stack:
        http = client
        if http is None:
            http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
        try:
            response = await http.post(
                f"{base}/v1/pairing/redeem", json={"code": code, "token_name": token_name}
            )
        except httpx.HTTPError as error:
            raise ConnectorError(
                f"Cannot reach the gateway at {base} ({type(error).__name__})."
            ) from None
    if response.status_code == 201:
        body = response.json()
        # The URL this person reached the gateway by is known to work; the gateway's own
        # idea of its public URL (body["mcp_url"]) may not be reachable from here.
        return Credentials(
            base, f"{base}/mcp", body["agent_id"], SecretStr(body["token"]), body["expires_at"]
        )
    detail = _problem_detail(response)
    if response.status_code == 429:
        retry = response.headers.get("retry-after", "a few")
        raise ConnectorError(f"Too many pairing attempts from here; retry in {retry} s.")
    raise ConnectorError(detail)


def _problem_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"The gateway answered HTTP {response.status_code}."
    return str(body.get("detail") or f"The gateway answered HTTP {response.status_code}.")


def codex_config(mcp_url: str, command: str | None) -> str:
    """The Codex `config.toml` entries: the stdio connector (token from the stored file)
    and, as an alternative, Streamable HTTP with the token in an environment variable."""
    stdio = ""
    if command:
        stdio = (
            f'[mcp_servers.nodedc]\ncommand = "{command}"\nargs = ["stdio"]\n\n# or, over HTTP:\n'
        )
    return (
        stdio
        + ("# " if command else "")
        + "[mcp_servers.nodedc]\n"
        + ("# " if command else "")
        + f'url = "{mcp_url}"\n'
        + ("# " if command else "")
        + f'bearer_token_env_var = "{TOKEN_ENV}"\n'
    )


# --- the stdio connector ------------------------------------------------------------------


def resolve_connection(gateway_url: str | None = None) -> tuple[str, SecretStr]:
    """The MCP URL and token to forward with: env `NODEDC_AGENT_TOKEN` (or the stored
    token) and `--gateway`/`NODEDC_GATEWAY_URL` (or the stored URL)."""
    stored = load_credentials()
    env_token = os.environ.get(TOKEN_ENV)
    token = SecretStr(env_token) if env_token else (stored.token if stored else None)
    url = gateway_url or os.environ.get(GATEWAY_ENV)
    mcp_url = (url.rstrip("/") + "/mcp") if url else (stored.mcp_url if stored else None)
    if token is None or mcp_url is None:
        raise ConnectorError(
            "No agent token: run `nodedc-gateway connect --gateway URL --code CODE` first, or set "
            f"{TOKEN_ENV} and --gateway/{GATEWAY_ENV}."
        )
    return mcp_url, token


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
        "nodedc-gateway-connector",
        version=__version__,
        title="NODE.DC Agent Gateway (local connector)",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def run_stdio(mcp_url: str, token: SecretStr) -> None:
    server = build_connector(RemoteGateway(mcp_url, token))
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())
