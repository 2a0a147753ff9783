"""The gateway's MCP server (official SDK, `MCPServer`): tools of CONTRACT §4 over the shared
pipeline. This module is the one place domain errors become MCP tool errors."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

import attrs
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, ListToolsResult, TextContent

from nodedc_gateway import __version__
from nodedc_gateway.application.pipeline import AdmittedCall, AgentAction, AgentCaller
from nodedc_gateway.application.tools import TOOLS, build_tool
from nodedc_gateway.domain.errors import GatewayError, ValidationFailed
from nodedc_gateway.domain.operations import CATALOGUE, tools_usable_with
from nodedc_gateway.entrypoints.bootstrap import Services
from nodedc_gateway.entrypoints.libraries import LEFT_OUT, without
from nodedc_gateway.entrypoints.logs import get_logger
from nodedc_gateway.entrypoints.mcp.instructions import INSTRUCTIONS
from nodedc_gateway.entrypoints.mcp.tools import DECLARATIONS, ToolDeclaration
from nodedc_gateway.entrypoints.observability import Metrics
from nodedc_gateway.entrypoints.schemas import json_schema

SERVER_NAME = "nodedc-agent-gateway"
#: The agent the `/mcp` endpoint authenticated for the request being served (`acting_as`).
_CALLER: ContextVar[AgentCaller | None] = ContextVar("nodedc_mcp_caller", default=None)
#: The tool call the endpoint admitted for that request, if it was one (`acting_as`).
_ADMITTED: ContextVar[AdmittedToolCall | None] = ContextVar("nodedc_mcp_admitted", default=None)
log = get_logger("nodedc_gateway.mcp")
Dispatch = Callable[[Context, str], Awaitable[CallToolResult]]


def error_result(error: GatewayError) -> CallToolResult:
    """A business failure as the contract shows it: `isError` with `{"error": {...}}`."""
    payload = {"error": error.as_payload()}
    return CallToolResult(
        is_error=True,
        structured_content=payload,
        content=[TextContent(type="text", text=json.dumps(payload, ensure_ascii=False))],
    )


def internal_error_result() -> CallToolResult:
    payload = {
        "error": {
            "code": "internal_error",
            "message": "The gateway failed unexpectedly; retry later or tell the agent's owner.",
        }
    }
    return CallToolResult(
        is_error=True,
        structured_content=payload,
        content=[TextContent(type="text", text=json.dumps(payload))],
    )


def ok_result(body: Mapping[str, Any]) -> CallToolResult:
    return CallToolResult(
        structured_content=dict(body),
        content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
    )


@attrs.define
class AdmittedToolCall:
    """A `tools/call` whose admission (authenticated, budget spent, key claimed, in one
    step) the endpoint started before the SDK read the request: it runs while the SDK
    parses and validates, and the tool awaits it instead of starting over. Until it has
    succeeded nothing runs and nothing is answered (the endpoint holds the SDK's answer;
    it answers a failed admission itself). `taken` tells the endpoint, once the SDK is
    done, whether the call ran at all.

    When `defer` (the process serves no other tool call: the loop would otherwise wait
    idle on the database), a call that ran hands the endpoint its closing record still
    being written (`closing`): the endpoint holds the SDK's answer until it is done. With
    other calls in flight they keep the loop busy while the record is written, and a
    deferred record would only add its own task to their work (16 clients on one agent:
    2-3 % fewer calls per second). When it failed (`closing_failed`), the endpoint has
    the SDK answer the request again, and the tool then answers `internal_error`, as it
    did when the record failed before it answered."""

    name: str
    action: AgentAction[Any]
    admission: asyncio.Future[AdmittedCall]
    defer: bool = False
    taken: bool = False
    closing: asyncio.Future[None] | None = None

    @property
    def closing_failed(self) -> bool:
        """Whether the call's closing record was deferred and failed."""
        closing = self.closing
        return (
            closing is not None
            and closing.done()
            and not closing.cancelled()
            and closing.exception() is not None
        )

    async def caller(self) -> AgentCaller:
        """The admitted agent, once the admission is done; raises what it raised."""
        return (await self.admission).caller

    def take(self, name: str) -> AdmittedCall | None:
        """The admission, for the tool it was made for, once (after `caller`)."""
        if self.taken or name != self.name or not self.admission.done():
            return None
        self.taken = True
        return self.admission.result()


@contextlib.contextmanager
def acting_as(
    caller: AgentCaller | None, admitted: AdmittedToolCall | None = None
) -> Iterator[None]:
    """Serve one HTTP request as `caller` (or as the agent `admitted` admits): the tools
    see it, typed, and nothing else."""
    reset = _CALLER.set(caller)
    reset_admitted = _ADMITTED.set(admitted)
    try:
        yield
    finally:
        _ADMITTED.reset(reset_admitted)
        _CALLER.reset(reset)


def usable_tool_names(caller: AgentCaller) -> frozenset[str]:
    held = caller.index.held_scopes
    return frozenset(op.name for op in tools_usable_with(held) if op.name in TOOLS)


class ToolDispatcher:
    """Runs tool calls through the pipeline, and gates what each caller may see."""

    def __init__(self, services: Callable[[], Services], metrics: Metrics | None) -> None:
        self._services = services
        self._metrics = metrics

    async def dispatch(self, ctx: Context, name: str) -> CallToolResult:
        raw = dict((ctx.request_context.params or {}).get("arguments") or {})
        pending = _ADMITTED.get()
        if pending is not None and pending.closing_failed:
            return internal_error_result()  # the call ran; its record failed (logged)
        try:
            caller = _CALLER.get() or (await pending.caller() if pending is not None else None)
        except Exception:  # the endpoint answers a failed admission itself
            return internal_error_result()  # (never sent: see AdmittedToolCall)
        if caller is None:  # only reachable past the ASGI bearer check
            return error_result(ValidationFailed.field("authorization", "no agent token"))
        svc = self._services()
        label: str | None = "ok"
        admitted = pending.take(name) if pending is not None else None
        try:
            if admitted is not None and pending is not None:
                # The closing record may be written while the SDK makes the answer,
                # which the endpoint then holds until it is done.
                outcome = await svc.pipeline.run_agent_admitted(
                    admitted, pending.action, deferred=pending.defer
                )
                if outcome.closing is not None:
                    pending.closing = outcome.closing
                    outcome.closing.add_done_callback(functools.partial(self._closed, name))
                    label = None  # counted once the record is written
            else:
                outcome = await svc.pipeline.run_as(caller, build_tool(svc.tools, name, raw))
        except GatewayError as error:
            label = str(error.code)
            return error_result(error)
        except Exception:
            label = "internal_error"
            log.exception("tool call failed unexpectedly", tool=name)
            return internal_error_result()
        finally:
            if label is not None:
                self._count(name, label)
        body = dict(outcome.body)
        if CATALOGUE[name].is_write:
            body["replayed"] = outcome.replayed
            if outcome.replayed:
                self._count(name, "replayed")
        return ok_result(body)

    async def gatekeeper(self, ctx: Any, call_next: Any) -> Any:
        """Tools are listed only if the caller could ever use them."""
        caller = _CALLER.get()
        result = await call_next(ctx)
        if ctx.method == "tools/list" and caller is not None:
            visible = usable_tool_names(caller)
            if isinstance(result, ListToolsResult):
                return result.model_copy(
                    update={"tools": [t for t in result.tools if t.name in visible]}
                )
            if isinstance(result, dict) and isinstance(result.get("tools"), list):
                # The chain hands back the wire form: filter it as such.
                return {**result, "tools": [t for t in result["tools"] if t.get("name") in visible]}
        return result

    def _closed(self, tool: str, closing: asyncio.Future[None]) -> None:
        """Count a call whose closing record was deferred, once it is written or failed."""
        error = None if closing.cancelled() else closing.exception()
        if closing.cancelled() or error is not None:
            log.error("tool call failed unexpectedly", tool=tool, exc_info=error)
            self._count(tool, "internal_error")
        else:
            self._count(tool, "ok")

    def _count(self, tool: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.tool_call(tool, outcome)


def build_mcp_server(
    services: Callable[[], Services], metrics: Metrics | None = None
) -> MCPServer[Any]:
    """The MCP server; `services()` gives the running app's services at call time."""
    dispatcher = ToolDispatcher(services, metrics)
    with without(LEFT_OUT["mcp"]):  # its console handler, for a process logging nowhere
        return MCPServer(
            name=SERVER_NAME,
            title="NODE.DC Agent Gateway",
            instructions=INSTRUCTIONS,
            version=__version__,
            tools=[mcp_tool(declaration, dispatcher.dispatch) for declaration in DECLARATIONS],
            middleware=[dispatcher.gatekeeper],
            log_level="WARNING",
        )


class _NoArguments(ArgModelBase):
    """What the SDK hands the handler: nothing. The arguments are checked once, by the
    tool's own model inside the pipeline, so a refusal is audited."""


@attrs.frozen
class _Handler:
    """The one body every tool has: hand the call, by name, to the dispatcher."""

    dispatch: Dispatch
    name: str

    async def __call__(self, ctx: Context) -> CallToolResult:
        return await self.dispatch(ctx, self.name)


def mcp_tool(declaration: ToolDeclaration, dispatch: Dispatch) -> Tool:
    """The SDK's tool for a declaration: its input schema from the argument model, its
    output schema from the result Struct (the result is built by hand, as CallToolResult),
    its annotations from the operation's kind."""
    return Tool(
        fn=_Handler(dispatch, declaration.name),
        name=declaration.name,
        title=declaration.title,
        description=declaration.description,
        parameters=declaration.input_schema,
        fn_metadata=FuncMetadata(
            arg_model=_NoArguments, output_schema=json_schema(declaration.result)
        ),
        is_async=True,
        context_kwarg="ctx",
        annotations=declaration.annotations,
    )
