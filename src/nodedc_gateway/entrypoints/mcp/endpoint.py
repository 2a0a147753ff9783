"""`/mcp` over Streamable HTTP: the bearer check in front of the SDK's app, and its mount
into the Litestar application.

Every HTTP request authenticates its agent token again, so a token revoked mid-session is
refused on the very next request. A `tools/call` is admitted here in the same step
(`Pipeline.admit`: its budget spent and its idempotency key claimed with the token's
read), so the SDK's dispatch goes straight to the tool. The admission's statement is sent
before the SDK reads the request, and the database answers it while the SDK parses and
validates; the tool waits for it, and the SDK's answer is held until it is known
(`_Gate`), and then until the call's closing record, when it is written while the SDK
makes the answer (PostgreSQL), is on disk. A missing or bad token is HTTP 401 with a
`WWW-Authenticate: Bearer` challenge naming the Protected Resource Metadata (RFC 9728
§5.1, how an OAuth-capable MCP client discovers where to sign in), answered here instead
of anything the SDK would say.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar, asgi
from litestar.handlers.asgi_handlers import ASGIRouteHandler
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from nodedc_gateway.application.pipeline import AgentAction, AgentCaller, Pipeline
from nodedc_gateway.application.tools import build_tool
from nodedc_gateway.domain.errors import GatewayError, Unauthenticated
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tokens import is_well_formed_token
from nodedc_gateway.entrypoints.bootstrap import Services
from nodedc_gateway.entrypoints.http.problems import TITLES, TYPE_BASE
from nodedc_gateway.entrypoints.mcp.server import AdmittedToolCall, acting_as, build_mcp_server
from nodedc_gateway.entrypoints.oauth.urls import challenge
from nodedc_gateway.entrypoints.observability import Metrics
from nodedc_gateway.entrypoints.settings import Settings

MCP_PATH = "/mcp"
#: The operation a refused token is audited under, whatever the request was.
MCP_REQUEST = "mcp_request"
MAX_MCP_BODY_BYTES = 1024 * 1024


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """Host and Origin checks against DNS rebinding: loopback, the public host, and the
    configured origins."""
    public = urlsplit(settings.public_url)
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost"]
    if public.netloc:
        hosts += [public.netloc, f"{public.hostname}:*"]
    origins = [*settings.allowed_origins, f"{public.scheme}://{public.netloc}"]
    origins += ["http://127.0.0.1:*", "http://localhost:*"]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class McpEndpoint:
    """ASGI: authenticate the bearer token, then hand the request to the SDK's app."""

    def __init__(self, app: Any, services: Callable[[], Services], challenge: str) -> None:
        self._app = app
        self._services = services
        self._challenge = challenge.encode()
        #: Tool calls this process is serving now (see `AdmittedToolCall.defer`).
        self._calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = _bearer(scope)
        if token is None:
            await _unauthorized(
                send,
                self._challenge,
                "Send the agent token as `Authorization: Bearer ndca_…`, or sign in with "
                "OAuth (the challenge names the resource metadata).",
            )
            return
        pipeline = self._services().pipeline
        body: bytes | None = None
        if scope["method"] == "POST":
            body, receive = await _buffered(receive, MAX_MCP_BODY_BYTES)
        caller: AgentCaller | None = None
        admitted: AdmittedToolCall | None = None
        call = self._tool_call(body)
        if call is None:
            try:
                caller = await pipeline.authenticate(SecretStr(token), MCP_REQUEST)
            except Unauthenticated:
                await self._unauthenticated(send)
                return
        elif not is_well_formed_token(token):
            await self._unauthenticated(send)  # no admission to wait for
            return
        else:
            name, action = call
            admission = asyncio.ensure_future(pipeline.admit(SecretStr(token), action, MCP_REQUEST))
            # Alone, the call's record is written while the SDK makes its answer; with
            # others in flight, they keep the loop busy meanwhile anyway.
            admitted = AdmittedToolCall(name, action, admission, defer=self._calls == 0)
            self._calls += 1
        gate = _Gate(send, admitted, self._unauthenticated)
        try:
            if admitted is not None:
                # One turn of the loop: the admission sends its statement (on SQLite,
                # hands its transaction to its thread), and the SDK reads the request
                # meanwhile.
                await asyncio.sleep(0)
            if scope["method"] != "POST":
                # Stateless JSON responses: no server-to-client stream and no session to
                # end. The SDK would hold a GET open forever with nothing ever to send; the
                # spec's answer for a server without that stream is 405 (Streamable HTTP,
                # "Listening for Messages from the Server").
                await _not_allowed(send)
                return
            # Litestar strips the mount prefix; the SDK's app routes on the full path.
            scope = {**scope, "path": MCP_PATH, "raw_path": MCP_PATH.encode(), "root_path": ""}
            with acting_as(caller, admitted):  # the caller travels typed; the token stops here
                await self._app(scope, receive, gate.send)
                if admitted is not None and admitted.closing_failed:
                    # The tool ran, and its closing record failed: the SDK's answer was
                    # held and dropped. The SDK answers the same request again, and the
                    # tool answers `internal_error` this time (it runs nothing).
                    await self._app(scope, _once(body), send)
            gate.raise_failure()
        finally:
            if admitted is not None:
                self._calls -= 1
                await _settle(pipeline, admitted)

    async def _unauthenticated(self, send: Any) -> None:
        await _unauthorized(
            send, self._challenge, "The agent token is unknown, revoked or expired."
        )

    def _tool_call(self, body: bytes | None) -> tuple[str, AgentAction[Any]] | None:
        """The tool call a request body holds, built as the tool will run it; None when it
        holds none or one that cannot be built (the SDK and the tool then answer it as
        they would have, and the request is authenticated alone)."""
        message = _json(body)
        params = message.get("params") if message.get("method") == "tools/call" else None
        if not isinstance(params, dict):
            return None
        name, arguments = params.get("name"), params.get("arguments") or {}
        if not isinstance(name, str) or not isinstance(arguments, dict):
            return None
        try:
            return name, build_tool(self._services().tools, name, arguments)
        except GatewayError:
            return None


class _Gate:
    """The SDK's answer to an admitted `tools/call`, held until the admission is known:
    passed on once it succeeded; replaced by the 401 challenge when the token was not
    usable; dropped when the admission failed otherwise, whose error `raise_failure` then
    raises to the application (which answers as for any error before a response). Every
    other request's answer passes straight through."""

    def __init__(
        self,
        send: Any,
        admitted: AdmittedToolCall | None,
        unauthenticated: Callable[[Any], Awaitable[None]],
    ) -> None:
        self._send = send
        self._admitted = admitted
        self._unauthenticated = unauthenticated
        self._checked = admitted is None
        self._dropping = False
        self._failure: BaseException | None = None

    async def send(self, message: Any) -> None:
        if not self._checked:
            self._checked = True
            assert self._admitted is not None
            try:
                await self._admitted.admission
            except Unauthenticated:
                self._dropping = True
                await self._unauthenticated(self._send)
            except Exception as error:  # raised again by raise_failure
                self._dropping, self._failure = True, error
            else:
                await self._closed(self._admitted)
        if not self._dropping:
            await self._send(message)

    async def _closed(self, admitted: AdmittedToolCall) -> None:
        """Wait for the call's closing record, if it ran one: the answer leaves only once
        the record is written; if it failed, this answer is dropped (and the request
        answered again: `McpEndpoint`)."""
        if admitted.closing is None:
            return
        try:
            await admitted.closing
        except Exception:  # logged and counted by the dispatcher; its key freed
            self._dropping = True  # `admitted.closing_failed` now says so too

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


async def _settle(pipeline: Pipeline, admitted: AdmittedToolCall) -> None:
    """Once the SDK is done: wait for an admission still running (a request the SDK
    answered without a word sent), and free the key of one that succeeded but whose call
    never ran (a malformed request, say), so a retry is not held in flight; wait for a
    closing record still being written (a client gone before its answer)."""
    try:
        ticket = await admitted.admission
    except Exception:  # answered (or raised) already: nothing claimed
        return
    if not admitted.taken:
        await pipeline.abandon(ticket)
    if admitted.closing is not None:
        with contextlib.suppress(Exception):  # logged and counted by the dispatcher
            await admitted.closing


def _once(body: bytes | None) -> Any:
    """An ASGI `receive` that hands over `body` once again, then the client's end."""
    messages = [{"type": "http.request", "body": body or b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop() if messages else {"type": "http.disconnect"}

    return receive


def _json(body: bytes | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # the SDK answers malformed JSON itself
        return {}
    return message if isinstance(message, dict) else {}


async def _buffered(receive: Any, limit: int) -> tuple[bytes | None, Any]:
    """Read the request body up to `limit` bytes, and a `receive` that hands the SDK every
    message read here before going on to the client's. The body is None when it is over
    the limit or the client went away (the SDK then answers as it would have)."""
    read: deque[dict[str, Any]] = deque()
    size, complete = 0, False
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > limit:
            break
        if not message.get("more_body", False):
            complete = True
            break
    body = b"".join(m.get("body", b"") for m in read) if complete else None

    async def replay() -> Any:
        return read.popleft() if read else await receive()

    return body, replay


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            credential = credential.strip()
            if scheme.lower() == "bearer" and credential:
                return str(credential)
    return None


async def _unauthorized(send: Any, challenge: bytes, detail: str) -> None:
    await _problem(send, 401, "unauthenticated", detail, (b"www-authenticate", challenge))


async def _not_allowed(send: Any) -> None:
    detail = (
        "The MCP endpoint takes POST only: responses are JSON, with no stream "
        "to listen on and no session to end."
    )
    await _problem(send, 405, "not_found", detail, (b"allow", b"POST"))


async def _problem(
    send: Any, status: int, code: str, detail: str, header: tuple[bytes, bytes]
) -> None:
    """A problem+json answer sent straight to ASGI (before the MCP app is reached)."""
    body = json.dumps(
        {
            "type": TYPE_BASE + code,
            "title": TITLES[status],
            "status": status,
            "detail": detail,
            "code": code,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                header,
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class McpMount:
    """The MCP server, its ASGI app, the Litestar mount and the lifespan running it."""

    def __init__(self, settings: Settings, metrics: Metrics | None) -> None:
        self._app: Litestar | None = None
        self.server: MCPServer[Any] = build_mcp_server(self.services, metrics)
        sdk_app = self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            max_request_body_size=MAX_MCP_BODY_BYTES,
            transport_security=transport_security(settings),
        )
        self.endpoint = McpEndpoint(sdk_app, self.services, challenge(settings))

    def services(self) -> Services:
        assert self._app is not None, "the MCP mount is used before the app started"
        services: Services = self._app.state.services
        return services

    def route(self) -> ASGIRouteHandler:
        endpoint = self.endpoint

        @asgi(MCP_PATH, is_mount=True, copy_scope=True, operation_id="mcp", include_in_schema=False)
        async def mcp(scope: Any, receive: Any, send: Any) -> None:
            await endpoint(scope, receive, send)

        return mcp

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        self._app = app
        async with self.server.session_manager.run():
            yield
