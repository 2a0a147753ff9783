"""Use-case results as CONTRACT §12 shapes: the one place results become JSON, for HTTP
and MCP alike. Each result fills a Struct of `schemas`, so mypy checks every field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, Literal, cast

import msgspec

from nodedc_gateway.application.results import (
    AccessRequestDecided,
    AccessRequestFiled,
    AuditPage,
    CardWritten,
    CommentWritten,
    GrantHistory,
    GrantView,
    IssueView,
    IssueWritten,
    LifecycleApplied,
    MemberAdded,
    Page,
    PairingCodeIssued,
    ProjectPolicyView,
    ProjectView,
    Redeemed,
    SessionWritten,
    TokenIssued,
    TokenView,
    WhoAmI,
)
from nodedc_gateway.application.workspaces import FeatureStatus, OpenSession, ReportingStatus
from nodedc_gateway.domain.access_requests import AccessRequest
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditEvent
from nodedc_gateway.domain.canonical import format_timestamp
from nodedc_gateway.domain.cards import BlockName, Card, CardRules
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.grants import Grant, GrantVersion
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.scopes import Scope
from nodedc_gateway.domain.tasker import Comment, Issue, Label, Member, Project, State
from nodedc_gateway.domain.tokens import AgentToken
from nodedc_gateway.domain.work_sessions import WorkSession
from nodedc_gateway.entrypoints import schemas as out


def _ts(moment: datetime) -> str:
    return format_timestamp(moment)


def _ts_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else format_timestamp(moment)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _scopes(scopes: frozenset[Scope]) -> list[str]:
    return sorted(str(scope) for scope in scopes)


def _lit(value: object) -> Any:
    """An enum's value for a Literal-typed field."""
    return cast(Any, str(value))


def agent(a: Agent) -> out.AgentOut:
    return out.AgentOut(
        id=a.id,
        owner_user_id=a.owner_user_id,
        owner_email=a.owner_email,
        display_name=a.display_name,
        avatar_url=a.avatar_url,
        status=_lit(a.status),
        bot_display_name=a.bot_display_name,
        bot_email=a.bot_email,
        created_at=_ts(a.created_at),
        updated_at=_ts(a.updated_at),
    )


def token(t: AgentToken) -> out.TokenOut:
    return out.TokenOut(
        id=t.id,
        agent_id=t.agent_id,
        name=t.name,
        status=_lit(t.status),
        expires_at=_ts(t.expires_at),
        last_used_at=_ts_or_none(t.last_used_at),
        created_at=_ts(t.created_at),
    )


def issued_token(result: TokenIssued) -> out.IssuedTokenOut:
    shown = msgspec.structs.asdict(token(result.issued.token))
    return out.IssuedTokenOut(**shown, token=result.issued.secret.reveal())


def grant(g: Grant) -> out.GrantOut:
    return out.GrantOut(
        id=g.id,
        agent_id=g.agent_id,
        workspace_slug=g.workspace_slug,
        project_id=g.project_id or None,
        scopes=_scopes(g.scopes),
        mode=_lit(g.mode),
        version=g.version,
        status=_lit(g.status),
        created_by_user_id=g.created_by_user_id,
        created_at=_ts(g.created_at),
        updated_at=_ts(g.updated_at),
    )


def grant_version(v: GrantVersion) -> out.GrantVersionOut:
    return out.GrantVersionOut(
        grant_id=v.grant_id,
        agent_id=v.agent_id,
        version=v.version,
        workspace_slug=v.workspace_slug,
        project_id=v.project_id or None,
        scopes=_scopes(v.scopes),
        mode=_lit(v.mode),
        status=_lit(v.status),
        change=str(v.change),
        changed_by_user_id=v.changed_by_user_id,
        changed_at=_ts(v.changed_at),
        note=v.note,
    )


def audit_event(e: AuditEvent) -> out.AuditEventOut:
    d = e.draft
    return out.AuditEventOut(
        id=d.id,
        agent_id=d.agent_id,
        owner_user_id=d.owner_user_id,
        actor_user_id=d.actor_user_id,
        event_type=d.event_type,
        operation=d.operation,
        decision=_lit(d.decision),
        reason=None if d.reason is None else str(d.reason),
        target=dict(d.target),
        grant_versions=[
            out.GrantRefOut(grant_id=r.grant_id, version=r.version) for r in d.grant_versions
        ],
        metadata=dict(d.metadata),
        created_at=_ts(d.created_at),
        seq=e.seq,
        prev_hash=e.prev_hash,
        hash=e.hash,
    )


def state(s: State) -> out.StateOut:
    return out.StateOut(id=s.id, name=s.name, group=_lit(s.group))


def label(lb: Label) -> out.LabelOut:
    return out.LabelOut(id=lb.id, name=lb.name)


def member(m: Member) -> out.MemberOut:
    return out.MemberOut(id=m.id, display_name=m.display_name, email=m.email)


def project(p: Project) -> out.ProjectOut:
    return out.ProjectOut(
        id=p.id, workspace_slug=p.workspace_slug, identifier=p.identifier, name=p.name
    )


def _issue_fields(i: Issue) -> dict[str, Any]:
    return {
        "id": i.id,
        "identifier": i.identifier,
        "workspace_slug": i.workspace_slug,
        "project_id": i.project_id,
        "name": i.name,
        "description_html": i.description_html,
        "priority": _lit(i.priority),
        "state": state(i.state),
        "labels": [label(lb) for lb in i.labels],
        "assignees": [member(m) for m in i.assignees],
        "parent_id": i.parent_id,
        "start_date": _day(i.start_date),
        "target_date": _day(i.target_date),
        "created_at": _ts(i.created_at),
        "updated_at": _ts(i.updated_at),
    }


def issue(i: Issue) -> out.IssueOut:
    return out.IssueOut(**_issue_fields(i))


def comment(c: Comment) -> out.CommentOut:
    return out.CommentOut(
        id=c.id,
        issue_id=c.issue_id,
        body_html=c.body_html,
        author=out.CommentAuthorOut(
            display_name=c.author_display_name, email=c.author_email, agent_id=c.agent_id
        ),
        created_at=_ts(c.created_at),
    )


def card(c: Card) -> out.CardOut:
    blocks = c.blocks

    def text(name: BlockName) -> str | None:
        block = blocks.get(name)
        return None if block is None else block.text

    return out.CardOut(
        goal=text(BlockName.GOAL),
        context=text(BlockName.CONTEXT),
        plan=text(BlockName.PLAN),
        acceptance=text(BlockName.ACCEPTANCE),
        implementation_notes=text(BlockName.IMPLEMENTATION_NOTES),
        risks=text(BlockName.RISKS),
        links=text(BlockName.LINKS),
        checkers=[out.CheckerOut(id=k.id, text=k.text, checked=k.checked) for k in c.checkers],
    )


def card_rules(rules: CardRules) -> out.CardRulesOut:
    return out.CardRulesOut(
        required_blocks=sorted(str(name) for name in rules.required_blocks),
        max_block_chars=rules.max_block_chars,
        max_checkers=rules.max_checkers,
        max_checker_chars=rules.max_checker_chars,
        max_description_chars=rules.max_description_chars,
    )


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def project_policy(p: ProjectPolicy) -> out.ProjectPolicyOut:
    return out.ProjectPolicyOut(
        workspace_slug=p.workspace_slug,
        project_id=p.project_id,
        card_rules=card_rules(p.card_rules),
        stale_after_minutes=_minutes(p.stale_after),
    )


def session(s: WorkSession) -> out.SessionOut:
    return out.SessionOut(**_session_fields(s))


def _session_fields(s: WorkSession) -> dict[str, Any]:
    return {
        "id": s.id,
        "agent_id": s.agent_id,
        "workspace_slug": s.workspace_slug,
        "project_id": s.project_id,
        "issue_id": s.issue_id,
        "issue_identifier": s.issue_identifier,
        "summary": s.summary,
        "status": _lit(s.status),
        "outcome": None if s.outcome is None else _lit(s.outcome),
        "finish_summary": s.finish_summary,
        "started_at": _ts(s.started_at),
        "last_report_at": _ts(s.last_report_at),
        "finished_at": _ts_or_none(s.finished_at),
        "reports": s.reports,
    }


def access_request(r: AccessRequest) -> out.AccessRequestOut:
    d = r.decision
    return out.AccessRequestOut(
        id=r.id,
        agent_id=r.agent_id,
        workspace_slug=r.workspace_slug,
        project_id=r.project_ref or None,
        scopes=_scopes(r.scopes),
        justification=r.justification,
        status=_lit(r.status),
        created_at=_ts(r.created_at),
        expires_at=_ts(r.expires_at),
        decision=None
        if d is None
        else out.AccessDecisionOut(
            by_user_id=d.by_user_id,
            at=_ts(d.at),
            note=d.note,
            approved_scopes=_scopes(d.approved_scopes),
            suggested_scopes=_scopes(d.suggested_scopes),
        ),
    )


def reporting(r: ReportingStatus) -> out.ReportingOut:
    def entry(open_session: OpenSession) -> out.ReportingSessionOut:
        return out.ReportingSessionOut(
            **_session_fields(open_session.session), stale=open_session.stale
        )

    return out.ReportingOut(
        workspace_slug=r.workspace_slug,
        generated_at=_ts(r.generated_at),
        open=[entry(s) for s in r.open],
        stale=[entry(s) for s in r.stale],
        missing=[
            out.MissingReportOut(
                issue_id=m.issue.id,
                identifier=m.issue.identifier,
                name=m.issue.name,
                project_id=m.issue.project_id,
                state=state(m.issue.state),
                agent_ids=list(m.agent_ids),
            )
            for m in r.missing
        ],
    )


def feature(f: FeatureStatus) -> out.FeatureOut:
    entitled = {Entitlement.ENTITLED: True, Entitlement.NOT_ENTITLED: False}.get(f.entitlement)
    return out.FeatureOut(
        workspace_slug=f.workspace_slug,
        user_id=f.user_id,
        visible=f.visible,
        tasker_access=f.tasker_access,
        launcher_entitled=entitled,
        workspace_policy=f.workspace_policy,
        reasons=list(f.reasons),
    )


def limit(p: RatePolicy) -> out.LimitOut:
    return out.LimitOut(name=p.name, limit=p.limit, period_s=p.period_s, burst=p.burst)


def _page_items(items: Any) -> list[Any]:
    return [shape(item) for item in items]


def shape(result: object) -> out.Out:
    """The contract shape of any result or listed value."""
    handler = _SHAPES.get(type(result))
    if handler is None:
        raise TypeError(f"no contract shape for {type(result).__name__}")
    return handler(result)


def _whoami(r: WhoAmI) -> out.WhoAmIOut:
    return out.WhoAmIOut(
        agent=agent(r.agent),
        grants=[
            out.WhoAmIGrantOut(
                id=g.id,
                workspace_slug=g.workspace_slug,
                project_id=g.project_id or None,
                scopes=_scopes(g.scopes),
                mode=_lit(g.mode),
                version=g.version,
            )
            for g in r.grants
        ],
        limits=[limit(p) for p in r.limits],
        tools=list(r.tools),
    )


def _project_view(r: ProjectView) -> out.ProjectResult:
    policy = r.policy or ProjectPolicy.default(
        r.details.project.workspace_slug, r.details.project.id
    )
    return out.ProjectResult(
        project=out.ProjectDetailsOut(
            **msgspec.structs.asdict(project(r.details.project)),
            states=[state(s) for s in r.details.states],
            labels=[label(lb) for lb in r.details.labels],
            members=[member(m) for m in r.details.members],
            card_rules=card_rules(policy.card_rules),
            stale_after_minutes=_minutes(policy.stale_after),
        )
    )


def _lifecycle(r: LifecycleApplied) -> out.LifecycleOut:
    status: Literal["active", "suspended", "deleted"] = _lit(r.status)
    return out.LifecycleOut(
        owner_user_id=r.owner_user_id,
        status=status,
        agents_changed=list(r.agents_changed),
        tokens_revoked=r.tokens_revoked,
    )


_SHAPES: dict[type[Any], Callable[[Any], out.Out]] = {
    Agent: agent,
    AgentToken: token,
    Grant: grant,
    GrantVersion: grant_version,
    AuditEvent: audit_event,
    Project: project,
    Issue: issue,
    Comment: comment,
    Member: member,
    WhoAmI: _whoami,
    Page: lambda r: out.Page(items=_page_items(r.items), next_cursor=r.next_cursor),
    ProjectView: _project_view,
    IssueView: lambda r: out.IssueDetailResult(
        issue=out.IssueDetailOut(
            **_issue_fields(r.issue),
            comments=[comment(c) for c in r.comments],
            card=None if r.card is None else card(r.card),
        )
    ),
    CardWritten: lambda r: out.IssueResult(
        issue=out.IssueCardOut(**_issue_fields(r.issue), card=card(r.card))
    ),
    SessionWritten: lambda r: out.SessionResult(
        session=session(r.session), comment_id=r.comment_id
    ),
    WorkSession: session,
    AccessRequest: access_request,
    AccessRequestFiled: lambda r: out.RequestResult(request=access_request(r.request)),
    AccessRequestDecided: lambda r: out.AccessDecisionResult(
        request=access_request(r.request), grant=None if r.grant is None else grant(r.grant)
    ),
    ProjectPolicyView: lambda r: project_policy(r.policy),
    ReportingStatus: reporting,
    FeatureStatus: feature,
    IssueWritten: lambda r: out.IssueResult(issue=issue(r.issue)),
    CommentWritten: lambda r: out.CommentResult(comment=comment(r.comment)),
    MemberAdded: lambda r: out.MemberResult(member=member(r.member), project=project(r.project)),
    TokenIssued: issued_token,
    TokenView: lambda r: token(r.token),
    PairingCodeIssued: lambda r: out.PairingCodeOut(
        code=r.code, agent_id=r.agent_id, expires_at=_ts(r.expires_at)
    ),
    Redeemed: lambda r: out.RedeemOut(
        token=r.issued.secret.reveal(),
        agent_id=r.issued.token.agent_id,
        token_id=r.issued.token.id,
        expires_at=_ts(r.issued.token.expires_at),
        mcp_url=r.mcp_url,
    ),
    GrantView: lambda r: grant(r.grant),
    GrantHistory: lambda r: out.Page(
        items=[grant_version(v) for v in r.versions], next_cursor=None
    ),
    AuditPage: lambda r: out.Page(
        items=[audit_event(e) for e in r.events], next_cursor=r.next_cursor
    ),
    LifecycleApplied: _lifecycle,
}


class ContractPresenter:
    """`ResultPresenter`: results as plain JSON-ready dicts of their contract shape."""

    def present(self, result: object) -> dict[str, Any]:
        body = msgspec.to_builtins(shape(result))
        assert isinstance(body, dict)
        return body
