"""One declaration per agent tool: what `tools/list` publishes is generated from it, and
nothing else states a tool (CONTRACT §4)."""

from __future__ import annotations

from typing import Any

import pytest

from nodedc_gateway.application.tools import TOOLS
from nodedc_gateway.domain.operations import AGENT_TOOLS, Kind
from nodedc_gateway.entrypoints.mcp.tools import DECLARATIONS, ToolDeclaration
from nodedc_gateway.entrypoints.schemas import json_schema
from tests.support.mcp import http_client
from tests.support.served import served_gateway

BY_NAME = {declaration.name: declaration for declaration in DECLARATIONS}


def test_every_agent_operation_is_declared_once_and_registered() -> None:
    assert len(BY_NAME) == len(DECLARATIONS)
    assert set(BY_NAME) == {op.name for op in AGENT_TOOLS} == set(TOOLS)
    for name, declaration in BY_NAME.items():
        assert declaration.handler.operation.name == name


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.name)
def test_annotations_follow_the_operations_kind(declaration: ToolDeclaration) -> None:
    hints = declaration.annotations
    operation = declaration.handler.operation
    assert hints.read_only_hint is (operation.kind is Kind.READ)
    assert declaration.writes is operation.is_write
    assert hints.open_world_hint is False
    if operation.kind is Kind.READ:
        assert (hints.destructive_hint, hints.idempotent_hint) == (False, True)
        assert (declaration.destructive, declaration.idempotent) == (False, False)


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.name)
def test_the_argument_model_is_the_input_schema(declaration: ToolDeclaration) -> None:
    schema = declaration.input_schema
    assert schema["title"] == f"{declaration.name}Arguments"
    assert set(schema.get("properties", {})) == set(declaration.handler.argument_model.model_fields)
    if declaration.writes:
        assert "idempotency_key" in schema["properties"]


async def test_tools_list_carries_every_declared_tool_as_declared() -> None:
    scopes = sorted({scope.value for op in AGENT_TOOLS for scope in op.every_scope})
    async with served_gateway() as gw:
        agent = await gw.create_agent()
        await gw.grant(agent["id"], scopes=scopes)
        async with http_client(gw.url, await gw.token(agent["id"])) as client:
            listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(listed) == set(BY_NAME)
    for name, tool in listed.items():
        declaration = BY_NAME[name]
        wire: dict[str, Any] = tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        assert wire["title"] == declaration.title
        assert wire["description"] == declaration.description
        assert wire["inputSchema"] == declaration.input_schema
        assert wire["outputSchema"] == json_schema(declaration.result)
        assert wire["annotations"] == declaration.annotations.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
