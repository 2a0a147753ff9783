"""Every agent tool, by name: what the MCP transport (and embedders) build calls from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodedc_gateway.application.access_tools import GetAccessRequestTool, RequestAccessTool
from nodedc_gateway.application.agent_tools import (
    AddCommentTool,
    AddProjectMemberTool,
    CreateIssueTool,
    GetIssueTool,
    GetProjectTool,
    ListProjectsTool,
    MoveIssueTool,
    SearchIssuesTool,
    SetIssueAssigneesTool,
    SetIssueLabelsTool,
    Tool,
    UpdateIssueTool,
    WhoAmITool,
)
from nodedc_gateway.application.card_tools import UpdateCardTool, UpdateCheckersTool
from nodedc_gateway.application.session_tools import (
    FinishWorkSessionTool,
    ReportProgressTool,
    StartWorkSessionTool,
)
from nodedc_gateway.application.targeting import ToolDeps
from nodedc_gateway.domain.errors import NotFound

TOOLS: Mapping[str, type[Tool]] = {
    tool.operation.name: tool
    for tool in (
        WhoAmITool,
        ListProjectsTool,
        GetProjectTool,
        SearchIssuesTool,
        GetIssueTool,
        CreateIssueTool,
        UpdateIssueTool,
        MoveIssueTool,
        SetIssueLabelsTool,
        SetIssueAssigneesTool,
        AddCommentTool,
        UpdateCardTool,
        UpdateCheckersTool,
        AddProjectMemberTool,
        StartWorkSessionTool,
        ReportProgressTool,
        FinishWorkSessionTool,
        RequestAccessTool,
        GetAccessRequestTool,
    )
}


def build_tool(deps: ToolDeps, name: str, raw: Mapping[str, Any] | None) -> Tool:
    """The action for a tool call; an unknown tool is not found."""
    tool = TOOLS.get(name)
    if tool is None:
        raise NotFound(f"No tool named {name!r}.")
    return tool(deps, raw)
