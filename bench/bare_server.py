"""The baseline of part 2: a bare MCP SDK server exposing the same sandbox write as the
gateway's `create_issue`, with no governance at all.

Same SDK (`MCPServer`), same transport settings (stateless, JSON responses), same tool
definition (the gateway's own `create_issue` spec: input schema, annotations, output
schema), same result shape, same uvicorn options. What it leaves out is everything the
gateway adds: bearer authentication, rate limiting, idempotency, grant evaluation, audit,
access logs and metrics. The write is `SqlSandboxTasker.create_issue` on its own
PostgreSQL database.

    python -m bench.bare_server --database postgresql+psycopg://… --port 8123
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent

from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.application.results import IssueWritten
from nodedc_gateway.domain.tasker import Actor, IssueDraft
from nodedc_gateway.entrypoints.mcp.server import mcp_tool
from nodedc_gateway.entrypoints.mcp.tools import DECLARATIONS
from nodedc_gateway.entrypoints.presenter import ContractPresenter

#: Who the bare server writes as (it knows no agents).
BARE_ACTOR = Actor(
    agent_id="00000000-0000-7000-8000-000000000000",
    owner_user_id="bench",
    display_name="Bare MCP server",
    email="bare@bench.local",
)


def build_server(tasker: SqlSandboxTasker) -> MCPServer[Any]:
    presenter = ContractPresenter()

    async def dispatch(ctx: Context, name: str) -> CallToolResult:
        arguments = dict((ctx.request_context.params or {}).get("arguments") or {})
        issue = await tasker.create_issue(
            arguments["workspace_slug"],
            arguments["project_id"],
            IssueDraft(name=arguments["name"]),
            actor=BARE_ACTOR,
        )
        body = {**presenter.present(IssueWritten(issue)), "replayed": False}
        return CallToolResult(
            structured_content=body,
            content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
        )

    declaration = next(d for d in DECLARATIONS if d.name == "create_issue")
    return MCPServer(name="bare", tools=[mcp_tool(declaration, dispatch)], log_level="WARNING")


async def serve(database_url: str, host: str, port: int) -> None:
    engine = create_engine(database_url)
    tasker = SqlSandboxTasker(engine, UUIDv7Generator(), SystemClock())
    app = build_server(tasker).streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
        server_header=False,
        lifespan="on",
    )
    try:
        await uvicorn.Server(config).serve()
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    asyncio.run(serve(options.database, options.host, options.port))


if __name__ == "__main__":
    main()
