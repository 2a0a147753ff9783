"""Work sessions (reporting mode): an agent says it started on a card, reports progress, and
finishes. A session with no report for longer than its project's threshold is stale."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import ValidationFailed

MAX_SUMMARY = 2_000
MAX_NOTE = 10_000
DEFAULT_STALE_AFTER = timedelta(hours=1)


class SessionStatus(StrEnum):
    OPEN = "open"
    FINISHED = "finished"


class SessionOutcome(StrEnum):
    DONE = "done"
    BLOCKED = "blocked"
    HANDOFF = "handoff"


def summary_text(value: object, field: str = "summary") -> str:
    return validation.text(value, field, max_length=MAX_SUMMARY)


def outcome_of(value: object) -> SessionOutcome:
    if value not in {o.value for o in SessionOutcome}:
        raise ValidationFailed.field("outcome", "must be one of done, blocked, handoff")
    return SessionOutcome(str(value))


@attrs.define
class WorkSession:
    id: str
    agent_id: str
    owner_user_id: str
    workspace_slug: str
    project_id: str
    issue_id: str
    issue_identifier: str
    summary: str
    status: SessionStatus
    outcome: SessionOutcome | None
    finish_summary: str | None
    started_at: datetime
    last_report_at: datetime
    finished_at: datetime | None
    reports: int

    @classmethod
    def start(
        cls,
        *,
        session_id: str,
        agent_id: str,
        owner_user_id: str,
        workspace_slug: str,
        project_id: str,
        issue_id: str,
        issue_identifier: str,
        summary: object,
        now: datetime,
    ) -> WorkSession:
        return cls(
            id=session_id,
            agent_id=agent_id,
            owner_user_id=owner_user_id,
            workspace_slug=workspace_slug,
            project_id=project_id,
            issue_id=issue_id,
            issue_identifier=issue_identifier,
            summary=summary_text(summary),
            status=SessionStatus.OPEN,
            outcome=None,
            finish_summary=None,
            started_at=now,
            last_report_at=now,
            finished_at=None,
            reports=0,
        )

    @property
    def is_open(self) -> bool:
        return self.status is SessionStatus.OPEN

    def report(self, now: datetime) -> None:
        self.require_open()
        self.reports += 1
        self.last_report_at = now

    def finish(self, outcome: object, summary: object, now: datetime) -> None:
        """Finish once; a second finish is refused (the first outcome stands)."""
        self.require_open()
        self.outcome = outcome_of(outcome)
        self.finish_summary = summary_text(summary)
        self.status = SessionStatus.FINISHED
        self.finished_at = now
        self.last_report_at = now

    def is_stale(self, now: datetime, stale_after: timedelta = DEFAULT_STALE_AFTER) -> bool:
        return self.is_open and now - self.last_report_at > stale_after

    def require_open(self) -> None:
        if not self.is_open:
            raise ValidationFailed.field(
                "session_id", "this work session is already finished; start a new one"
            )
