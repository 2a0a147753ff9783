"""An agent's audit events, as its owner reads them (CONTRACT §5)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.ownership import (
    owned_agent,
    page_limit,
)
from nodedc_gateway.application.pipeline import OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    AuditPage,
)
from nodedc_gateway.domain.audit import MAX_EVENT_NAME, MAX_SEQ_DIGITS, AuditDecision
from nodedc_gateway.domain.canonical import parse_timestamp
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.ports.audit import AuditQuery
from nodedc_gateway.ports.unit_of_work import UnitOfWork


class ListAuditEvents(OwnerAction[AuditPage]):
    """An agent's audit events, newest first; the cursor is the oldest `seq` seen."""

    operation = CATALOGUE["list_audit_events"]

    def __init__(self, agent_id: str, params: Mapping[str, Any]) -> None:
        self.agent_id = agent_id
        args = Arguments(
            params, ("limit", "cursor", "operation", "decision", "event_type", "since", "until")
        )
        cursor = args.get("cursor")
        if cursor is not None and (not str(cursor).isdigit() or len(str(cursor)) > MAX_SEQ_DIGITS):
            raise ValidationFailed.field("cursor", "not a cursor this route returned")
        decision = args.get("decision")
        if decision is not None and decision not in ("allow", "deny"):
            raise ValidationFailed.field("decision", "must be 'allow' or 'deny'")
        self.query = AuditQuery(
            agent_id=agent_id,
            limit=page_limit(args.get("limit")),
            before_seq=int(cursor) if cursor is not None else None,
            operation=args.text("operation", max_length=MAX_EVENT_NAME, required=False),
            decision=AuditDecision(decision) if decision is not None else None,
            event_type=args.text("event_type", max_length=MAX_EVENT_NAME, required=False),
            since=_timestamp(args.get("since"), "since"),
            until=_timestamp(args.get("until"), "until"),
        )

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> AuditPage:
        agent = await owned_agent(uow, call, self.agent_id)
        limit = self.query.limit
        events = list(
            await uow.audit.query(attrs.evolve(self.query, agent_id=agent.id, limit=limit + 1))
        )
        more = len(events) > limit
        events = events[:limit]
        return AuditPage(tuple(events), str(events[-1].seq) if more else None)


def _timestamp(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(str(value))
    except ValueError:
        raise ValidationFailed.field(field, "must be an RFC 3339 timestamp") from None
