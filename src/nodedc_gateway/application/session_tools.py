"""Reporting mode: `start_work_session`, `report_progress`, `finish_work_session`. Each
is visible on the card as a comment, and recorded as a work session the reporting view
reads (open, stale, or missing where a started card has none)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nodedc_gateway.application import tool_arguments
from nodedc_gateway.application.agent_tools import (
    Tool,
)
from nodedc_gateway.application.card_tools import write_card
from nodedc_gateway.application.pipeline import AgentCall, Located
from nodedc_gateway.application.results import SessionWritten
from nodedc_gateway.application.targeting import require_open_workspace
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.cards import MAX_CHECKERS_PER_CALL
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.grants import Target
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.tasker import parse_issue_ref
from nodedc_gateway.domain.work_sessions import (
    MAX_NOTE,
    WorkSession,
    outcome_of,
    summary_text,
)
from nodedc_gateway.ports.unit_of_work import UnitOfWork

OPEN_SESSIONS_SCANNED = 500


class StartWorkSessionTool(Tool):
    operation = CATALOGUE["start_work_session"]
    argument_model = tool_arguments.START_WORK_SESSION

    async def locate(self, call: AgentCall) -> Located:
        return Located(
            await self.project_target(call), found=parse_issue_ref(self.args.get("issue"))
        )

    async def act(self, call: AgentCall, located: Located) -> SessionWritten:
        summary = summary_text(self.args.get("summary"))
        workspace, project_id, issue = await self.issue_in(located)
        async with self.deps.uow() as uow:
            open_sessions = await uow.work_sessions.list_open(
                workspace, limit=OPEN_SESSIONS_SCANNED
            )
        for session in open_sessions:
            if session.agent_id == call.agent.id and session.issue_id == issue.id:
                raise ValidationFailed.field(
                    "issue",
                    f"this agent already has an open work session on {issue.identifier}: "
                    f"{session.id}; report to it or finish it",
                    session_id=session.id,
                )
        comment = await self.deps.tasker.add_comment(
            workspace,
            project_id,
            issue.id,
            self.deps.markup.to_html(
                f"**Work session started** by {call.actor.display_name}: {summary}"
            ),
            actor=call.actor,
            external_id=call.external_id,
        )
        session = WorkSession.start(
            session_id=self.deps.ids.new_id(),
            agent_id=call.agent.id,
            owner_user_id=call.agent.owner_user_id,
            workspace_slug=workspace,
            project_id=project_id,
            issue_id=issue.id,
            issue_identifier=issue.identifier,
            summary=summary,
            now=call.now,
        )
        return SessionWritten(session, comment.id)

    async def persist(self, uow: UnitOfWork, call: AgentCall, result: Any) -> None:
        await uow.work_sessions.add(result.session)

    def describe(self, result: Any) -> Mapping[str, Any]:
        return {"session_id": result.session.id, "issue_id": result.session.issue_id}


class _SessionTool(Tool):
    """A tool addressing an open work session of the calling agent by `session_id`."""

    async def locate(self, call: AgentCall) -> Located:
        session_id = validation.text(
            self.args.get("session_id"), "session_id", max_length=validation.MAX_ID_INPUT
        )
        async with self.deps.uow() as uow:
            session = await uow.work_sessions.get(session_id)
        if session is None or session.agent_id != call.agent.id:
            raise NotFound(
                "No such work session of this agent (start_work_session returns its id)."
            )
        await require_open_workspace(self.deps, call, session.workspace_slug)
        return Located(
            Target(session.workspace_slug, session.project_id), self.fields(), found=session
        )

    def fields(self) -> frozenset[str]:
        return frozenset()

    def session(self, located: Located) -> WorkSession:
        session: WorkSession = located.found
        session.require_open()
        return session

    def describe(self, result: Any) -> Mapping[str, Any]:
        return {"session_id": result.session.id, "issue_id": result.session.issue_id}

    async def comment(self, call: AgentCall, session: WorkSession, markdown: str) -> str:
        """Comment on the session's card as the agent; the comment's id."""
        comment = await self.deps.tasker.add_comment(
            session.workspace_slug,
            session.project_id,
            session.issue_id,
            self.deps.markup.to_html(markdown),
            actor=call.actor,
            external_id=call.external_id,
        )
        return comment.id

    async def persist(self, uow: UnitOfWork, call: AgentCall, result: Any) -> None:
        stored = await uow.work_sessions.get(result.session.id)
        if stored is None:  # pragma: no cover - sessions are never deleted
            raise NotFound("The work session is gone.")
        self.replay(stored, result.session, call.now)  # refuses one finished meanwhile
        await uow.work_sessions.save(stored)

    def replay(self, stored: WorkSession, session: WorkSession, now: datetime) -> None:
        """Apply to the stored session what `act` did to its copy."""
        raise NotImplementedError


class ReportProgressTool(_SessionTool):
    operation = CATALOGUE["report_progress"]
    argument_model = tool_arguments.REPORT_PROGRESS

    def fields(self) -> frozenset[str]:
        return (
            frozenset({"check"})
            if self.args.list("check", max_items=MAX_CHECKERS_PER_CALL)
            else frozenset()
        )

    async def act(self, call: AgentCall, located: Located) -> SessionWritten:
        session = self.session(located)
        note = self.args.body("note", max_length=MAX_NOTE)
        assert note is not None
        check = self.args.list("check", max_items=MAX_CHECKERS_PER_CALL)
        issue_located = Located(located.target, found=session.issue_id)
        if check:
            await write_card(
                self, call, issue_located, lambda card: card.update_checkers(check=check)
            )
        comment_id = await self.comment(call, session, f"**Progress**: {note}")
        session.report(call.now)
        return SessionWritten(session, comment_id)

    def replay(self, stored: WorkSession, session: WorkSession, now: datetime) -> None:
        stored.report(now)


class FinishWorkSessionTool(_SessionTool):
    operation = CATALOGUE["finish_work_session"]
    argument_model = tool_arguments.FINISH_WORK_SESSION

    async def act(self, call: AgentCall, located: Located) -> SessionWritten:
        session = self.session(located)
        outcome = outcome_of(self.args.get("outcome"))
        summary = summary_text(self.args.get("summary"))
        finished = f"**Work session finished** ({outcome}): {summary}"
        comment_id = await self.comment(call, session, finished)
        session.finish(outcome, summary, call.now)
        return SessionWritten(session, comment_id)

    def replay(self, stored: WorkSession, session: WorkSession, now: datetime) -> None:
        stored.finish(session.outcome, session.finish_summary, now)
