"""CONTRACT §12 shapes: the one place results become JSON, for HTTP and MCP alike.

A cattrs converter carries the leaf conventions (RFC 3339 `Z` timestamps, ISO dates,
sorted scope lists, enums as strings); explicit hooks give each result its contract shape,
so no field reaches a caller by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
from typing import Any, TypeVar

import cattrs
from cattrs.preconf.json import make_converter

from nodedc_gateway.application.results import (
    AuditPage,
    CommentWritten,
    GrantHistory,
    GrantView,
    IssueView,
    IssueWritten,
    LifecycleApplied,
    MemberAdded,
    Page,
    PairingCodeIssued,
    ProjectView,
    Redeemed,
    TokenIssued,
    TokenView,
    WhoAmI,
)
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditEvent
from nodedc_gateway.domain.canonical import format_timestamp
from nodedc_gateway.domain.grants import Grant, GrantRef, GrantVersion
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.scopes import Scope
from nodedc_gateway.domain.tasker import (
    Comment,
    Issue,
    Label,
    Member,
    Project,
    ProjectDetails,
    State,
)
from nodedc_gateway.domain.tokens import AgentToken

T = TypeVar("T")
JSON = dict[str, Any]


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def agent_json(agent: Agent) -> JSON:
    return {
        "id": agent.id,
        "owner_user_id": agent.owner_user_id,
        "owner_email": agent.owner_email,
        "display_name": agent.display_name,
        "avatar_url": agent.avatar_url,
        "status": str(agent.status),
        "bot_display_name": agent.bot_display_name,
        "bot_email": agent.bot_email,
        "created_at": _ts(agent.created_at),
        "updated_at": _ts(agent.updated_at),
    }


def token_json(token: AgentToken, now: datetime | None = None) -> JSON:
    return {
        "id": token.id,
        "agent_id": token.agent_id,
        "name": token.name,
        "status": str(token.status_at(now) if now is not None else token.status),
        "expires_at": _ts(token.expires_at),
        "last_used_at": _ts(token.last_used_at),
        "created_at": _ts(token.created_at),
    }


def scopes_json(scopes: frozenset[Scope]) -> list[str]:
    return sorted(str(s) for s in scopes)


def grant_json(grant: Grant) -> JSON:
    return {
        "id": grant.id,
        "agent_id": grant.agent_id,
        "workspace_slug": grant.workspace_slug,
        "project_id": grant.project_id or None,
        "scopes": scopes_json(grant.scopes),
        "mode": str(grant.mode),
        "version": grant.version,
        "status": str(grant.status),
        "created_by_user_id": grant.created_by_user_id,
        "created_at": _ts(grant.created_at),
        "updated_at": _ts(grant.updated_at),
    }


def grant_version_json(version: GrantVersion) -> JSON:
    return {
        "grant_id": version.grant_id,
        "agent_id": version.agent_id,
        "version": version.version,
        "workspace_slug": version.workspace_slug,
        "project_id": version.project_id or None,
        "scopes": scopes_json(version.scopes),
        "mode": str(version.mode),
        "status": str(version.status),
        "change": str(version.change),
        "changed_by_user_id": version.changed_by_user_id,
        "changed_at": _ts(version.changed_at),
        "note": version.note,
    }


def grant_ref_json(ref: GrantRef) -> JSON:
    return {"grant_id": ref.grant_id, "version": ref.version}


def audit_event_json(event: AuditEvent) -> JSON:
    d = event.draft
    return {
        "id": d.id,
        "agent_id": d.agent_id,
        "owner_user_id": d.owner_user_id,
        "actor_user_id": d.actor_user_id,
        "event_type": d.event_type,
        "operation": d.operation,
        "decision": str(d.decision),
        "reason": None if d.reason is None else str(d.reason),
        "target": dict(d.target),
        "grant_versions": [grant_ref_json(r) for r in d.grant_versions],
        "metadata": dict(d.metadata),
        "created_at": _ts(d.created_at),
        "seq": event.seq,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def state_json(state: State) -> JSON:
    return {"id": state.id, "name": state.name, "group": str(state.group)}


def label_json(label: Label) -> JSON:
    return {"id": label.id, "name": label.name}


def member_json(member: Member) -> JSON:
    return {"id": member.id, "display_name": member.display_name, "email": member.email}


def project_json(project: Project) -> JSON:
    return {
        "id": project.id,
        "workspace_slug": project.workspace_slug,
        "identifier": project.identifier,
        "name": project.name,
    }


def project_details_json(details: ProjectDetails) -> JSON:
    return {
        **project_json(details.project),
        "states": [state_json(s) for s in details.states],
        "labels": [label_json(lb) for lb in details.labels],
        "members": [member_json(m) for m in details.members],
    }


def issue_json(issue: Issue) -> JSON:
    return {
        "id": issue.id,
        "identifier": issue.identifier,
        "workspace_slug": issue.workspace_slug,
        "project_id": issue.project_id,
        "name": issue.name,
        "description_html": issue.description_html,
        "priority": str(issue.priority),
        "state": state_json(issue.state),
        "labels": [label_json(lb) for lb in issue.labels],
        "assignees": [member_json(m) for m in issue.assignees],
        "parent_id": issue.parent_id,
        "start_date": _day(issue.start_date),
        "target_date": _day(issue.target_date),
        "created_at": _ts(issue.created_at),
        "updated_at": _ts(issue.updated_at),
    }


def comment_json(comment: Comment) -> JSON:
    return {
        "id": comment.id,
        "issue_id": comment.issue_id,
        "body_html": comment.body_html,
        "author": {
            "display_name": comment.author_display_name,
            "email": comment.author_email,
            "agent_id": comment.agent_id,
        },
        "created_at": _ts(comment.created_at),
    }


def policy_json(policy: RatePolicy) -> JSON:
    return {
        "name": policy.name,
        "limit": policy.limit,
        "period_s": policy.period_s,
        "burst": policy.burst,
    }


def whoami_grant_json(grant: Grant) -> JSON:
    return {
        "id": grant.id,
        "workspace_slug": grant.workspace_slug,
        "project_id": grant.project_id or None,
        "scopes": scopes_json(grant.scopes),
        "mode": str(grant.mode),
        "version": grant.version,
    }


class ContractPresenter:
    """`ResultPresenter` for CONTRACT §12; also presents single domain values."""

    def __init__(self) -> None:
        self._converter = make_converter()
        hooks: dict[type[Any], Callable[[Any], Any]] = {
            Agent: agent_json,
            AgentToken: token_json,
            Grant: grant_json,
            GrantVersion: grant_version_json,
            AuditEvent: audit_event_json,
            Project: project_json,
            Issue: issue_json,
            Comment: comment_json,
            Member: member_json,
            WhoAmI: lambda r: {
                "agent": agent_json(r.agent),
                "grants": [whoami_grant_json(g) for g in r.grants],
                "limits": [policy_json(p) for p in r.limits],
                "tools": list(r.tools),
            },
            Page: lambda r: {
                "items": [self.value(i) for i in r.items],
                "next_cursor": r.next_cursor,
            },
            ProjectView: lambda r: {"project": project_details_json(r.details)},
            IssueView: lambda r: {
                "issue": {**issue_json(r.issue), "comments": [comment_json(c) for c in r.comments]}
            },
            IssueWritten: lambda r: {"issue": issue_json(r.issue)},
            CommentWritten: lambda r: {"comment": comment_json(r.comment)},
            MemberAdded: lambda r: {
                "member": member_json(r.member),
                "project": project_json(r.project),
            },
            TokenIssued: lambda r: {
                **token_json(r.issued.token),
                "token": r.issued.secret.reveal(),
            },
            TokenView: lambda r: token_json(r.token),
            PairingCodeIssued: lambda r: {
                "code": r.code,
                "agent_id": r.agent_id,
                "expires_at": _ts(r.expires_at),
            },
            Redeemed: lambda r: {
                "token": r.issued.secret.reveal(),
                "agent_id": r.issued.token.agent_id,
                "token_id": r.issued.token.id,
                "expires_at": _ts(r.issued.token.expires_at),
                "mcp_url": r.mcp_url,
            },
            GrantView: lambda r: grant_json(r.grant),
            GrantHistory: lambda r: {
                "items": [grant_version_json(v) for v in r.versions],
                "next_cursor": None,
            },
            AuditPage: lambda r: {
                "items": [audit_event_json(e) for e in r.events],
                "next_cursor": r.next_cursor,
            },
            LifecycleApplied: lambda r: {
                "owner_user_id": r.owner_user_id,
                "status": r.status,
                "agents_changed": list(r.agents_changed),
                "tokens_revoked": r.tokens_revoked,
            },
        }
        for cls, hook in hooks.items():
            self._converter.register_unstructure_hook(cls, hook)
        self._converter.register_unstructure_hook(datetime, format_timestamp)
        self._converter.register_unstructure_hook(date, date.isoformat)
        self._converter.register_unstructure_hook_func(
            lambda t: isinstance(t, type) and issubclass(t, Enum), lambda e: str(e.value)
        )
        self._converter.register_unstructure_hook(
            frozenset, lambda s: sorted(self.value(i) for i in s)
        )
        self._known = frozenset(hooks)

    def present(self, result: object) -> dict[str, Any]:
        if type(result) not in self._known:
            raise TypeError(f"no contract shape for {type(result).__name__}")
        body = self._converter.unstructure(result)
        assert isinstance(body, dict)
        return body

    def value(self, value: object) -> Any:
        return self._converter.unstructure(value)

    @property
    def converter(self) -> cattrs.Converter:
        return self._converter
