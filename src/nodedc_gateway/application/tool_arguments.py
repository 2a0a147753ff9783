"""Every agent tool's arguments, declared once: names, types and limits (the domain's
constants), with the descriptions an agent reads.

A tool's model is its input schema on MCP and its one schema check, for every transport:
`Tool` validates a call against it inside the pipeline (so a refusal is audited), then
reads the values with the domain's checks. The model's field names are what the tool
accepts; anything else is refused.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError, create_model

from nodedc_gateway.domain.access_requests import MAX_JUSTIFICATION
from nodedc_gateway.domain.cards import MAX_CHECKER_TEXT, MAX_CHECKERS_PER_CALL
from nodedc_gateway.domain.errors import FieldError, ValidationFailed
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


class ToolArguments(BaseModel):
    """The base of every tool's argument model (a call's unknown names are the tool's to
    refuse, with the list of what it accepts)."""


def arguments(tool: str, /, **fields: Any) -> type[ToolArguments]:
    """The model `{tool}Arguments`: each field `(type, default)`, `...` when required."""
    model: type[ToolArguments] = create_model(f"{tool}Arguments", __base__=ToolArguments, **fields)
    return model


def schema_refusal(model: type[ToolArguments], raw: dict[str, Any]) -> ValidationFailed | None:
    """What the model refuses in `raw`, each field with its own message; None if nothing."""
    try:
        model.model_validate(raw)
    except ValidationError as error:
        return ValidationFailed(
            [
                FieldError(".".join(str(p) for p in item["loc"]) or "arguments", item["msg"])
                for item in error.errors(include_url=False, include_input=False)
            ]
        )
    return None


# --- the shapes tools share ---------------------------------------------------------------

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

WORKSPACE = (WorkspaceSlug, ...)
PROJECT = (ProjectRef, ...)
ISSUE = (IssueRef, ...)
KEY = (IdempotencyKey, None)
OPTIONAL_DAY = (Day, None)


def _text(description: str, max_length: int, *, min_length: int | None = 1) -> Any:
    return Annotated[
        str, Field(description=description, min_length=min_length, max_length=max_length)
    ]


def _optional_text(description: str, max_length: int) -> Any:
    return (Annotated[str | None, Field(description=description, max_length=max_length)], None)


# --- one model per tool --------------------------------------------------------------------

WHOAMI = arguments("whoami")
LIST_PROJECTS = arguments("list_projects", workspace_slug=(WorkspaceSlug | None, None))
GET_PROJECT = arguments("get_project", workspace_slug=WORKSPACE, project_id=PROJECT)
SEARCH_ISSUES = arguments(
    "search_issues",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    query=_optional_text("Text in the name, or a key", MAX_QUERY),
    state_group=(
        Literal["backlog", "unstarted", "started", "completed", "cancelled"] | None,
        None,
    ),
    assignee=_optional_text("User id or email", MAX_NAME_REF),
    label=_optional_text("Label id or name", MAX_NAME_REF),
    limit=(Annotated[int | None, Field(ge=1, le=MAX_SEARCH_LIMIT)], None),
    cursor=_optional_text("next_cursor of the last page", MAX_CURSOR_INPUT),
)
GET_ISSUE = arguments(
    "get_issue", workspace_slug=WORKSPACE, issue=ISSUE, project_id=(ProjectRef | None, None)
)
CREATE_ISSUE = arguments(
    "create_issue",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    name=(Annotated[str, Field(min_length=1, max_length=MAX_ISSUE_NAME)], ...),
    description=(Annotated[Markdown | None, Field(description="Markdown")], None),
    priority=(Priority | None, None),
    state=_optional_text("State id or name (needs issue:move)", MAX_NAME_REF),
    labels=(Annotated[Refs, Field(description="Label ids or names (needs issue:label)")], None),
    assignees=(
        Annotated[Refs, Field(description="Project members' ids or emails (needs issue:assign)")],
        None,
    ),
    start_date=OPTIONAL_DAY,
    target_date=OPTIONAL_DAY,
    parent=(
        Annotated[IssueRef | None, Field(description="Parent issue in the same project")],
        None,
    ),
    card=(
        Annotated[
            CardArgument | None,
            Field(
                description="Card blocks (name -> Markdown) plus `checkers`: a list of texts "
                "(needs issue:structured_blocks:write)"
            ),
        ],
        None,
    ),
    idempotency_key=KEY,
)
UPDATE_ISSUE = arguments(
    "update_issue",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    name=(Annotated[str | None, Field(min_length=1, max_length=MAX_ISSUE_NAME)], None),
    description=(Annotated[Markdown | None, Field(description="Markdown")], None),
    priority=(Priority | None, None),
    start_date=OPTIONAL_DAY,
    target_date=OPTIONAL_DAY,
    parent=(Annotated[IssueRef | None, Field(description="Parent issue (null removes it)")], None),
    idempotency_key=KEY,
)
MOVE_ISSUE = arguments(
    "move_issue",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    state=(_text("State id or name", MAX_NAME_REF), ...),
    idempotency_key=KEY,
)
SET_ISSUE_LABELS = arguments(
    "set_issue_labels",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    add=(Annotated[Refs, Field(description="Existing labels (ids or names) to add")], None),
    remove=(Annotated[Refs, Field(description="Labels to remove")], None),
    idempotency_key=KEY,
)
SET_ISSUE_ASSIGNEES = arguments(
    "set_issue_assignees",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    add=(Annotated[Refs, Field(description="Project members (ids or emails) to assign")], None),
    remove=(Annotated[Refs, Field(description="Assignees to remove")], None),
    idempotency_key=KEY,
)
ADD_COMMENT = arguments(
    "add_comment",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    body=(_text("Markdown", MAX_COMMENT), ...),
    idempotency_key=KEY,
)
ADD_PROJECT_MEMBER = arguments(
    "add_project_member",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    user=(_text("An existing workspace member's id or email", MAX_NAME_REF, min_length=None), ...),
    idempotency_key=KEY,
)
UPDATE_CARD = arguments(
    "update_card",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    blocks=(
        Annotated[
            Blocks, Field(description="Block name -> Markdown; implementation_notes is appended to")
        ],
        ...,
    ),
    idempotency_key=KEY,
)
UPDATE_CHECKERS = arguments(
    "update_checkers",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    check=(Annotated[CheckerIds, Field(description="Checker ids to tick")], None),
    uncheck=(Annotated[CheckerIds, Field(description="Checker ids to untick")], None),
    add=(Annotated[CheckerTexts, Field(description="New checkers (texts), in acceptance")], None),
    idempotency_key=KEY,
)
START_WORK_SESSION = arguments(
    "start_work_session",
    workspace_slug=WORKSPACE,
    project_id=PROJECT,
    issue=ISSUE,
    summary=(_text("What you are about to do", MAX_SUMMARY), ...),
    idempotency_key=KEY,
)
REPORT_PROGRESS = arguments(
    "report_progress",
    session_id=(SessionId, ...),
    note=(_text("Markdown", MAX_SESSION_NOTE), ...),
    check=(
        Annotated[
            CheckerIds,
            Field(description="Checker ids now done (needs issue:structured_blocks:write)"),
        ],
        None,
    ),
    idempotency_key=KEY,
)
FINISH_WORK_SESSION = arguments(
    "finish_work_session",
    session_id=(SessionId, ...),
    outcome=(Literal["done", "blocked", "handoff"], ...),
    summary=(_text("What was done, or what blocks", MAX_SUMMARY), ...),
    idempotency_key=KEY,
)
REQUEST_ACCESS = arguments(
    "request_access",
    workspace_slug=WORKSPACE,
    scopes=(
        Annotated[
            list[Annotated[str, Field(max_length=MAX_SCOPE_TEXT)]],
            Field(min_length=1, max_length=MAX_SCOPES_PER_REQUEST),
        ],
        ...,
    ),
    justification=(_text("Why the scopes are needed", MAX_JUSTIFICATION), ...),
    project_id=(ProjectRef | None, None),
    idempotency_key=KEY,
)
GET_ACCESS_REQUEST = arguments(
    "get_access_request",
    request_id=_optional_text("One request; none: all of this agent's", MAX_ID_INPUT),
)
