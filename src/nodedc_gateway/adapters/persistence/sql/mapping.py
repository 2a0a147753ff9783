"""Rows ↔ domain objects, explicitly, one pair of functions per aggregate.

Reading goes through the domain's own types (enums, frozensets), so a row the domain
cannot represent fails loudly here instead of leaking into a decision. The one deliberate
leniency: scope strings the domain does not know are dropped (stored data may predate a
change to the scope list); denied scopes are kept, since evaluation ignores them itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, TypeAlias

from sqlalchemy import Row

from nodedc_gateway.domain.access_requests import AccessDecision, AccessRequest, RequestStatus
from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.audit import (
    AuditDecision,
    AuditDraft,
    AuditEvent,
    ChainHead,
    hashed_body,
)
from nodedc_gateway.domain.cards import CardRules
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import (
    Grant,
    GrantChange,
    GrantMode,
    GrantRef,
    GrantStatus,
    GrantVersion,
)
from nodedc_gateway.domain.idempotency import IdempotencyRecord, RecordStatus, StoredResponse
from nodedc_gateway.domain.pairing import PairingCode, PairingStatus
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.scopes import Scope
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus
from nodedc_gateway.domain.work_sessions import SessionOutcome, SessionStatus, WorkSession

Values = dict[str, Any]
#: A result row of any width.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]

#: Each scope by its stored value (a lookup, not an enum call: a caller's grants are read
#: on every call).
_SCOPES_BY_VALUE = {scope.value: scope for scope in Scope}


def scopes_to_json(scopes: Iterable[Scope]) -> list[str]:
    return sorted(str(scope) for scope in scopes)


def scopes_from_json(stored: object) -> frozenset[Scope]:
    if not isinstance(stored, list):
        raise TypeError("stored scopes must be a JSON list")
    return frozenset(
        _SCOPES_BY_VALUE[s] for s in stored if isinstance(s, str) and s in _SCOPES_BY_VALUE
    )


# --- agents -----------------------------------------------------------------------------


def agent_values(agent: Agent) -> Values:
    return {
        "id": agent.id,
        "owner_user_id": agent.owner_user_id,
        "owner_email": agent.owner_email,
        "display_name": agent.display_name,
        "avatar_url": agent.avatar_url,
        "status": str(agent.status),
        "created_at": agent.created_at,
        "updated_at": agent.updated_at,
    }


def agent_from_row(row: AnyRow) -> Agent:
    return Agent(
        id=row.id,
        owner_user_id=row.owner_user_id,
        owner_email=row.owner_email,
        display_name=row.display_name,
        avatar_url=row.avatar_url,
        status=AgentStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# --- tokens and pairing codes -----------------------------------------------------------


def token_values(token: AgentToken) -> Values:
    return {
        "id": token.id,
        "agent_id": token.agent_id,
        "name": token.name,
        "token_hash": token.token_hash,
        "status": str(token.status),
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "created_at": token.created_at,
    }


def token_from_row(row: AnyRow) -> AgentToken:
    return AgentToken(
        id=row.id,
        agent_id=row.agent_id,
        name=row.name,
        token_hash=row.token_hash,
        status=TokenStatus(row.status),
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        created_at=row.created_at,
    )


def pairing_code_values(code: PairingCode) -> Values:
    return {
        "id": code.id,
        "agent_id": code.agent_id,
        "code_hash": code.code_hash,
        "status": str(code.status),
        "expires_at": code.expires_at,
        "created_at": code.created_at,
        "used_at": code.used_at,
    }


def pairing_code_from_row(row: AnyRow) -> PairingCode:
    return PairingCode(
        id=row.id,
        agent_id=row.agent_id,
        code_hash=row.code_hash,
        status=PairingStatus(row.status),
        expires_at=row.expires_at,
        created_at=row.created_at,
        used_at=row.used_at,
    )


# --- grants -----------------------------------------------------------------------------


def grant_values(grant: Grant) -> Values:
    return {
        "id": grant.id,
        "agent_id": grant.agent_id,
        "workspace_slug": grant.workspace_slug,
        "project_id": grant.project_id,
        "scopes": scopes_to_json(grant.scopes),
        "mode": str(grant.mode),
        "version": grant.version,
        "status": str(grant.status),
        "created_by_user_id": grant.created_by_user_id,
        "created_at": grant.created_at,
        "updated_at": grant.updated_at,
    }


def grant_from_row(row: AnyRow) -> Grant:
    return Grant(
        id=row.id,
        agent_id=row.agent_id,
        workspace_slug=row.workspace_slug,
        project_id=row.project_id,
        scopes=scopes_from_json(row.scopes),
        mode=GrantMode(row.mode),
        version=row.version,
        status=GrantStatus(row.status),
        created_by_user_id=row.created_by_user_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def grant_version_values(version: GrantVersion) -> Values:
    return {
        "grant_id": version.grant_id,
        "version": version.version,
        "agent_id": version.agent_id,
        "workspace_slug": version.workspace_slug,
        "project_id": version.project_id,
        "scopes": scopes_to_json(version.scopes),
        "mode": str(version.mode),
        "status": str(version.status),
        "change": str(version.change),
        "changed_by_user_id": version.changed_by_user_id,
        "changed_at": version.changed_at,
        "note": version.note,
    }


def grant_version_from_row(row: AnyRow) -> GrantVersion:
    return GrantVersion(
        grant_id=row.grant_id,
        agent_id=row.agent_id,
        version=row.version,
        workspace_slug=row.workspace_slug,
        project_id=row.project_id,
        scopes=scopes_from_json(row.scopes),
        mode=GrantMode(row.mode),
        status=GrantStatus(row.status),
        change=GrantChange(row.change),
        changed_by_user_id=row.changed_by_user_id,
        changed_at=row.changed_at,
        note=row.note,
    )


# --- idempotency ------------------------------------------------------------------------


def idempotency_values(record: IdempotencyRecord) -> Values:
    response = record.response
    return {
        "scope": record.scope,
        "key": record.key,
        "fingerprint": record.fingerprint,
        "operation": record.operation,
        "status": str(record.status),
        "response_ok": None if response is None else response.ok,
        "response_body": None if response is None else dict(response.body),
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "locked_until": record.locked_until,
    }


def idempotency_from_row(row: AnyRow) -> IdempotencyRecord:
    response = (
        None if row.response_ok is None else StoredResponse(row.response_ok, row.response_body)
    )
    return IdempotencyRecord(
        scope=row.scope,
        key=row.key,
        fingerprint=row.fingerprint,
        operation=row.operation,
        status=RecordStatus(row.status),
        response=response,
        created_at=row.created_at,
        expires_at=row.expires_at,
        locked_until=row.locked_until,
    )


# --- audit ------------------------------------------------------------------------------


def audit_event_values(event: AuditEvent) -> Values:
    """The row holds what the chain hashes (`hashed_body`), with its time as a timestamp
    column, and the two hashes."""
    draft = event.draft
    return {
        **hashed_body(draft, event.chain_id, event.seq),
        "created_at": draft.created_at,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def audit_event_from_row(row: AnyRow) -> AuditEvent:
    draft = AuditDraft(
        id=row.id,
        agent_id=row.agent_id,
        owner_user_id=row.owner_user_id,
        actor_user_id=row.actor_user_id,
        event_type=row.event_type,
        operation=row.operation,
        decision=AuditDecision(row.decision),
        reason=None if row.reason is None else ErrorCode(row.reason),
        target=row.target,
        grant_versions=tuple(_grant_ref(ref) for ref in row.grant_versions),
        metadata=row.metadata,
        created_at=row.created_at,
    )
    return AuditEvent(
        draft=draft, chain_id=row.chain_id, seq=row.seq, prev_hash=row.prev_hash, hash=row.hash
    )


def _grant_ref(stored: Mapping[str, Any]) -> GrantRef:
    return GrantRef(str(stored["grant_id"]), int(stored["version"]))


def chain_head_from_row(row: AnyRow) -> ChainHead | None:
    """A head row with no events yet (seq 0, inserted to lock on) is no head at all."""
    if row.seq == 0:
        return None
    return ChainHead(chain_id=row.chain_id, seq=row.seq, last_hash=row.last_hash)


def access_request_values(request: AccessRequest) -> Values:
    decision = request.decision
    return {
        "id": request.id,
        "agent_id": request.agent_id,
        "owner_user_id": request.owner_user_id,
        "workspace_slug": request.workspace_slug,
        "project_ref": request.project_ref,
        "scopes": scopes_to_json(request.scopes),
        "justification": request.justification,
        "status": str(request.status),
        "created_at": request.created_at,
        "expires_at": request.expires_at,
        "decided_by_user_id": decision.by_user_id if decision else None,
        "decided_at": decision.at if decision else None,
        "decision_note": decision.note if decision else None,
        "approved_scopes": scopes_to_json(decision.approved_scopes) if decision else None,
        "suggested_scopes": scopes_to_json(decision.suggested_scopes) if decision else None,
    }


def access_request_from_row(row: AnyRow) -> AccessRequest:
    decision = None
    if row.decided_at is not None:
        decision = AccessDecision(
            by_user_id=row.decided_by_user_id,
            at=row.decided_at,
            note=row.decision_note,
            approved_scopes=scopes_from_json(row.approved_scopes or []),
            suggested_scopes=scopes_from_json(row.suggested_scopes or []),
        )
    return AccessRequest(
        id=row.id,
        agent_id=row.agent_id,
        owner_user_id=row.owner_user_id,
        workspace_slug=row.workspace_slug,
        project_ref=row.project_ref,
        scopes=scopes_from_json(row.scopes),
        justification=row.justification,
        status=RequestStatus(row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        decision=decision,
    )


def work_session_values(session: WorkSession) -> Values:
    return {
        "id": session.id,
        "agent_id": session.agent_id,
        "owner_user_id": session.owner_user_id,
        "workspace_slug": session.workspace_slug,
        "project_id": session.project_id,
        "issue_id": session.issue_id,
        "issue_identifier": session.issue_identifier,
        "summary": session.summary,
        "status": str(session.status),
        "outcome": None if session.outcome is None else str(session.outcome),
        "finish_summary": session.finish_summary,
        "started_at": session.started_at,
        "last_report_at": session.last_report_at,
        "finished_at": session.finished_at,
        "reports": session.reports,
    }


def work_session_from_row(row: AnyRow) -> WorkSession:
    return WorkSession(
        id=row.id,
        agent_id=row.agent_id,
        owner_user_id=row.owner_user_id,
        workspace_slug=row.workspace_slug,
        project_id=row.project_id,
        issue_id=row.issue_id,
        issue_identifier=row.issue_identifier,
        summary=row.summary,
        status=SessionStatus(row.status),
        outcome=None if row.outcome is None else SessionOutcome(row.outcome),
        finish_summary=row.finish_summary,
        started_at=row.started_at,
        last_report_at=row.last_report_at,
        finished_at=row.finished_at,
        reports=row.reports,
    )


def card_rules_to_json(rules: CardRules) -> dict[str, Any]:
    return {
        "required_blocks": sorted(str(name) for name in rules.required_blocks),
        "max_block_chars": rules.max_block_chars,
        "max_checkers": rules.max_checkers,
        "max_checker_chars": rules.max_checker_chars,
        "max_description_chars": rules.max_description_chars,
    }


def card_rules_from_json(stored: Mapping[str, Any]) -> CardRules:
    return CardRules(**dict(stored))


def project_policy_values(policy: ProjectPolicy) -> Values:
    return {
        "workspace_slug": policy.workspace_slug,
        "project_id": policy.project_id,
        "card_rules": card_rules_to_json(policy.card_rules),
        "stale_after_s": int(policy.stale_after.total_seconds()),
    }


def project_policy_from_row(row: AnyRow) -> ProjectPolicy:
    return ProjectPolicy(
        workspace_slug=row.workspace_slug,
        project_id=row.project_id,
        card_rules=card_rules_from_json(row.card_rules),
        stale_after=timedelta(seconds=row.stale_after_s),
    )
