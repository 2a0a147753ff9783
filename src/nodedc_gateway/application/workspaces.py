"""What Tasker shows about a workspace: reporting status (open, stale and missing work
sessions), whether the Codex agents feature is shown to a user, and each project's policy
(card rules, reporting threshold)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import ProjectPolicyView
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.agents import MAX_USER_ID
from nodedc_gateway.domain.cards import CardRules
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.errors import NotFound, ValidationFailed
from nodedc_gateway.domain.grants import GrantMode
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.tasker import Issue, IssueQuery, StateGroup, parse_project_ref
from nodedc_gateway.domain.work_sessions import WorkSession
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_OPEN_SESSIONS = 1_000
STARTED_PAGES = 5
PAGE = 100


@attrs.frozen
class OpenSession:
    session: WorkSession
    stale: bool


@attrs.frozen
class MissingReport:
    """A started card in a reporting project with no open session."""

    issue: Issue
    agent_ids: tuple[str, ...]


@attrs.frozen
class ReportingStatus:
    workspace_slug: str
    generated_at: datetime
    open: tuple[OpenSession, ...]
    missing: tuple[MissingReport, ...]

    @property
    def stale(self) -> tuple[OpenSession, ...]:
        return tuple(s for s in self.open if s.stale)


@attrs.frozen
class FeatureStatus:
    workspace_slug: str
    user_id: str
    tasker_access: bool
    entitlement: Entitlement
    workspace_policy: bool

    @property
    def visible(self) -> bool:
        return (
            self.tasker_access
            and self.entitlement is Entitlement.ENTITLED
            and self.workspace_policy
        )

    @property
    def reasons(self) -> tuple[str, ...]:
        reasons = []
        if not self.tasker_access:
            reasons.append("the user has no access to this workspace in Tasker")
        if self.entitlement is Entitlement.NOT_ENTITLED:
            reasons.append("Launcher does not entitle the user to codex_agents")
        if self.entitlement is Entitlement.UNKNOWN:
            reasons.append("Launcher could not be asked about the user's entitlement")
        if not self.workspace_policy:
            reasons.append("the workspace's policy does not allow agents")
        return tuple(reasons)


@attrs.frozen
class WorkspaceViews:
    uow: UnitOfWorkFactory
    tasker: TaskerPort
    entitlements: EntitlementService
    clock: Clock

    async def reporting(self, workspace_slug: object) -> ReportingStatus:
        """Open sessions (stale past their project's threshold), and started cards in
        reporting projects with no open session."""
        workspace = validation.workspace_slug(workspace_slug)
        now = self.clock.now()
        async with self.uow() as uow:
            grants = await uow.grants.list_by_workspace(workspace)
            sessions = await uow.work_sessions.list_open(workspace, limit=MAX_OPEN_SESSIONS)
            thresholds = {
                project: (await _policy(uow, workspace, project)).stale_after
                for project in {s.project_id for s in sessions}
            }
        reporting: dict[str, set[str]] = {}
        for grant in grants:
            if grant.mode is not GrantMode.REPORTING:
                continue
            projects = (
                [p.id for p in await self.tasker.list_projects(workspace)]
                if grant.is_workspace_level
                else [grant.project_id]
            )
            for project in projects:
                reporting.setdefault(project, set()).add(grant.agent_id)
        covered = {s.issue_id for s in sessions}
        missing = [
            MissingReport(issue, tuple(sorted(agents)))
            for project, agents in sorted(reporting.items())
            for issue in await self._started(workspace, project)
            if issue.id not in covered
        ]
        return ReportingStatus(
            workspace,
            now,
            tuple(OpenSession(s, s.is_stale(now, thresholds[s.project_id])) for s in sessions),
            tuple(missing),
        )

    async def _started(self, workspace: str, project: str) -> list[Issue]:
        found: list[Issue] = []
        cursor = None
        try:
            for _ in range(STARTED_PAGES):
                page = await self.tasker.search_issues(
                    workspace,
                    project,
                    IssueQuery(state_group=StateGroup.STARTED, limit=PAGE, cursor=cursor),
                )
                found += page.items
                cursor = page.next_cursor
                if cursor is None:
                    break
        except NotFound:
            return []  # the project is gone from Tasker; its grants no longer matter here
        return found

    async def feature(self, workspace_slug: object, user_id: object) -> FeatureStatus:
        """Whether Tasker shows `Workspace settings → Features → Codex agents` to a user."""
        workspace = validation.workspace_slug(workspace_slug)
        user = validation.text(user_id, "user_id", max_length=MAX_USER_ID)
        try:
            policy = (await self.tasker.workspace_policy(workspace)).agents_allowed
        except NotFound:
            policy = False
        return FeatureStatus(
            workspace,
            user,
            await self.tasker.user_has_access(workspace, user),
            await self.entitlements.entitlement(user, self.clock.now()),
            policy,
        )


async def _policy(uow: UnitOfWork, workspace: str, project: str) -> ProjectPolicy:
    return await uow.project_policies.get(workspace, project) or ProjectPolicy.default(
        workspace, project
    )


class GetProjectPolicy(OwnerAction[ProjectPolicyView]):
    operation = CATALOGUE["get_project_policy"]

    def __init__(self, tasker: TaskerPort, workspace_slug: object, project_ref: object) -> None:
        self.tasker = tasker
        self.workspace = validation.workspace_slug(workspace_slug)
        self.project_ref = parse_project_ref(project_ref)
        self.project_id = ""

    @property
    def owner(self) -> str:
        """Whom the pipeline files these calls under: the workspace (its slug checked)."""
        return f"workspace:{self.workspace}"

    async def prepare(self, call: OwnerCall) -> None:
        self.project_id = (await self.tasker.find_project(self.workspace, self.project_ref)).id

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> ProjectPolicyView:
        return ProjectPolicyView(await _policy(uow, self.workspace, self.project_id))


class SetProjectPolicy(GetProjectPolicy):
    """Replace a project's card rules and/or reporting threshold (what is not given stays)."""

    operation = CATALOGUE["set_project_policy"]
    rule_fields = (
        "required_blocks",
        "max_block_chars",
        "max_checkers",
        "max_checker_chars",
        "max_description_chars",
    )

    def __init__(
        self,
        tasker: TaskerPort,
        workspace_slug: object,
        project_ref: object,
        body: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(tasker, workspace_slug, project_ref)
        self.args = Arguments(body, ("card_rules", "stale_after_minutes"))
        if not self.args.raw:
            raise ValidationFailed.field("card_rules", "give card_rules and/or stale_after_minutes")

    def arguments(self) -> Mapping[str, Any]:
        return {"workspace": self.workspace, "project": self.project_ref, **self.args.raw}

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> ProjectPolicyView:
        policy = await _policy(uow, self.workspace, self.project_id)
        changes: dict[str, Any] = {}
        if self.args.given("card_rules"):
            changes["card_rules"] = self._rules(policy.card_rules)
        if self.args.given("stale_after_minutes"):
            minutes = self.args.get("stale_after_minutes")
            if isinstance(minutes, bool) or not isinstance(minutes, int):
                raise ValidationFailed.field("stale_after_minutes", "must be a whole number")
            changes["stale_after"] = timedelta(minutes=minutes)
        policy = attrs.evolve(policy, **changes)
        await uow.project_policies.put(policy)
        return ProjectPolicyView(policy)

    def _rules(self, current: CardRules) -> CardRules:
        given = self.args.get("card_rules")
        if not isinstance(given, Mapping):
            raise ValidationFailed.field("card_rules", "must be an object of rule: value")
        rules = Arguments(given, self.rule_fields)
        return attrs.evolve(current, **rules.raw)

    def audit(self, result: ProjectPolicyView) -> Sequence[AuditNote]:
        return [
            AuditNote(
                "project_policy.updated",
                None,
                dict(self.args.raw),
                (),
                {"workspace_slug": self.workspace, "project_id": self.project_id},
            )
        ]
