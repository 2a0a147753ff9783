"""CONTRACT §12 shapes, defined once: OpenAPI (HTTP) and output schemas (MCP) both come
from these Structs, and the presenter fills them, so a field cannot drift between them."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

T = TypeVar("T")

Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
Day = Annotated[str, Meta(extra_json_schema={"format": "date"})]
Id = Annotated[str, Meta(description="UUID")]


class Out(Struct, kw_only=True):
    """A response shape (all fields always present)."""


class Page(Out, Generic[T]):
    items: list[T]
    next_cursor: str | None


class AgentOut(Out):
    id: Id
    owner_user_id: str
    owner_email: str
    display_name: str
    avatar_url: str | None
    status: Literal["active", "disabled", "revoked"]
    bot_display_name: str
    bot_email: str
    created_at: Timestamp
    updated_at: Timestamp


class TokenOut(Out):
    id: Id
    agent_id: Id
    name: str
    status: Literal["active", "revoked", "expired"]
    expires_at: Timestamp
    last_used_at: Timestamp | None
    created_at: Timestamp


class IssuedTokenOut(TokenOut):
    token: str | None = msgspec.field(default=None)
    token_withheld: bool = False  # true on an idempotent replay: the token is shown once


class PairingCodeOut(Out):
    code: str | None
    agent_id: Id
    expires_at: Timestamp
    code_withheld: bool = False  # true on an idempotent replay: the code is shown once


class RedeemOut(Out):
    token: str
    agent_id: Id
    token_id: Id
    expires_at: Timestamp
    mcp_url: str


class GrantOut(Out):
    id: Id
    agent_id: Id
    workspace_slug: str
    project_id: str | None  # null: a workspace-level grant
    scopes: list[str]
    mode: Literal["voluntary", "reporting"]
    version: int
    status: Literal["active", "revoked"]
    created_by_user_id: str
    created_at: Timestamp
    updated_at: Timestamp


class GrantVersionOut(Out):
    grant_id: Id
    agent_id: Id
    version: int
    workspace_slug: str
    project_id: str | None
    scopes: list[str]
    mode: Literal["voluntary", "reporting"]
    status: Literal["active", "revoked"]
    change: str
    changed_by_user_id: str
    changed_at: Timestamp
    note: str | None


class GrantRefOut(Out):
    grant_id: Id
    version: int


class AuditEventOut(Out):
    id: Id
    agent_id: str | None
    owner_user_id: str | None
    actor_user_id: str | None
    event_type: str
    operation: str
    decision: Literal["allow", "deny"]
    reason: str | None
    target: dict[str, Any]
    grant_versions: list[GrantRefOut]
    metadata: dict[str, Any]
    created_at: Timestamp
    seq: int
    prev_hash: str
    hash: str


class LifecycleOut(Out):
    owner_user_id: str
    status: Literal["active", "suspended", "deleted"]
    agents_changed: list[Id]
    tokens_revoked: int


class StateOut(Out):
    id: str
    name: str
    group: Literal["backlog", "unstarted", "started", "completed", "cancelled"]


class LabelOut(Out):
    id: str
    name: str


class MemberOut(Out):
    id: str
    display_name: str
    email: str


class ProjectOut(Out):
    id: str
    workspace_slug: str
    identifier: str
    name: str


class CardRulesOut(Out):
    required_blocks: list[str]
    max_block_chars: int
    max_checkers: int
    max_checker_chars: int
    max_description_chars: int


class ProjectDetailsOut(ProjectOut):
    states: list[StateOut]
    labels: list[LabelOut]
    members: list[MemberOut]
    card_rules: CardRulesOut
    stale_after_minutes: int


class ProjectPolicyOut(Out):
    workspace_slug: str
    project_id: str
    card_rules: CardRulesOut
    stale_after_minutes: int


class IssueOut(Out):
    id: str
    identifier: str
    workspace_slug: str
    project_id: str
    name: str
    description_html: str
    priority: Literal["urgent", "high", "medium", "low", "none"]
    state: StateOut
    labels: list[LabelOut]
    assignees: list[MemberOut]
    parent_id: str | None
    start_date: Day | None
    target_date: Day | None
    created_at: Timestamp
    updated_at: Timestamp


class CommentAuthorOut(Out):
    display_name: str
    email: str | None
    agent_id: str | None


class CommentOut(Out):
    id: str
    issue_id: str
    body_html: str
    author: CommentAuthorOut
    created_at: Timestamp


class CheckerOut(Out):
    id: str
    text: str
    checked: bool


class CardOut(Out):
    """A card's blocks as readable text (null when absent), and every checker."""

    goal: str | None
    context: str | None
    plan: str | None
    acceptance: str | None
    implementation_notes: str | None
    risks: str | None
    links: str | None
    checkers: list[CheckerOut]


class IssueDetailOut(IssueOut):
    comments: list[CommentOut]
    card: CardOut | None


class IssueCardOut(IssueOut):
    card: CardOut


class LimitOut(Out):
    name: str
    limit: int
    period_s: int
    burst: int


class WhoAmIGrantOut(Out):
    id: Id
    workspace_slug: str
    project_id: str | None
    scopes: list[str]
    mode: Literal["voluntary", "reporting"]
    version: int


class WhoAmIOut(Out):
    agent: AgentOut
    grants: list[WhoAmIGrantOut]
    limits: list[LimitOut]
    tools: list[str]


class IssueResult(Out):
    issue: IssueOut


class IssueDetailResult(Out):
    issue: IssueDetailOut


class CommentResult(Out):
    comment: CommentOut


class SessionResult(Out):
    session: SessionOut
    comment_id: str


class RequestResult(Out):
    request: AccessRequestOut


class MemberResult(Out):
    member: MemberOut
    project: ProjectOut


class ProjectResult(Out):
    project: ProjectDetailsOut


class FieldErrorOut(Out):
    field: str
    message: str


class ProblemOut(Struct, kw_only=True):
    """RFC 9457 problem details with the contract's `code`, plus what helps fix the call."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldErrorOut] | msgspec.UnsetType = msgspec.UNSET
    missing_scopes: list[str] | msgspec.UnsetType = msgspec.UNSET
    denied_scopes: list[str] | msgspec.UnsetType = msgspec.UNSET
    valid_choices: list[str] | msgspec.UnsetType = msgspec.UNSET
    retry_after_s: int | msgspec.UnsetType = msgspec.UNSET
    request_access_tool: str | msgspec.UnsetType = msgspec.UNSET
    violations: list[str] | msgspec.UnsetType = msgspec.UNSET
    request_id: str | msgspec.UnsetType = msgspec.UNSET


# --- MCP write results: what was written, and whether this is an idempotent replay ------


class IssueWriteOut(Out):
    issue: IssueOut
    replayed: bool


class CommentWriteOut(Out):
    comment: CommentOut
    replayed: bool


class MemberWriteOut(Out):
    member: MemberOut
    project: ProjectOut
    replayed: bool


class CardWriteOut(Out):
    issue: IssueCardOut
    replayed: bool


class SessionOut(Out):
    id: Id
    agent_id: Id
    workspace_slug: str
    project_id: str
    issue_id: str
    issue_identifier: str
    summary: str
    status: Literal["open", "finished"]
    outcome: Literal["done", "blocked", "handoff"] | None
    finish_summary: str | None
    started_at: Timestamp
    last_report_at: Timestamp
    finished_at: Timestamp | None
    reports: int


class SessionWriteOut(Out):
    session: SessionOut
    comment_id: str
    replayed: bool


class AccessDecisionOut(Out):
    by_user_id: str
    at: Timestamp
    note: str | None
    approved_scopes: list[str]
    suggested_scopes: list[str]


class AccessRequestOut(Out):
    id: Id
    agent_id: Id
    workspace_slug: str
    project_id: str | None  # as the agent asked: a UUID or an identifier; null = workspace
    scopes: list[str]
    justification: str
    status: Literal[
        "pending", "approved", "denied", "alternative_suggested", "expired", "withdrawn"
    ]
    created_at: Timestamp
    expires_at: Timestamp
    decision: AccessDecisionOut | None


class RequestWriteOut(Out):
    request: AccessRequestOut
    replayed: bool


class AccessDecisionResult(Out):
    request: AccessRequestOut
    grant: GrantOut | None  # the grant an approval created or widened


class ReportingSessionOut(SessionOut):
    stale: bool


class MissingReportOut(Out):
    issue_id: str
    identifier: str
    name: str
    project_id: str
    state: StateOut
    agent_ids: list[str]  # the agents whose reporting grants cover the card


class ReportingOut(Out):
    workspace_slug: str
    generated_at: Timestamp
    open: list[ReportingSessionOut]
    stale: list[ReportingSessionOut]
    missing: list[MissingReportOut]


class FeatureOut(Out):
    workspace_slug: str
    user_id: str
    visible: bool
    tasker_access: bool
    launcher_entitled: bool | None  # null: Launcher could not answer
    workspace_policy: bool
    reasons: list[str]


def json_schema(shape: type[Any]) -> dict[str, Any]:
    """A self-contained JSON schema whose root is the object itself (MCP requires
    `"type": "object"` at the root); other shapes it uses are under `$defs`."""
    (root,), components = msgspec.json.schema_components([shape], ref_template="#/$defs/{name}")
    name = root["$ref"].rsplit("/", 1)[-1]
    schema: dict[str, Any] = dict(components.pop(name))
    if components:
        schema["$defs"] = components
    return schema
