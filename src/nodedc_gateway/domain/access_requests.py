"""Access requests (from TaskForge): an agent asks for scopes with a justification; a person
approves (possibly fewer scopes), denies (with a reason) or suggests other scopes. Pending
requests expire after 7 days. Human-only scopes can be neither requested nor approved."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.scopes import Scope, parse_grantable_scopes

ACCESS_REQUEST_TTL = timedelta(days=7)
MAX_JUSTIFICATION = 2_000
MAX_NOTE = 2_000
#: An agent cannot flood its owner: at most this many requests pending at once.
MAX_PENDING_PER_AGENT = 20


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    ALTERNATIVE_SUGGESTED = "alternative_suggested"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class DecisionKind(StrEnum):
    APPROVE = "approve"
    DENY = "deny"
    SUGGEST = "suggest"


@attrs.frozen
class AccessDecision:
    by_user_id: str
    at: datetime
    note: str | None
    approved_scopes: frozenset[Scope] = frozenset()
    suggested_scopes: frozenset[Scope] = frozenset()


def _note(value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if value is None:
        raise ValidationFailed.field("note", "a reason is required")
    return validation.text(value, "note", max_length=MAX_NOTE)


@attrs.define
class AccessRequest:
    id: str
    agent_id: str
    owner_user_id: str
    workspace_slug: str
    #: The project's id, resolved in Tasker when filed ("" for the workspace); requests
    #: filed before that hold the reference as typed (a UUID or an identifier like `DEMO`).
    project_ref: str
    scopes: frozenset[Scope]
    justification: str
    status: RequestStatus
    created_at: datetime
    expires_at: datetime
    decision: AccessDecision | None = None

    @classmethod
    def file(
        cls,
        *,
        request_id: str,
        agent_id: str,
        owner_user_id: str,
        workspace_slug: object,
        project_ref: str,
        scopes: Iterable[object],
        justification: object,
        now: datetime,
    ) -> AccessRequest:
        """A new pending request; unknown scopes are invalid, human-only ones refused."""
        return cls(
            id=request_id,
            agent_id=agent_id,
            owner_user_id=owner_user_id,
            workspace_slug=validation.workspace_slug(workspace_slug),
            project_ref=project_ref,
            scopes=parse_grantable_scopes(scopes),
            justification=validation.text(
                justification, "justification", max_length=MAX_JUSTIFICATION
            ),
            status=RequestStatus.PENDING,
            created_at=now,
            expires_at=now + ACCESS_REQUEST_TTL,
        )

    def status_at(self, now: datetime) -> RequestStatus:
        if self.status is RequestStatus.PENDING and now >= self.expires_at:
            return RequestStatus.EXPIRED
        return self.status

    def approve(
        self,
        *,
        by_user_id: str,
        now: datetime,
        scopes: Iterable[object] | None = None,
        note: object = None,
    ) -> frozenset[Scope]:
        """Approve all requested scopes, or the narrower `scopes` given; returns them."""
        self._require_pending(now)
        approved = self.scopes if scopes is None else parse_grantable_scopes(scopes)
        wider = approved - self.scopes
        if wider:
            raise ValidationFailed.field(
                "scopes",
                "an approval can only narrow the request; not requested: "
                + ", ".join(sorted(wider)),
            )
        self._decide(
            RequestStatus.APPROVED,
            AccessDecision(by_user_id, now, _note(note, required=False), approved),
        )
        return approved

    def deny(self, *, by_user_id: str, now: datetime, note: object) -> None:
        self._require_pending(now)
        self._decide(
            RequestStatus.DENIED, AccessDecision(by_user_id, now, _note(note, required=True))
        )

    def suggest(
        self, *, by_user_id: str, now: datetime, scopes: Iterable[object], note: object
    ) -> None:
        self._require_pending(now)
        suggested = parse_grantable_scopes(scopes)
        self._decide(
            RequestStatus.ALTERNATIVE_SUGGESTED,
            AccessDecision(by_user_id, now, _note(note, required=True), suggested_scopes=suggested),
        )

    def _decide(self, status: RequestStatus, decision: AccessDecision) -> None:
        self.status = status
        self.decision = decision

    def _require_pending(self, now: datetime) -> None:
        status = self.status_at(now)
        if status is not RequestStatus.PENDING:
            raise ValidationFailed.field("request_id", f"the request is {status}, not pending")
