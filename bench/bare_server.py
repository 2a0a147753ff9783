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
latest comments, the card parsed from the description); both on its own database.

With `--one-insert` it is the other baseline, the floor of a write through this stack:
its `create_issue` (the same declaration, the same result shape) does exactly one INSERT
of a row into a table of its own (`bench_one_insert`, created at start), in one
transaction on the same kind of engine, and nothing else; it has no `get_issue`.

    python -m bench.bare_server --database postgresql+psycopg://… --port 8123 [--one-insert]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from typing import Any

import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine, transaction
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.application.agent_tools import RECENT_COMMENTS
from nodedc_gateway.application.card_edits import readable_card
from nodedc_gateway.application.results import IssueView, IssueWritten
from nodedc_gateway.domain.tasker import Actor, Issue, IssueDraft, Priority, State, StateGroup
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


#: The one-INSERT server's table: one row per `create_issue`, nothing else.
ONE_INSERT = Table(
    "bench_one_insert",
    MetaData(),
    Column("id", String(36), primary_key=True),
    Column("project_id", String(36), nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

#: The state every issue of the one-INSERT server answers with (it reads nothing).
ONE_INSERT_STATE = State(
    id="00000000-0000-7000-8000-000000000001", name="Backlog", group=StateGroup.BACKLOG
)


class OneInsert:
    """The one-INSERT baseline's write: one row inserted in one transaction, answered as
    the issue it stands for (so the result has the sandbox's shape)."""

    def __init__(self, engine: AsyncEngine, ids: UUIDv7Generator, clock: SystemClock) -> None:
        self._engine, self._ids, self._clock = engine, ids, clock
        self._serial = itertools.count(1)

    async def create_table(self) -> None:
        async with transaction(self._engine) as c:
            await c.run_sync(ONE_INSERT.create, checkfirst=True)

    async def create_issue(
        self, workspace_slug: str, project_id: str, draft: IssueDraft, *, actor: Actor
    ) -> Issue:
        issue_id, now = self._ids.new_id(), self._clock.now()
        async with transaction(self._engine) as c:
            await c.execute(
                ONE_INSERT.insert().values(
                    id=issue_id, project_id=project_id, name=draft.name, created_at=now
                )
            )
        return Issue(
            id=issue_id,
            workspace_slug=workspace_slug,
            project_id=project_id,
            identifier=f"INS-{next(self._serial)}",
            name=draft.name,
            description_html=draft.description_html,
            priority=Priority.NONE,
            state=ONE_INSERT_STATE,
            labels=(),
            assignees=(),
            parent_id=None,
            start_date=None,
            target_date=None,
            created_at=now,
            updated_at=now,
        )


def build_server(tasker: SqlSandboxTasker | OneInsert) -> MCPServer[Any]:
    """The sandbox Tasker's server has `create_issue` and `get_issue`; the one-INSERT
    server has `create_issue` alone."""
    presenter = ContractPresenter()

    async def create_issue(arguments: dict[str, Any]) -> dict[str, Any]:
        issue = await tasker.create_issue(
            arguments["workspace_slug"],
            arguments["project_id"],
            IssueDraft(name=arguments["name"]),
            actor=BARE_ACTOR,
        )
        return {**presenter.present(IssueWritten(issue)), "replayed": False}

    tools = {"create_issue": create_issue}
    if isinstance(tasker, SqlSandboxTasker):
        sandbox = tasker

        async def get_issue(arguments: dict[str, Any]) -> dict[str, Any]:
            workspace, project_id = arguments["workspace_slug"], arguments["project_id"]
            issue = await sandbox.get_issue(workspace, arguments["issue"], project_id)
            comments = await sandbox.list_comments(
                workspace, project_id, issue.id, limit=RECENT_COMMENTS
            )
            view = IssueView(issue, tuple(comments), readable_card(issue.description_html))
            return dict(presenter.present(view))

        tools["get_issue"] = get_issue

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


async def serve(database_url: str, host: str, port: int, *, one_insert: bool = False) -> None:
    engine = create_engine(database_url)
    tasker: SqlSandboxTasker | OneInsert
    if one_insert:
        tasker = OneInsert(engine, UUIDv7Generator(), SystemClock())
        await tasker.create_table()
    else:
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
    parser.add_argument(
        "--one-insert", action="store_true", help="the one-INSERT baseline's create_issue"
    )
    options = parser.parse_args()
    asyncio.run(serve(options.database, options.host, options.port, one_insert=options.one_insert))


if __name__ == "__main__":
    main()
