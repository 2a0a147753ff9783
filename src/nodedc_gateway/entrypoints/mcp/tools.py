"""The MCP tools of CONTRACT §4, one declaration each: the name of its handler (an
application `Tool`, which carries its operation and its argument model), a title, a
description, the result shape and, for a write, whether it is destructive and idempotent.

Everything else is generated from the declaration (`server.py`): whether the result says
`replayed` comes from the operation, the annotations from its kind, the input schema
from the argument model and the output schema from the result Struct.
"""

from __future__ import annotations

from typing import Any

import attrs
from mcp.types import ToolAnnotations

from nodedc_gateway.application.agent_tools import Tool
from nodedc_gateway.application.tools import TOOLS
from nodedc_gateway.entrypoints import schemas as out


@attrs.frozen
class ToolDeclaration:
    name: str
    title: str
    description: str
    result: type[Any]
    destructive: bool = False  # a write only: may it undo what was there?
    idempotent: bool = False  # a write only: does repeating it change nothing more?

    @property
    def handler(self) -> type[Tool]:
        """The application's tool of this name (its operation, its argument model)."""
        return TOOLS[self.name]

    @property
    def writes(self) -> bool:
        return self.handler.operation.is_write

    @property
    def annotations(self) -> ToolAnnotations:
        """Read tools are read-only and idempotent; writes say what the declaration says."""
        if not self.writes:
            return ToolAnnotations(
                read_only_hint=True,
                destructive_hint=False,
                idempotent_hint=True,
                open_world_hint=False,
            )
        return ToolAnnotations(
            read_only_hint=False,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=False,
        )

    @property
    def input_schema(self) -> dict[str, Any]:
        return self.handler.argument_model.model_json_schema(by_alias=True)


D = ToolDeclaration
DECLARATIONS: tuple[ToolDeclaration, ...] = (
    D(
        "whoami",
        "Who am I",
        "This agent, its owner, its grants (workspace, project, scopes, mode, version) "
        "and its rate limits.",
        out.WhoAmIOut,
    ),
    D(
        "list_projects",
        "List projects",
        "Projects this agent may read, optionally in one workspace.",
        out.Page[out.ProjectOut],
    ),
    D(
        "get_project",
        "Get a project",
        "A project with its states (id, name, group), labels and members: what you can "
        "use by name.",
        out.ProjectResult,
    ),
    D(
        "search_issues",
        "Search issues",
        "Issues of a project, newest first, filtered by text, state group, assignee or "
        "label; page with cursor.",
        out.Page[out.IssueOut],
    ),
    D(
        "get_issue",
        "Get an issue",
        "One issue by UUID or key (DEMO-12), with its recent comments.",
        out.IssueDetailResult,
    ),
    D(
        "create_issue",
        "Create an issue",
        "Create a card. state, labels and assignees each need their own scope.",
        out.IssueWriteOut,
    ),
    D(
        "update_issue",
        "Update an issue",
        "Change name, description, priority, dates or parent. Only the fields given change.",
        out.IssueWriteOut,
        destructive=True,
        idempotent=True,
    ),
    D(
        "move_issue",
        "Move an issue",
        "Move a card to another state (by id or name).",
        out.IssueWriteOut,
        idempotent=True,
    ),
    D(
        "set_issue_labels",
        "Set issue labels",
        "Add and/or remove existing labels.",
        out.IssueWriteOut,
        idempotent=True,
    ),
    D(
        "set_issue_assignees",
        "Set issue assignees",
        "Assign or unassign existing project members.",
        out.IssueWriteOut,
        idempotent=True,
    ),
    D(
        "add_comment",
        "Comment on an issue",
        "Add a Markdown comment, signed as this agent.",
        out.CommentWriteOut,
    ),
    D(
        "update_card",
        "Update the card",
        "Write named card blocks (goal, context, plan, acceptance, risks, links); "
        "implementation_notes is appended to. Text outside the blocks is left as it is.",
        out.CardWriteOut,
        destructive=True,
        idempotent=True,
    ),
    D(
        "update_checkers",
        "Update checkers",
        "Tick or untick checkers by id, or add new ones by text.",
        out.CardWriteOut,
        idempotent=True,
    ),
    D(
        "start_work_session",
        "Start a work session",
        "Reporting mode: say you started on a card (shown on it as a comment); returns "
        "the session, whose id the other session tools take.",
        out.SessionWriteOut,
    ),
    D(
        "report_progress",
        "Report progress",
        "Reporting mode: a progress note on the session's card, optionally ticking checkers.",
        out.SessionWriteOut,
    ),
    D(
        "finish_work_session",
        "Finish a work session",
        "Reporting mode: finish once, with an outcome (done, blocked, handoff) and a summary.",
        out.SessionWriteOut,
    ),
    D(
        "request_access",
        "Request access",
        "Ask the agent's owner for scopes, with a justification; human-only scopes are "
        "refused at once.",
        out.RequestWriteOut,
    ),
    D(
        "get_access_request",
        "Get access requests",
        "This agent's access requests and what became of them.",
        out.Page[out.AccessRequestOut],
    ),
    D(
        "add_project_member",
        "Add a project member",
        "Add an existing workspace member to the project (never invites anyone).",
        out.MemberWriteOut,
        idempotent=True,
    ),
)
