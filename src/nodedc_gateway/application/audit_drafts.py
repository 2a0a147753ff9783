"""The audit drafts the pipeline writes: one per agent decision (allow or deny), one per
note an owner's action leaves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditDecision, AuditDraft
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import GrantRef, Target
from nodedc_gateway.domain.operations import Operation
from nodedc_gateway.ports.ids import IdGenerator

if TYPE_CHECKING:
    from nodedc_gateway.application.pipeline import AuditNote, OwnerCall

TOOL_CALL = "tool_call"


def agent_draft(
    ids: IdGenerator,
    agent: Agent,
    operation: Operation | str,
    now: datetime,
    decision: AuditDecision,
    reason: ErrorCode | None,
    target: Target | None,
    grant_versions: tuple[GrantRef, ...] = (),
    metadata: Mapping[str, Any] | None = None,
) -> AuditDraft:
    return AuditDraft(
        id=ids.new_id(),
        agent_id=agent.id,
        owner_user_id=agent.owner_user_id,
        actor_user_id=None,
        event_type=TOOL_CALL,
        operation=operation if isinstance(operation, str) else operation.name,
        decision=decision,
        reason=reason,
        target=target.as_dict() if target is not None else {},
        grant_versions=grant_versions,
        metadata=dict(metadata or {}),
        created_at=now,
    )


def owner_draft(
    ids: IdGenerator, call: OwnerCall, operation: Operation, note: AuditNote
) -> AuditDraft:
    return AuditDraft(
        id=ids.new_id(),
        agent_id=note.agent_id,
        owner_user_id=note.owner_user_id or call.owner_user_id,
        actor_user_id=None if note.owner_user_id else call.actor_user_id,
        event_type=note.event_type,
        operation=operation.name,
        decision=AuditDecision.ALLOW,
        reason=None,
        target=dict(note.target),
        grant_versions=note.grant_versions,
        metadata=dict(note.metadata),
        created_at=call.now,
    )
