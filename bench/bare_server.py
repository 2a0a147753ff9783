"""The baseline of part 2: a bare MCP SDK server exposing the same sandbox write as the
gateway's `create_issue` and the same sandbox read as its `get_issue`, with no governance
at all.

Same SDK (`MCPServer`), same transport settings (stateless, JSON responses), same tool
definitions (the gateway's own `create_issue` and `get_issue` specs: input schema,
annotations, output schema), same result shapes, same uvicorn options. What it leaves
out is everything the gateway adds: bearer authentication, rate limiting, idempotency,
grant evaluation, audit, access logs and metrics. The write is
`SqlSandboxTasker.create_issue`; the read is what the gateway's `get_issue` asks of the
sandbox once it has authorized the call (`get_issue`, then `list_comments` of its
latest comments, the card parsed from the description); both on its own PostgreSQL
database.

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
from nodedc_gateway.application.agent_tools import RECENT_COMMENTS
from nodedc_gateway.application.card_edits import readable_card
from nodedc_gateway.application.results import IssueView, IssueWritten
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

    async def create_issue(arguments: dict[str, Any]) -> dict[str, Any]:
        issue = await tasker.create_issue(
            arguments["workspace_slug"],
            arguments["project_id"],
            IssueDraft(name=arguments["name"]),
            actor=BARE_ACTOR,
        )
        return {**presenter.present(IssueWritten(issue)), "replayed": False}

    async def get_issue(arguments: dict[str, Any]) -> dict[str, Any]:
        workspace, project_id = arguments["workspace_slug"], arguments["project_id"]
        issue = await tasker.get_issue(workspace, arguments["issue"], project_id)
        comments = await tasker.list_comments(
            workspace, project_id, issue.id, limit=RECENT_COMMENTS
        )
        view = IssueView(issue, tuple(comments), readable_card(issue.description_html))
        return dict(presenter.present(view))

    tools = {"create_issue": create_issue, "get_issue": get_issue}

    async def dispatch(ctx: Context, name: str) -> CallToolResult:
        arguments = dict((ctx.request_context.params or {}).get("arguments") or {})
        body = await tools[name](arguments)
        return CallToolResult(
            structured_content=body,
            content=[TextContent(type="text", text=json.dumps(body, ensure_ascii=False))],
        )

    declarations = [d for d in DECLARATIONS if d.name in tools]
    return MCPServer(
        name="bare", tools=[mcp_tool(d, dispatch) for d in declarations], log_level="WARNING"
    )


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
