"""The gateway's MCP server (official SDK, `MCPServer`): tools of CONTRACT §4 over the shared
pipeline. This module is the one place domain errors become MCP tool errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ListToolsResult, TextContent
from pydantic import ValidationError

from nodedc_gateway import __version__
from nodedc_gateway.application.pipeline import AgentAction, AgentCall, AgentCaller, Located
from nodedc_gateway.application.tools import TOOLS, build_tool
from nodedc_gateway.domain.errors import FieldError, GatewayError, ValidationFailed
from nodedc_gateway.domain.operations import CATALOGUE, Operation, tools_usable_with
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.bootstrap import Services
from nodedc_gateway.entrypoints.logs import get_logger
from nodedc_gateway.entrypoints.mcp.instructions import INSTRUCTIONS
from nodedc_gateway.entrypoints.mcp.tools import ToolSpec, tool_specs
from nodedc_gateway.entrypoints.observability import Metrics
from nodedc_gateway.entrypoints.schemas import json_schema

SERVER_NAME = "nodedc-agent-gateway"
CALLER_KEY = "agent_caller"
TOKEN_KEY = "agent_token"  # noqa: S105 - a dictionary key, not a secret
log = get_logger("nodedc_gateway.mcp")


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


class _RefusedArguments(AgentAction[Any]):
    """Arguments the tool's schema refused, run through the pipeline so the refusal is
    rate limited and audited like any other."""

    operation: ClassVar[Operation]

    def __init__(self, operation: Operation, error: ValidationFailed) -> None:
        self.operation = operation  # type: ignore[misc]  # per instance here
        self.error = error

    def arguments(self) -> Mapping[str, Any]:
        return {}

    async def locate(self, call: AgentCall) -> Located:
        raise self.error

    async def act(self, call: AgentCall, located: Located) -> Any:  # pragma: no cover
        raise self.error


def _pydantic_errors(error: ValidationError) -> ValidationFailed:
    return ValidationFailed(
        [
            FieldError(".".join(str(p) for p in item["loc"]) or "arguments", item["msg"])
            for item in error.errors(include_url=False, include_input=False)
        ]
    )


def _scope_state(ctx: Any) -> dict[str, Any]:
    request = getattr(ctx, "request", None)
    scope = getattr(request, "scope", None) or {}
    state: dict[str, Any] = scope.get("state") or {}
    return state


def usable_tool_names(caller: AgentCaller) -> frozenset[str]:
    held = caller.index.held_scopes
    return frozenset(op.name for op in tools_usable_with(held) if op.name in TOOLS)


class ToolDispatcher:
    """Runs tool calls through the pipeline, and gates what each caller may see."""

    def __init__(self, services: Callable[[], Services], metrics: Metrics | None) -> None:
        self._services = services
        self._metrics = metrics
        self._specs: dict[str, ToolSpec] = {}
        self._arg_models: dict[str, Any] = {}

    def register(self, specs: list[ToolSpec], tools: list[Tool]) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._arg_models = {tool.name: tool.fn_metadata.arg_model for tool in tools}

    async def dispatch(self, ctx: Context, name: str) -> CallToolResult:
        state = _scope_state(ctx.request_context)
        raw = dict((ctx.request_context.params or {}).get("arguments") or {})
        caller: AgentCaller | None = state.get(CALLER_KEY)
        token: SecretStr | None = state.get(TOKEN_KEY)
        if caller is None or token is None:  # only reachable past the ASGI bearer check
            return error_result(ValidationFailed.field("authorization", "no agent token"))
        svc = self._services()
        label = "ok"
        try:
            outcome = await svc.pipeline.run_agent(token, build_tool(svc.tools, name, raw), caller)
        except GatewayError as error:
            label = str(error.code)
            return error_result(error)
        except Exception:
            label = "internal_error"
            log.exception("tool call failed unexpectedly", tool=name)
            return internal_error_result()
        finally:
            self._count(name, label)
        body = dict(outcome.body)
        if self._specs[name].writes:
            body["replayed"] = outcome.replayed
            if outcome.replayed:
                self._count(name, "replayed")
        return ok_result(body)

    async def gatekeeper(self, ctx: Any, call_next: Any) -> Any:
        """Tools are listed only if the caller could ever use them; arguments the schema
        refuses become an audited `validation_failed`, like every other refusal."""
        state = _scope_state(ctx)
        caller: AgentCaller | None = state.get(CALLER_KEY)
        if ctx.method == "tools/call" and caller is not None and isinstance(ctx.params, Mapping):
            refusal = await self._check_arguments(state, caller, ctx.params)
            if refusal is not None:
                return refusal
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

    async def _check_arguments(
        self, state: Mapping[str, Any], caller: AgentCaller, params: Mapping[str, Any]
    ) -> CallToolResult | None:
        name = str(params.get("name"))
        model = self._arg_models.get(name)
        arguments = params.get("arguments") or {}
        if model is None:
            return None
        try:
            model.model_validate(arguments if isinstance(arguments, dict) else {})
        except ValidationError as error:
            refused = _RefusedArguments(CATALOGUE[name], _pydantic_errors(error))
            try:
                await self._services().pipeline.run_agent(state[TOKEN_KEY], refused, caller)
            except GatewayError as failure:
                self._count(name, str(failure.code))
                return error_result(failure)
        return None

    def _count(self, tool: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.tool_calls.labels(tool, outcome).inc()


def build_mcp_server(
    services: Callable[[], Services], metrics: Metrics | None = None
) -> MCPServer[Any]:
    """The MCP server; `services()` gives the running app's services at call time."""
    dispatcher = ToolDispatcher(services, metrics)
    specs = tool_specs(dispatcher.dispatch)
    tools = [_tool(spec) for spec in specs]
    dispatcher.register(specs, tools)
    return MCPServer(
        name=SERVER_NAME,
        title="NODE.DC Agent Gateway",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=tools,
        middleware=[dispatcher.gatekeeper],
        log_level="WARNING",
    )


def _tool(spec: ToolSpec) -> Tool:
    tool = Tool.from_function(
        spec.fn,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        annotations=spec.annotations,
    )
    # The result is built by hand (CallToolResult), so the schema is published from the
    # contract's Struct rather than derived from a return annotation.
    tool.fn_metadata.output_schema = json_schema(spec.output)
    return tool
