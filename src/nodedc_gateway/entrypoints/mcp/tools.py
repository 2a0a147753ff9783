"""The MCP tools of CONTRACT §4: signatures (for accurate input schemas), annotations and
output shapes. Every body is the same one line: hand the call to the dispatcher, which
runs the shared use-case pipeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import attrs
from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from nodedc_gateway.domain.access_requests import MAX_JUSTIFICATION
from nodedc_gateway.domain.cards import MAX_CHECKER_TEXT, MAX_CHECKERS_PER_CALL
from nodedc_gateway.domain.idempotency import MAX_KEY_LENGTH
from nodedc_gateway.domain.scopes import MAX_SCOPE_TEXT, MAX_SCOPES_PER_REQUEST
from nodedc_gateway.domain.tasker import (
    ISO_DATE_LENGTH,
    MAX_COMMENT,
    MAX_CURSOR_INPUT,
    MAX_DESCRIPTION,
    MAX_ISSUE_NAME,
    MAX_NAME_REF,
    MAX_QUERY,
    MAX_REFS_PER_CALL,
    MAX_SEARCH_LIMIT,
)
from nodedc_gateway.domain.validation import MAX_ID_INPUT, MAX_SLUG
from nodedc_gateway.domain.work_sessions import MAX_NOTE as MAX_SESSION_NOTE
from nodedc_gateway.domain.work_sessions import MAX_SUMMARY
from nodedc_gateway.entrypoints import schemas as out

Dispatch = Callable[[Context, str], Awaitable[CallToolResult]]

WorkspaceSlug = Annotated[
    str, Field(description="Workspace slug, e.g. `demo`", min_length=1, max_length=MAX_SLUG)
]
ProjectRef = Annotated[
    str,
    Field(
        description="Project UUID or identifier, e.g. `DEMO`", min_length=1, max_length=MAX_ID_INPUT
    ),
]
IssueRef = Annotated[
    str,
    Field(description="Issue UUID or key, e.g. `DEMO-12`", min_length=1, max_length=MAX_ID_INPUT),
]
IdempotencyKey = Annotated[
    str | None,
    Field(
        description="A fresh key per write (1-255 chars); retrying with it replays the result",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
    ),
]
Refs = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_NAME_REF)]] | None,
    Field(max_length=MAX_REFS_PER_CALL),
]
Priority = Literal["urgent", "high", "medium", "low", "none"]
Blocks = dict[
    Literal["goal", "context", "plan", "acceptance", "implementation_notes", "risks", "links"],
    Annotated[str, Field(max_length=MAX_DESCRIPTION)],
]
CardArgument = dict[str, Any]
CheckerIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_ID_INPUT)]] | None,
    Field(max_length=MAX_CHECKERS_PER_CALL),
]
CheckerTexts = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=MAX_CHECKER_TEXT)]] | None,
    Field(max_length=MAX_CHECKERS_PER_CALL),
]
SessionId = Annotated[
    str,
    Field(description="The id start_work_session returned", min_length=1, max_length=MAX_ID_INPUT),
]
Day = Annotated[
    str | None, Field(description="A date, YYYY-MM-DD (null clears it)", max_length=ISO_DATE_LENGTH)
]
Markdown = Annotated[str, Field(max_length=MAX_DESCRIPTION)]

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)


def _write(*, destructive: bool, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(
        read_only_hint=False,
        destructive_hint=destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,
    )


@attrs.frozen
class ToolSpec:
    fn: Callable[..., Awaitable[CallToolResult]]
    name: str
    title: str
    description: str
    annotations: ToolAnnotations
    output: type[Any]
    writes: bool = False


def tool_specs(dispatch: Dispatch) -> list[ToolSpec]:
    async def whoami(ctx: Context) -> CallToolResult:
        return await dispatch(ctx, "whoami")

    async def list_projects(
        ctx: Context, workspace_slug: WorkspaceSlug | None = None
    ) -> CallToolResult:
        return await dispatch(ctx, "list_projects")

    async def get_project(
        ctx: Context, workspace_slug: WorkspaceSlug, project_id: ProjectRef
    ) -> CallToolResult:
        return await dispatch(ctx, "get_project")

    async def search_issues(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        query: Annotated[
            str | None, Field(description="Text in the name, or a key", max_length=MAX_QUERY)
        ] = None,
        state_group: Literal["backlog", "unstarted", "started", "completed", "cancelled"]
        | None = None,
        assignee: Annotated[
            str | None, Field(description="User id or email", max_length=MAX_NAME_REF)
        ] = None,
        label: Annotated[
            str | None, Field(description="Label id or name", max_length=MAX_NAME_REF)
        ] = None,
        limit: Annotated[int | None, Field(ge=1, le=MAX_SEARCH_LIMIT)] = None,
        cursor: Annotated[
            str | None,
            Field(description="next_cursor of the last page", max_length=MAX_CURSOR_INPUT),
        ] = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "search_issues")

    async def get_issue(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        issue: IssueRef,
        project_id: ProjectRef | None = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "get_issue")

    async def create_issue(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        name: Annotated[str, Field(min_length=1, max_length=MAX_ISSUE_NAME)],
        description: Annotated[Markdown | None, Field(description="Markdown")] = None,
        priority: Priority | None = None,
        state: Annotated[
            str | None,
            Field(description="State id or name (needs issue:move)", max_length=MAX_NAME_REF),
        ] = None,
        labels: Annotated[Refs, Field(description="Label ids or names (needs issue:label)")] = None,
        assignees: Annotated[
            Refs, Field(description="Project members' ids or emails (needs issue:assign)")
        ] = None,
        start_date: Day = None,
        target_date: Day = None,
        parent: Annotated[
            IssueRef | None, Field(description="Parent issue in the same project")
        ] = None,
        card: Annotated[
            CardArgument | None,
            Field(
                description="Card blocks (name -> Markdown) plus `checkers`: a list of texts "
                "(needs issue:structured_blocks:write)"
            ),
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "create_issue")

    async def update_issue(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        name: Annotated[str | None, Field(min_length=1, max_length=MAX_ISSUE_NAME)] = None,
        description: Annotated[Markdown | None, Field(description="Markdown")] = None,
        priority: Priority | None = None,
        start_date: Day = None,
        target_date: Day = None,
        parent: Annotated[
            IssueRef | None, Field(description="Parent issue (null removes it)")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "update_issue")

    async def move_issue(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        state: Annotated[
            str, Field(description="State id or name", min_length=1, max_length=MAX_NAME_REF)
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "move_issue")

    async def set_issue_labels(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        add: Annotated[Refs, Field(description="Existing labels (ids or names) to add")] = None,
        remove: Annotated[Refs, Field(description="Labels to remove")] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "set_issue_labels")

    async def set_issue_assignees(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        add: Annotated[Refs, Field(description="Project members (ids or emails) to assign")] = None,
        remove: Annotated[Refs, Field(description="Assignees to remove")] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "set_issue_assignees")

    async def add_comment(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        body: Annotated[str, Field(description="Markdown", min_length=1, max_length=MAX_COMMENT)],
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "add_comment")

    async def add_project_member(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        user: Annotated[
            str,
            Field(
                description="An existing workspace member's id or email", max_length=MAX_NAME_REF
            ),
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "add_project_member")

    async def update_card(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        blocks: Annotated[
            Blocks,
            Field(description="Block name -> Markdown; implementation_notes is appended to"),
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "update_card")

    async def update_checkers(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        check: Annotated[CheckerIds, Field(description="Checker ids to tick")] = None,
        uncheck: Annotated[CheckerIds, Field(description="Checker ids to untick")] = None,
        add: Annotated[
            CheckerTexts, Field(description="New checkers (texts), in acceptance")
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "update_checkers")

    async def start_work_session(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        project_id: ProjectRef,
        issue: IssueRef,
        summary: Annotated[
            str, Field(description="What you are about to do", min_length=1, max_length=MAX_SUMMARY)
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "start_work_session")

    async def report_progress(
        ctx: Context,
        session_id: SessionId,
        note: Annotated[
            str, Field(description="Markdown", min_length=1, max_length=MAX_SESSION_NOTE)
        ],
        check: Annotated[
            CheckerIds,
            Field(description="Checker ids now done (needs issue:structured_blocks:write)"),
        ] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "report_progress")

    async def finish_work_session(
        ctx: Context,
        session_id: SessionId,
        outcome: Literal["done", "blocked", "handoff"],
        summary: Annotated[
            str,
            Field(
                description="What was done, or what blocks", min_length=1, max_length=MAX_SUMMARY
            ),
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "finish_work_session")

    async def request_access(
        ctx: Context,
        workspace_slug: WorkspaceSlug,
        scopes: Annotated[
            list[Annotated[str, Field(max_length=MAX_SCOPE_TEXT)]],
            Field(min_length=1, max_length=MAX_SCOPES_PER_REQUEST),
        ],
        justification: Annotated[
            str,
            Field(
                description="Why the scopes are needed", min_length=1, max_length=MAX_JUSTIFICATION
            ),
        ],
        project_id: ProjectRef | None = None,
        idempotency_key: IdempotencyKey = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "request_access")

    async def get_access_request(
        ctx: Context,
        request_id: Annotated[
            str | None,
            Field(description="One request; none: all of this agent's", max_length=MAX_ID_INPUT),
        ] = None,
    ) -> CallToolResult:
        return await dispatch(ctx, "get_access_request")

    issue_write = out.IssueWriteOut
    session_write = _write(destructive=False, idempotent=False)
    return [
        ToolSpec(
            whoami,
            "whoami",
            "Who am I",
            "This agent, its owner, its grants (workspace, project, scopes, mode, version) "
            "and its rate limits.",
            READ,
            out.WhoAmIOut,
        ),
        ToolSpec(
            list_projects,
            "list_projects",
            "List projects",
            "Projects this agent may read, optionally in one workspace.",
            READ,
            out.Page[out.ProjectOut],
        ),
        ToolSpec(
            get_project,
            "get_project",
            "Get a project",
            "A project with its states (id, name, group), labels and members: what you can "
            "use by name.",
            READ,
            out.ProjectResult,
        ),
        ToolSpec(
            search_issues,
            "search_issues",
            "Search issues",
            "Issues of a project, newest first, filtered by text, state group, assignee or "
            "label; page with cursor.",
            READ,
            out.Page[out.IssueOut],
        ),
        ToolSpec(
            get_issue,
            "get_issue",
            "Get an issue",
            "One issue by UUID or key (DEMO-12), with its recent comments.",
            READ,
            out.IssueDetailResult,
        ),
        ToolSpec(
            create_issue,
            "create_issue",
            "Create an issue",
            "Create a card. state, labels and assignees each need their own scope.",
            _write(destructive=False, idempotent=False),
            issue_write,
            writes=True,
        ),
        ToolSpec(
            update_issue,
            "update_issue",
            "Update an issue",
            "Change name, description, priority, dates or parent. Only the fields given change.",
            _write(destructive=True, idempotent=True),
            issue_write,
            writes=True,
        ),
        ToolSpec(
            move_issue,
            "move_issue",
            "Move an issue",
            "Move a card to another state (by id or name).",
            _write(destructive=False, idempotent=True),
            issue_write,
            writes=True,
        ),
        ToolSpec(
            set_issue_labels,
            "set_issue_labels",
            "Set issue labels",
            "Add and/or remove existing labels.",
            _write(destructive=False, idempotent=True),
            issue_write,
            writes=True,
        ),
        ToolSpec(
            set_issue_assignees,
            "set_issue_assignees",
            "Set issue assignees",
            "Assign or unassign existing project members.",
            _write(destructive=False, idempotent=True),
            issue_write,
            writes=True,
        ),
        ToolSpec(
            add_comment,
            "add_comment",
            "Comment on an issue",
            "Add a Markdown comment, signed as this agent.",
            _write(destructive=False, idempotent=False),
            out.CommentWriteOut,
            writes=True,
        ),
        ToolSpec(
            update_card,
            "update_card",
            "Update the card",
            "Write named card blocks (goal, context, plan, acceptance, risks, links); "
            "implementation_notes is appended to. Text outside the blocks is left as it is.",
            _write(destructive=True, idempotent=True),
            out.CardWriteOut,
            writes=True,
        ),
        ToolSpec(
            update_checkers,
            "update_checkers",
            "Update checkers",
            "Tick or untick checkers by id, or add new ones by text.",
            _write(destructive=False, idempotent=True),
            out.CardWriteOut,
            writes=True,
        ),
        ToolSpec(
            start_work_session,
            "start_work_session",
            "Start a work session",
            "Reporting mode: say you started on a card (shown on it as a comment); returns "
            "the session, whose id the other session tools take.",
            session_write,
            out.SessionWriteOut,
            writes=True,
        ),
        ToolSpec(
            report_progress,
            "report_progress",
            "Report progress",
            "Reporting mode: a progress note on the session's card, optionally ticking checkers.",
            session_write,
            out.SessionWriteOut,
            writes=True,
        ),
        ToolSpec(
            finish_work_session,
            "finish_work_session",
            "Finish a work session",
            "Reporting mode: finish once, with an outcome (done, blocked, handoff) and a summary.",
            session_write,
            out.SessionWriteOut,
            writes=True,
        ),
        ToolSpec(
            request_access,
            "request_access",
            "Request access",
            "Ask the agent's owner for scopes, with a justification; human-only scopes are "
            "refused at once.",
            session_write,
            out.RequestWriteOut,
            writes=True,
        ),
        ToolSpec(
            get_access_request,
            "get_access_request",
            "Get access requests",
            "This agent's access requests and what became of them.",
            READ,
            out.Page[out.AccessRequestOut],
        ),
        ToolSpec(
            add_project_member,
            "add_project_member",
            "Add a project member",
            "Add an existing workspace member to the project (never invites anyone).",
            _write(destructive=False, idempotent=True),
            out.MemberWriteOut,
            writes=True,
        ),
    ]
