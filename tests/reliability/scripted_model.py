"""A scripted model on loopback for the real-client tests: no network, no real model.

It speaks just enough of two wire protocols for a client to run one task:

- the OpenAI Responses API (`POST …/responses`, streamed as server-sent events), which
  Codex uses through a `[model_providers.…]` entry;
- the Anthropic Messages API (`POST /v1/messages`, streamed), which Claude Code uses
  through `ANTHROPIC_BASE_URL`.

The script is stateless and reads the conversation it is sent: while no result of the
gateway's `create_issue` is in it, the model asks for that tool (through Claude Code's
`ToolSearch` first, which defers MCP tools); once the result is there it answers with a
short text and the turn ends. Every request and answer is appended to a transcript.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

SERVER = "nodedc"
TOOL = "create_issue"
SEARCH_ID = "toolu_scripted_search"
CREATE_ID = "toolu_scripted_create"
CODEX_CALL_ID = "call_scripted_create"
FINAL_TEXT = "The card is created."
NO_TOOL = "I was offered no create_issue tool of the gateway."
LONG_TEXT = 400


@attrs.define
class ScriptedModel:
    """An ASGI app; `arguments` are the `create_issue` arguments the model sends."""

    arguments: dict[str, Any]
    transcript: Path
    tool_results: list[str] = attrs.field(factory=list)
    tools_seen: list[str] = attrs.field(factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = (await receive())["type"]
                if event == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        try:
            request = json.loads(body) if body else {}
        except ValueError:
            request = {"unparsed": body.decode(errors="replace")}
        self._log(f">>> {scope['method']} {path}", request)
        if path.endswith("/responses"):
            events = self._codex(request)
        elif path.endswith("/messages/count_tokens"):
            await self._json(send, {"input_tokens": 1})
            return
        elif path.endswith("/messages"):
            if not request.get("stream"):
                await self._json(send, self._claude_message(request))
                return
            events = self._claude(request)
        else:
            await self._json(send, {"error": {"message": f"not scripted: {path}"}}, 404)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        text = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)
        self._log("<<< stream", text)
        await send({"type": "http.response.body", "body": text.encode()})

    # --- the Responses API (Codex) ---------------------------------------------------------

    def _codex(self, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        self.tools_seen.extend(_codex_tool_names(request.get("tools") or []))
        outputs = [
            item
            for item in request.get("input") or []
            if isinstance(item, dict)
            and str(item.get("type", "")).endswith("_output")
            and item.get("call_id") == CODEX_CALL_ID
        ]
        created = {"type": "response.created", "response": {"id": "resp_scripted"}}
        if outputs:
            self.tool_results.extend(json.dumps(o.get("output")) for o in outputs)
            item: dict[str, Any] = {
                "type": "message",
                "role": "assistant",
                "id": "msg_scripted",
                "content": [{"type": "output_text", "text": FINAL_TEXT, "annotations": []}],
            }
        elif (tool := _codex_tool(request.get("tools") or [])) is None:
            item = {
                "type": "message",
                "role": "assistant",
                "id": "msg_scripted",
                "content": [{"type": "output_text", "text": NO_TOOL, "annotations": []}],
            }
        else:
            item = {"type": "function_call", "call_id": CODEX_CALL_ID, "id": "fc_scripted"}
            item.update(tool)
            item["arguments"] = json.dumps(self.arguments)
        usage = {
            "input_tokens": 1,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 2,
        }
        return [
            ("response.created", created),
            ("response.output_item.done", {"type": "response.output_item.done", "item": item}),
            (
                "response.completed",
                {"type": "response.completed", "response": {"id": "resp_scripted", "usage": usage}},
            ),
        ]

    # --- the Messages API (Claude Code) ----------------------------------------------------

    def _claude_turn(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The tool call this turn makes, or None for the final text."""
        tools = [str(t.get("name")) for t in request.get("tools") or [] if isinstance(t, dict)]
        self.tools_seen.extend(tools)
        results = {
            block.get("tool_use_id"): block
            for message in request.get("messages") or []
            if isinstance(message.get("content"), list)
            for block in message["content"]
            if isinstance(block, dict) and block.get("type") == "tool_result"
        }
        name = f"mcp__{SERVER}__{TOOL}"
        if CREATE_ID in results:
            self.tool_results.append(json.dumps(results[CREATE_ID].get("content")))
            return None
        if not tools:
            return None  # a side request (a title, a summary): text only
        if name in tools or SEARCH_ID in results:
            return {"id": CREATE_ID, "name": name, "input": self.arguments}
        if "ToolSearch" in tools:
            return {"id": SEARCH_ID, "name": "ToolSearch", "input": {"query": f"select:{name}"}}
        return None

    def _claude_message(self, request: dict[str, Any]) -> dict[str, Any]:
        call = self._claude_turn(request)
        content = [{"type": "tool_use", **call}] if call else [{"type": "text", "text": FINAL_TEXT}]
        return {
            "id": "msg_scripted",
            "type": "message",
            "role": "assistant",
            "model": request.get("model", "scripted"),
            "content": content,
            "stop_reason": "tool_use" if call else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }

    def _claude(self, request: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        call = self._claude_turn(request)
        start = {
            "type": "message_start",
            "message": {
                "id": "msg_scripted",
                "type": "message",
                "role": "assistant",
                "model": request.get("model", "scripted"),
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            },
        }
        if call:
            block: dict[str, Any] = {"type": "tool_use", "id": call["id"], "name": call["name"]}
            block["input"] = {}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(call["input"])}
        else:
            block = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": FINAL_TEXT}
        return [
            ("message_start", start),
            (
                "content_block_start",
                {"type": "content_block_start", "index": 0, "content_block": block},
            ),
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {
                        "stop_reason": "tool_use" if call else "end_turn",
                        "stop_sequence": None,
                    },
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]

    # --- plumbing ---------------------------------------------------------------------------

    async def _json(self, send: Send, payload: dict[str, Any], status: int = 200) -> None:
        self._log(f"<<< {status}", payload)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(payload).encode()})

    def _log(self, heading: str, payload: object) -> None:
        text = payload if isinstance(payload, str) else json.dumps(_shortened(payload), indent=1)
        with self.transcript.open("a") as handle:
            handle.write(f"\n--- model {heading}\n{text}\n")


def _shortened(value: Any) -> Any:
    """The payload with long texts (system prompts, tool descriptions) cut, for reading."""
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return f"{value[: LONG_TEXT // 2]}… ({len(value)} characters)"
    if isinstance(value, list):
        return [_shortened(item) for item in value]
    if isinstance(value, dict):
        return {key: _shortened(item) for key, item in value.items()}
    return value


def _codex_tool_names(tools: Iterable[Any]) -> list[str]:
    names = []
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        for inner in tool.get("tools") or []:
            names.append(f"{tool.get('name')}/{inner.get('name')}")
        if tool.get("name"):
            names.append(str(tool["name"]))
    return names


def _codex_tool(tools: Iterable[Any]) -> dict[str, str] | None:
    """How this Codex names the gateway's `create_issue`: a function in an MCP namespace, or
    one flat `mcp__nodedc__create_issue` function; None when it is not offered."""
    flat = f"mcp__{SERVER}__{TOOL}"
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        if tool.get("name") == flat:
            return {"name": flat}
        for inner in tool.get("tools") or []:
            if (
                isinstance(inner, dict)
                and inner.get("name") == TOOL
                and SERVER in str(tool.get("name"))
            ):
                return {"name": TOOL, "namespace": str(tool["name"])}
    return None
