"""The local side of an agent's connection: `connect` trades a pairing code for a token and
stores it (0600); `stdio` is an MCP stdio server that forwards every tool call to the remote
gateway with that token.

The stdio connector is an SDK server on one side and an SDK client on the other, so each
side negotiates its own protocol version: a 2025-era stdio client can talk to the gateway
over 2026-07-28 HTTP and the other way round.

Starting fast matters: Codex waits about 0.85 s for an optional server's `initialize`
answer, and importing the MCP SDK alone takes longer. So this module imports nothing heavy
(no SDK, no httpx, nothing of the served gateway): `serve_stdio` answers the `initialize`
handshake itself, as the SDK server would, and only then imports the SDK side
(`connector_bridge`), which serves everything else.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from nodedc_gateway import __version__
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.mcp.instructions import INSTRUCTIONS

if TYPE_CHECKING:
    import httpx

CONFIG_DIR_ENV = "NODEDC_CONFIG_DIR"
TOKEN_ENV = "NODEDC_AGENT_TOKEN"  # noqa: S105 - the variable's name
GATEWAY_ENV = "NODEDC_GATEWAY_URL"
CREDENTIALS_FILE = "credentials.json"
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
    import httpx

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


def default_config_dir() -> Path:
    """Where the token lives when nothing in the environment moves it."""
    return Path.home() / ".config" / "nodedc-gateway"


def _toml_string(value: str) -> str:
    # A JSON string is a valid TOML basic string (the same escapes).
    return json.dumps(value, ensure_ascii=False)


def codex_config(mcp_url: str, command: str | None, credentials_dir: Path | None = None) -> str:
    """The Codex `config.toml` entries, working as printed: the stdio connector (token from
    the stored file) and, as an alternative, Streamable HTTP with the token in an
    environment variable.

    Codex starts a stdio server with only a short list of environment variables (HOME,
    PATH, …), so a token stored elsewhere than the default (`NODEDC_CONFIG_DIR` or
    `XDG_CONFIG_HOME` at `connect`) is found only if the entry names the place itself.
    `required = true` makes Codex wait for the gateway's tools at start and stop with an
    error when they cannot be had, instead of running on silently without them."""
    lines = []
    if command:
        lines += [
            "[mcp_servers.nodedc]",
            f"command = {_toml_string(command)}",
            'args = ["stdio"]',
            "required = true",
        ]
        if credentials_dir is not None and credentials_dir != default_config_dir():
            lines.append(f"env = {{ {CONFIG_DIR_ENV} = {_toml_string(str(credentials_dir))} }}")
        lines += ["", "# or, over HTTP:"]
    http = [
        "[mcp_servers.nodedc]",
        f"url = {_toml_string(mcp_url)}",
        f"bearer_token_env_var = {_toml_string(TOKEN_ENV)}",
        "required = true",
    ]
    lines += [("# " if command else "") + line for line in http]
    return "\n".join(lines) + "\n"


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


# --- answering `initialize` before the SDK is imported -------------------------------------

#: The protocol versions the SDK server negotiates by the `initialize` handshake, oldest
#: first (`mcp_types.version.HANDSHAKE_PROTOCOL_VERSIONS`; a test keeps them equal).
HANDSHAKE_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25")
SERVER_NAME = "nodedc-gateway-connector"
SERVER_TITLE = "NODE.DC Agent Gateway (local connector)"


def initialize_answer(line: bytes) -> dict[str, Any] | None:
    """The answer the SDK server gives to this `initialize` request, or None when `line` is
    anything else (the SDK then answers it, as it would have anyway)."""
    try:
        request = json.loads(line)
    except ValueError:
        return None
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0":
        return None
    ident = request.get("id")
    params = request.get("params")
    if (
        request.get("method") != "initialize"
        or isinstance(ident, bool)
        or not isinstance(ident, int | str)
        or not isinstance(params, dict)
        or not isinstance(params.get("protocolVersion"), str)
        or not isinstance(params.get("capabilities"), dict)
        or not isinstance(params.get("clientInfo"), dict)
        or not isinstance(params["clientInfo"].get("name"), str)
        or not isinstance(params["clientInfo"].get("version"), str)
    ):
        return None
    version = params["protocolVersion"]
    return {
        "jsonrpc": "2.0",
        "id": ident,
        "result": {
            "capabilities": {"tools": {"listChanged": False}},
            "instructions": INSTRUCTIONS,
            "protocolVersion": version if version in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1],
            "serverInfo": {"name": SERVER_NAME, "title": SERVER_TITLE, "version": __version__},
        },
    }


def read_first_line(fd: int = 0) -> bytes:
    """The first line on `fd`, read byte by byte: the SDK's transport then reads the same
    descriptor itself, so nothing after the line may sit in a buffer of ours."""
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return bytes(line)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def serve_stdio(mcp_url: str, token: SecretStr) -> None:
    """The stdio connector: answer `initialize` at once, then import the SDK and serve."""
    first = read_first_line()
    answer = initialize_answer(first)
    if answer is not None:
        write_all(1, json.dumps(answer, separators=(",", ":")).encode() + b"\n")
    import anyio

    from nodedc_gateway.entrypoints.connector_bridge import run_stdio

    anyio.run(run_stdio, mcp_url, token, first, answer)
