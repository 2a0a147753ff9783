"""What use cases return; the edge's presenter turns these into CONTRACT §12 shapes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from nodedc_gateway.domain.access_requests import AccessRequest
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditEvent
from nodedc_gateway.domain.cards import Card
from nodedc_gateway.domain.grants import Grant, GrantVersion
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.tasker import Comment, Issue, Member, Project, ProjectDetails
from nodedc_gateway.domain.tokens import AgentToken, IssuedToken
from nodedc_gateway.domain.work_sessions import WorkSession


@attrs.frozen
class WhoAmI:
    agent: Agent
    grants: tuple[Grant, ...]
    limits: tuple[RatePolicy, ...]
    tools: tuple[str, ...]


@attrs.frozen
class Page:
    """A list result: `{"items": [...], "next_cursor": ...}`."""

    items: Sequence[object]
    next_cursor: str | None = None


@attrs.frozen
class ProjectView:
    """`get_project`: states, labels, members, and the project's card rules."""

    details: ProjectDetails
    policy: ProjectPolicy | None = None


@attrs.frozen
class IssueView:
    """`get_issue`: the issue, its recent comments and its parsed card (None when the
    description is beyond what the card parser reads)."""

    issue: Issue
    comments: tuple[Comment, ...] = ()
    card: Card | None = None


@attrs.frozen
class IssueWritten:
    issue: Issue


@attrs.frozen
class CommentWritten:
    comment: Comment


@attrs.frozen
class MemberAdded:
    member: Member
    project: Project


@attrs.frozen
class TokenIssued:
    issued: IssuedToken


@attrs.frozen
class TokenView:
    token: AgentToken


@attrs.frozen
class PairingCodeIssued:
    code: str  # display form, shown once
    agent_id: str
    expires_at: datetime


@attrs.frozen
class Redeemed:
    issued: IssuedToken
    mcp_url: str


@attrs.frozen
class GrantView:
    grant: Grant


@attrs.frozen
class GrantHistory:
    versions: tuple[GrantVersion, ...]


@attrs.frozen
class AuditPage:
    events: tuple[AuditEvent, ...]
    next_cursor: str | None


@attrs.frozen
class LifecycleApplied:
    owner_user_id: str
    status: str
    agents_changed: tuple[str, ...]
    tokens_revoked: int


@attrs.frozen
class CardWritten:
    """`update_card` / `update_checkers`: the issue and its card as now stored."""

    issue: Issue
    card: Card


@attrs.frozen
class SessionWritten:
    """A work-session tool: the session as it is now, and the comment that showed it."""

    session: WorkSession
    comment_id: str


@attrs.frozen
class AccessRequestFiled:
    request: AccessRequest


@attrs.frozen
class AccessRequestDecided:
    request: AccessRequest
    grant: Grant | None  # the grant an approval created or widened


@attrs.frozen
class ProjectPolicyView:
    policy: ProjectPolicy
