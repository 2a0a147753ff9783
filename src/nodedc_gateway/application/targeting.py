"""Targeting: what an agent's call is about. `DEMO` and `DEMO-12` resolve through Tasker
only where the agent holds some grant, so nothing leaks about other workspaces; a
workspace whose admins switched agents off refuses every call at once.
"""

from __future__ import annotations

import attrs

from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.pipeline import AgentCall, RateLimits
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import NotFound, NotGranted
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Target
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.tasker import (
    IssueKey,
    Project,
    parse_issue_ref,
    parse_project_ref,
)
from nodedc_gateway.ports.ids import IdGenerator
from nodedc_gateway.ports.markup import MarkupRenderer
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory


@attrs.frozen
class ToolDeps:
    tasker: TaskerPort
    markup: MarkupRenderer
    uow: UnitOfWorkFactory
    ids: IdGenerator
    limits: RateLimits = RateLimits()

    async def project_policy(self, workspace_slug: str, project_id: str) -> ProjectPolicy:
        """The project's card rules and reporting threshold (defaults when none is set)."""
        async with self.uow() as uow:
            policy = await uow.project_policies.get(workspace_slug, project_id)
        return policy or ProjectPolicy.default(workspace_slug, project_id)


# --- locating targets ---------------------------------------------------------------


async def locate_project(
    deps: ToolDeps, call: AgentCall, workspace_raw: object, project_raw: object
) -> tuple[Target, Project | None]:
    """The project target. A UUID needs no lookup; an identifier is looked up only in a
    workspace where the agent holds a grant. Unresolvable → the workspace itself, which
    only a workspace-level grant covers (and `act` then reports not found)."""
    workspace = validation.workspace_slug(workspace_raw)
    ref = parse_project_ref(project_raw)
    if workspace not in call.caller.index.workspaces:
        return Target(workspace, WORKSPACE_LEVEL), None
    await require_open_workspace(deps, call, workspace)
    if validation.is_uuid(ref):
        return Target(workspace, ref), None
    try:
        project = await deps.tasker.find_project(workspace, ref)
    except NotFound:
        return Target(workspace, WORKSPACE_LEVEL), None
    return Target(workspace, project.id), project


async def locate_issue(
    deps: ToolDeps, call: AgentCall, args: Arguments
) -> tuple[Target, str | IssueKey]:
    """The target of an issue tool: its `project_id`, else the project of a `DEMO-12`
    key, else (a bare UUID) the project Tasker says the issue is in."""
    issue_ref = parse_issue_ref(args.get("issue"))
    if args.given("project_id"):
        target, _ = await locate_project(
            deps, call, args.get("workspace_slug"), args.get("project_id")
        )
        return target, issue_ref
    if isinstance(issue_ref, IssueKey):
        target, _ = await locate_project(
            deps, call, args.get("workspace_slug"), issue_ref.project_identifier
        )
        return target, issue_ref
    workspace = validation.workspace_slug(args.get("workspace_slug"))
    if workspace not in call.caller.index.workspaces:
        return Target(workspace, WORKSPACE_LEVEL), issue_ref
    await require_open_workspace(deps, call, workspace)
    try:
        issue = await deps.tasker.get_issue(workspace, issue_ref)
    except NotFound:
        return Target(workspace, WORKSPACE_LEVEL), issue_ref
    return Target(workspace, issue.project_id), issue_ref


async def require_open_workspace(deps: ToolDeps, call: AgentCall, workspace: str) -> None:
    """Refuse calls into a workspace whose admins switched agents off (Tasker: Features),
    whatever grants say: the policy is asked on every call, so switching it off bites at once
    (read with the call's admission when it could be, else asked of Tasker here)."""
    known = call.workspace_policy
    try:
        if known is not None and known.workspace_slug == workspace:
            allowed = known.agents_allowed
        else:
            allowed = (await deps.tasker.workspace_policy(workspace)).agents_allowed
    except NotFound:
        allowed = False
    if not allowed:
        raise NotGranted(
            f"Workspace {workspace!r} does not allow agents (its admins switched the feature "
            "off in Tasker); nothing here can be done by an agent until it is on again."
        )
