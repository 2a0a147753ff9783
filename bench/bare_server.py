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

The baseline of part 5 is the same server with `--tasker URL` instead of a database: its
tools call that Tasker's internal adapter through the gateway's own client,
`HttpTasker` (on an `httpx.AsyncClient` made as the gateway makes its own, its default
timeouts, retries and breaker), so the upstream work of `create_issue` is the very
request the gateway sends to create the card, and nothing before it.

With `--one-insert` (and `--database`) it is part 2's other baseline, the floor of a
write through this stack: its `create_issue` (the same declaration, the same result
shape) does exactly one INSERT of a row into a table of its own (`bench_one_insert`,
created at start), in one transaction on the same kind of engine, and nothing else; it
has no `get_issue`.

    python -m bench.bare_server --database postgresql+psycopg://… --port 8123 [--one-insert]
    python -m bench.bare_server --tasker http://127.0.0.1:8124 --port 8123
    (the Tasker's token in the environment, BENCH_TASKER_TOKEN)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from sqlalchemy import Column, DateTime, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine, transaction
from nodedc_gateway.adapters.tasker.http import HttpTasker
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.application.agent_tools import RECENT_COMMENTS
from nodedc_gateway.application.card_edits import readable_card
from nodedc_gateway.application.results import IssueView, IssueWritten
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import Actor, Issue, IssueDraft, Priority, State, StateGroup
from nodedc_gateway.entrypoints.mcp.server import mcp_tool
from nodedc_gateway.entrypoints.mcp.tools import DECLARATIONS
from nodedc_gateway.entrypoints.presenter import ContractPresenter
from nodedc_gateway.ports.tasker import TaskerPort

#: Where the bare server with `--tasker` finds that Tasker's token.
TASKER_TOKEN_VARIABLE = "BENCH_TASKER_TOKEN"  # noqa: S105 - a variable's name

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


def build_server(tasker: TaskerPort | OneInsert) -> MCPServer[Any]:
    """A Tasker's server has `create_issue` and `get_issue`; the one-INSERT server has
    `create_issue` alone."""
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
    if not isinstance(tasker, OneInsert):
        reader = tasker

        async def get_issue(arguments: dict[str, Any]) -> dict[str, Any]:
            workspace, project_id = arguments["workspace_slug"], arguments["project_id"]
            issue = await reader.get_issue(workspace, arguments["issue"], project_id)
            comments = await reader.list_comments(
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


@contextlib.asynccontextmanager
async def sandbox(database_url: str) -> AsyncIterator[TaskerPort]:
    """The sandbox Tasker on its own database (part 2)."""
    engine = create_engine(database_url)
    try:
        yield SqlSandboxTasker(engine, UUIDv7Generator(), SystemClock())
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def http_tasker(tasker_url: str, token: str) -> AsyncIterator[TaskerPort]:
    """Tasker's internal adapter at `tasker_url`, through the gateway's own client (part 5),
    on an httpx client made as the gateway's (`bootstrap._http_client`)."""
    async with httpx.AsyncClient(follow_redirects=False) as client:
        yield HttpTasker(base_url=tasker_url, token=SecretStr(token), client=client)


@contextlib.asynccontextmanager
async def one_insert(database_url: str) -> AsyncIterator[OneInsert]:
    """The one-INSERT baseline's write on its own database (part 2), its table created."""
    engine = create_engine(database_url)
    try:
        writer = OneInsert(engine, UUIDv7Generator(), SystemClock())
        await writer.create_table()
        yield writer
    finally:
        await engine.dispose()


async def serve(tasker: TaskerPort | OneInsert, host: str, port: int) -> None:
    app = build_server(tasker).streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        http="httptools",  # as `serve`'s
        proxy_headers=True,
        server_header=False,
        lifespan="on",
    )
    await uvicorn.Server(config).serve()


async def run(options: argparse.Namespace) -> None:
    tasker: contextlib.AbstractAsyncContextManager[TaskerPort | OneInsert]
    if options.database is not None and options.one_insert:
        tasker = one_insert(options.database)
    elif options.database is not None:
        tasker = sandbox(options.database)
    else:
        tasker = http_tasker(options.tasker, os.environ[TASKER_TOKEN_VARIABLE])
    async with tasker as port:
        await serve(port, options.host, options.port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    backend = parser.add_mutually_exclusive_group(required=True)
    backend.add_argument("--database", help="the sandbox Tasker on this database (part 2)")
    backend.add_argument("--tasker", help="Tasker's internal adapter at this URL (part 5)")
    parser.add_argument(
        "--one-insert", action="store_true", help="with --database: the one-INSERT baseline"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
