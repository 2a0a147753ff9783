"""The agent's tools (CONTRACT §4) as pipeline actions.

Each tool parses its arguments, locates its target (resolving `DEMO` and `DEMO-12` through
Tasker only where the agent holds some grant, so nothing leaks about other workspaces),
and acts through the Tasker port. Authorization, limits, idempotency and audit are the
pipeline's; nothing here repeats them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from nodedc_gateway.application import tool_arguments
from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.card_edits import card_argument, readable_card, with_blocks_kept
from nodedc_gateway.application.pipeline import AgentAction, AgentCall, Located
from nodedc_gateway.application.results import (
    CommentWritten,
    IssueView,
    IssueWritten,
    MemberAdded,
    Page,
    ProjectView,
    WhoAmI,
)
from nodedc_gateway.application.targeting import (
    ToolDeps,
    locate_issue,
    locate_project,
)
from nodedc_gateway.application.tool_arguments import ToolArguments, schema_refusal
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.cards import new_card
from nodedc_gateway.domain.errors import ErrorCode, NotFound, ValidationFailed
from nodedc_gateway.domain.evaluation import Decision
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Target
from nodedc_gateway.domain.operations import CATALOGUE, tools_usable_with
from nodedc_gateway.domain.tasker import (
    MAX_COMMENT,
    MAX_CURSOR_INPUT,
    MAX_DESCRIPTION,
    MAX_NAME_REF,
    MAX_QUERY,
    MAX_REFS_PER_CALL,
    UNSET,
    Issue,
    IssueChanges,
    IssueDraft,
    IssueQuery,
    Priority,
    Project,
    ProjectDetails,
    Unset,
    find_member,
    iso_date,
    issue_name,
    parse_issue_ref,
    priority,
    search_limit,
    state_group,
)

T = TypeVar("T")
MAX_LISTED_PROJECTS = 500
RECENT_COMMENTS = 10
IDEMPOTENCY = "idempotency_key"


async def resolving(
    deps: ToolDeps, workspace: str, project_id: str, resolve: Callable[[ProjectDetails], T]
) -> T:
    """`resolve` (names and ids to the project's states, labels, members) on the project's
    details; if it meets one they do not know, once more on details fetched afresh (Tasker
    may answer from a short cache, and people add states, labels and members at any time)."""
    details = await deps.tasker.get_project(workspace, project_id)
    try:
        return resolve(details)
    except ValidationFailed:
        fresh = await deps.tasker.get_project(workspace, project_id, fresh=True)
        if fresh == details:
            raise
        return resolve(fresh)


def _project_id(target: Target | None) -> str:
    """The located project, or not found (an identifier that did not resolve)."""
    if target is None or target.project_id == WORKSPACE_LEVEL:
        raise NotFound("No such project in this workspace (check list_projects).")
    return target.project_id


# --- tools ----------------------------------------------------------------------------


class Tool(AgentAction[Any]):
    """A tool built from its JSON arguments: checked once against its argument model (a
    refusal is raised inside the pipeline, so it is rate limited and audited like any
    other), then read with the domain's checks. The model's fields are what it accepts."""

    argument_model: ClassVar[type[ToolArguments]]

    def __init__(self, deps: ToolDeps, raw: Mapping[str, Any] | None) -> None:
        self.deps = deps
        given = dict(raw or {})
        self.refusal = schema_refusal(self.argument_model, given)
        if self.refusal is not None:  # nothing is read, no idempotency key is claimed
            self.args = Arguments({}, ())
            return
        self.args = Arguments(given, self.argument_model.model_fields)
        self.idempotency_key = self.args.idempotency_key() if self.operation.is_write else None

    def check(self) -> None:
        if self.refusal is not None:
            raise self.refusal

    def arguments(self) -> Mapping[str, Any]:
        return self.args.without(IDEMPOTENCY)

    async def project_target(self, call: AgentCall) -> Target:
        """The project that `workspace_slug` and `project_id` name: what is authorized."""
        target, _ = await locate_project(
            self.deps, call, self.args.get("workspace_slug"), self.args.get("project_id")
        )
        return target

    async def issue_in(self, located: Located) -> tuple[str, str, Issue]:
        target = located.target
        project_id = _project_id(target)
        assert target is not None
        issue = await self.deps.tasker.get_issue(target.workspace_slug, located.found, project_id)
        return target.workspace_slug, project_id, issue

    async def project_details(self, located: Located) -> ProjectDetails:
        target = located.target
        project_id = _project_id(target)
        assert target is not None
        return await self.deps.tasker.get_project(target.workspace_slug, project_id)


class ProjectTool(Tool):
    """A tool on one project: `workspace_slug` and `project_id`."""

    async def locate(self, call: AgentCall) -> Located:
        return Located(await self.project_target(call))


class WhoAmITool(Tool):
    operation = CATALOGUE["whoami"]
    argument_model = tool_arguments.WHOAMI

    async def locate(self, call: AgentCall) -> Located:
        return Located(None)

    async def act(self, call: AgentCall, located: Located) -> WhoAmI:
        limits = self.deps.limits
        return WhoAmI(
            agent=call.agent,
            grants=tuple(sorted(call.caller.grants, key=lambda g: g.id)),
            limits=(limits.reads, limits.writes),
            tools=tuple(op.name for op in tools_usable_with(call.caller.index.held_scopes)),
        )


class ListProjectsTool(Tool):
    """Projects the agent may read: authorized project by project."""

    operation = CATALOGUE["list_projects"]
    argument_model = tool_arguments.LIST_PROJECTS

    async def locate(self, call: AgentCall) -> Located:
        held = call.caller.index.workspaces
        if self.args.given("workspace_slug"):
            workspace = validation.workspace_slug(self.args.get("workspace_slug"))
            workspaces = [workspace] if workspace in held else []
            target = Target(workspace)
        else:
            workspaces, target = sorted(held), None
        decided: list[tuple[Project, Decision]] = []
        for workspace in workspaces:
            if not (await self.deps.tasker.workspace_policy(workspace)).agents_allowed:
                continue  # switched off for agents: nothing there is listed
            for project in await self.deps.tasker.list_projects(workspace):
                decided.append(
                    (project, call.decide(self.operation, Target(workspace, project.id)))
                )
                if len(decided) >= MAX_LISTED_PROJECTS:
                    break
        return Located(target, found=decided)

    def authorize(self, call: AgentCall, located: Located) -> Decision:
        decided: list[tuple[Project, Decision]] = located.found
        allowed = [d for _, d in decided if d.allowed]
        if allowed:
            refs = tuple(sorted({r for d in allowed for r in d.grant_versions}))
            return attrs.evolve(allowed[0], grant_versions=refs)
        # Nothing readable: the most telling refusal (a missing scope over "no grant").
        missing = [d for _, d in decided if d.reason is ErrorCode.SCOPE_MISSING]
        return missing[0] if missing else call.decide(self.operation, located.target)

    async def act(self, call: AgentCall, located: Located) -> Page:
        decided: list[tuple[Project, Decision]] = located.found
        return Page([project for project, decision in decided if decision.allowed])


class GetProjectTool(ProjectTool):
    operation = CATALOGUE["get_project"]
    argument_model = tool_arguments.GET_PROJECT

    async def act(self, call: AgentCall, located: Located) -> ProjectView:
        details = await self.project_details(located)
        project = details.project
        return ProjectView(
            details, await self.deps.project_policy(project.workspace_slug, project.id)
        )


class SearchIssuesTool(ProjectTool):
    operation = CATALOGUE["search_issues"]
    argument_model = tool_arguments.SEARCH_ISSUES

    async def act(self, call: AgentCall, located: Located) -> Page:
        args = self.args
        target = located.target
        project_id = _project_id(target)
        assert target is not None

        def filters(details: ProjectDetails) -> tuple[ProjectDetails, str | None, str | None]:
            assignee = args.get("assignee") if args.given("assignee") else None
            label = args.get("label") if args.given("label") else None
            return (
                details,
                details.member(assignee, "assignee").id if assignee is not None else None,
                details.label(label, "label").id if label is not None else None,
            )

        details, assignee_id, label_id = await resolving(
            self.deps, target.workspace_slug, project_id, filters
        )
        query = IssueQuery(
            text=args.text("query", max_length=MAX_QUERY, required=False),
            state_group=state_group(args.get("state_group")) if args.given("state_group") else None,
            assignee_id=assignee_id,
            label_id=label_id,
            limit=search_limit(args.get("limit")),
            cursor=args.text("cursor", max_length=MAX_CURSOR_INPUT, required=False),
        )
        page = await self.deps.tasker.search_issues(
            details.project.workspace_slug, details.project.id, query
        )
        return Page(page.items, page.next_cursor)


class GetIssueTool(Tool):
    operation = CATALOGUE["get_issue"]
    argument_model = tool_arguments.GET_ISSUE

    async def locate(self, call: AgentCall) -> Located:
        target, issue_ref = await locate_issue(self.deps, call, self.args)
        return Located(target, found=issue_ref)

    async def act(self, call: AgentCall, located: Located) -> IssueView:
        workspace, project_id, issue = await self.issue_in(located)
        comments = await self.deps.tasker.list_comments(
            workspace, project_id, issue.id, limit=RECENT_COMMENTS
        )
        return IssueView(issue, tuple(comments), readable_card(issue.description_html))


class IssueWriteTool(Tool):
    """A write on one issue of a project: `workspace_slug`, `project_id`, `issue`."""

    async def locate(self, call: AgentCall) -> Located:
        return Located(
            await self.project_target(call), self.fields(), parse_issue_ref(self.args.get("issue"))
        )

    def fields(self) -> frozenset[str]:
        return frozenset()

    def describe(self, result: Any) -> Mapping[str, Any]:
        if isinstance(result, IssueWritten):
            return {"issue_id": result.issue.id, "identifier": result.issue.identifier}
        if isinstance(result, CommentWritten):
            return {"issue_id": result.comment.issue_id, "comment_id": result.comment.id}
        return {}

    async def update(
        self,
        call: AgentCall,
        located: Located,
        make: Callable[[ProjectDetails, Issue], IssueChanges],
    ) -> IssueWritten:
        workspace, project_id, issue = await self.issue_in(located)
        changes = await resolving(self.deps, workspace, project_id, lambda d: make(d, issue))
        if changes.is_empty:
            return IssueWritten(issue)
        updated = await self.deps.tasker.update_issue(
            workspace, project_id, issue.id, changes, actor=call.actor
        )
        return IssueWritten(updated)


class CreateIssueTool(IssueWriteTool):
    operation = CATALOGUE["create_issue"]
    argument_model = tool_arguments.CREATE_ISSUE

    async def locate(self, call: AgentCall) -> Located:
        return Located(await self.project_target(call), self.fields())

    def fields(self) -> frozenset[str]:
        args = self.args
        return frozenset(
            name
            for name in ("state", "labels", "assignees", "card")
            if args.given(name) and args.get(name) not in ([], {}, "")
        )

    async def act(self, call: AgentCall, located: Located) -> IssueWritten:
        args = self.args
        workspace, project_id = self._project(located)
        state_id: str | None = None
        label_ids: tuple[str, ...] = ()
        assignee_ids: tuple[str, ...] = ()
        if any(args.given(name) for name in ("state", "labels", "assignees")):
            # Project details only to resolve a state, label or member given by name: a
            # plain create is one Tasker call (Tasker checks the project itself).
            def refs(details: ProjectDetails) -> tuple[Any, ...]:
                return (
                    details.state(args.get("state")).id if args.given("state") else None,
                    tuple(
                        details.label(ref).id
                        for ref in args.list("labels", max_items=MAX_REFS_PER_CALL)
                    ),
                    tuple(
                        details.member(ref).id
                        for ref in args.list("assignees", max_items=MAX_REFS_PER_CALL)
                    ),
                )

            state_id, label_ids, assignee_ids = await resolving(
                self.deps, workspace, project_id, refs
            )
        parent_id = None
        if args.given("parent"):
            parent = await self.deps.tasker.get_issue(
                workspace, parse_issue_ref(args.get("parent"), "parent"), project_id
            )
            parent_id = parent.id
        description = args.body("description", max_length=MAX_DESCRIPTION, required=False)
        description_html = self.deps.markup.to_html(description) if description else ""
        if args.given("card"):
            blocks, checkers = card_argument(self.deps.markup, args.get("card"))
            card = new_card(blocks=blocks, checkers=checkers, description_html=description_html)
            policy = await self.deps.project_policy(workspace, project_id)
            policy.card_rules.enforce(card)
            description_html = card.render()
        draft = IssueDraft(
            name=issue_name(args.get("name")),
            description_html=description_html,
            priority=priority(args.get("priority")) if args.given("priority") else Priority.NONE,
            state_id=state_id,
            label_ids=label_ids,
            assignee_ids=assignee_ids,
            start_date=iso_date(args.get("start_date"), "start_date"),
            target_date=iso_date(args.get("target_date"), "target_date"),
            parent_id=parent_id,
        )
        issue = await self.deps.tasker.create_issue(
            workspace,
            project_id,
            draft,
            actor=call.actor,
            external_id=call.external_id,
        )
        return IssueWritten(issue)

    @staticmethod
    def _project(located: Located) -> tuple[str, str]:
        """(workspace, project id) of the located project, or not found."""
        project_id = _project_id(located.target)
        assert located.target is not None
        return located.target.workspace_slug, project_id


class UpdateIssueTool(IssueWriteTool):
    operation = CATALOGUE["update_issue"]
    argument_model = tool_arguments.UPDATE_ISSUE
    changeable = ("name", "description", "priority", "start_date", "target_date", "parent")

    async def act(self, call: AgentCall, located: Located) -> IssueWritten:
        args = self.args
        if not any(name in args.raw for name in self.changeable):
            raise ValidationFailed.field(
                "name", f"give at least one of: {', '.join(self.changeable)}"
            )
        workspace, project_id, issue = await self.issue_in(located)
        parent_id: str | Unset | None = UNSET
        if "parent" in args.raw:
            parent_id = None
            if args.given("parent"):
                parent = await self.deps.tasker.get_issue(
                    workspace, parse_issue_ref(args.get("parent"), "parent"), project_id
                )
                parent_id = parent.id
        description = args.body("description", max_length=MAX_DESCRIPTION, required=False)
        changes = IssueChanges(
            name=issue_name(args.get("name")) if args.given("name") else UNSET,
            description_html=with_blocks_kept(
                issue.description_html, self.deps.markup.to_html(description)
            )
            if description is not None
            else UNSET,
            priority=priority(args.get("priority")) if args.given("priority") else UNSET,
            start_date=iso_date(args.get("start_date"), "start_date")
            if "start_date" in args.raw
            else UNSET,
            target_date=iso_date(args.get("target_date"), "target_date")
            if "target_date" in args.raw
            else UNSET,
            parent_id=parent_id,
        )
        updated = await self.deps.tasker.update_issue(
            workspace, project_id, issue.id, changes, actor=call.actor
        )
        return IssueWritten(updated)


class MoveIssueTool(IssueWriteTool):
    operation = CATALOGUE["move_issue"]
    argument_model = tool_arguments.MOVE_ISSUE

    async def act(self, call: AgentCall, located: Located) -> IssueWritten:
        state_ref = self.args.required_text("state", max_length=MAX_NAME_REF)

        def change(details: ProjectDetails, issue: Issue) -> IssueChanges:
            state = details.state(state_ref)
            return IssueChanges() if state.id == issue.state.id else IssueChanges(state_id=state.id)

        return await self.update(call, located, change)


def edited_set(current: tuple[str, ...], removed: set[str], added: list[str]) -> tuple[str, ...]:
    """`current` minus `removed`, plus `added`: order kept, nothing twice (Tasker replaces
    labels and assignees whole, so the full list is what is sent)."""
    return tuple(dict.fromkeys([i for i in current if i not in removed] + added))


class _SetEditTool(IssueWriteTool):
    """Adds references to and removes them from one of an issue's sets (labels,
    assignees); an edit that changes nothing writes nothing."""

    what: ClassVar[str]  # what the references name, for the refusal

    async def act(self, call: AgentCall, located: Located) -> IssueWritten:
        add = self.args.list("add", max_items=MAX_REFS_PER_CALL)
        remove = self.args.list("remove", max_items=MAX_REFS_PER_CALL)
        if not add and not remove:
            raise ValidationFailed.field("add", f"give {self.what} to add and/or remove")

        def change(details: ProjectDetails, issue: Issue) -> IssueChanges:
            current, removed, added = self.resolve(details, issue, add, remove)
            wanted = edited_set(current, removed, added)
            return IssueChanges() if wanted == current else self.setting(wanted)

        return await self.update(call, located, change)

    def resolve(
        self, details: ProjectDetails, issue: Issue, add: list[str], remove: list[str]
    ) -> tuple[tuple[str, ...], set[str], list[str]]:
        """The set's current ids, and the ids the references to remove and add name."""
        raise NotImplementedError

    def setting(self, ids: tuple[str, ...]) -> IssueChanges:
        raise NotImplementedError


class SetIssueLabelsTool(_SetEditTool):
    operation = CATALOGUE["set_issue_labels"]
    argument_model = tool_arguments.SET_ISSUE_LABELS
    what = "labels"

    def resolve(
        self, details: ProjectDetails, issue: Issue, add: list[str], remove: list[str]
    ) -> tuple[tuple[str, ...], set[str], list[str]]:
        removed = {details.label(ref, "remove").id for ref in remove}
        added = [details.label(ref, "add").id for ref in add]
        return tuple(label.id for label in issue.labels), removed, added

    def setting(self, ids: tuple[str, ...]) -> IssueChanges:
        return IssueChanges(label_ids=ids)


class SetIssueAssigneesTool(_SetEditTool):
    operation = CATALOGUE["set_issue_assignees"]
    argument_model = tool_arguments.SET_ISSUE_ASSIGNEES
    what = "users"

    def resolve(
        self, details: ProjectDetails, issue: Issue, add: list[str], remove: list[str]
    ) -> tuple[tuple[str, ...], set[str], list[str]]:
        # Members and current assignees overlap: one entry per user, or a member who is
        # assigned would match twice.
        known = tuple({m.id: m for m in (*issue.assignees, *details.members)}.values())
        removed = {find_member(known, ref, "remove", "assignee").id for ref in remove}
        added = [details.member(ref, "add").id for ref in add]
        return tuple(member.id for member in issue.assignees), removed, added

    def setting(self, ids: tuple[str, ...]) -> IssueChanges:
        return IssueChanges(assignee_ids=ids)


class AddCommentTool(IssueWriteTool):
    operation = CATALOGUE["add_comment"]
    argument_model = tool_arguments.ADD_COMMENT

    async def act(self, call: AgentCall, located: Located) -> CommentWritten:
        body = self.args.body("body", max_length=MAX_COMMENT)
        assert body is not None
        workspace, project_id, issue = await self.issue_in(located)
        comment = await self.deps.tasker.add_comment(
            workspace,
            project_id,
            issue.id,
            self.deps.markup.to_html(body),
            actor=call.actor,
            external_id=call.external_id,
        )
        return CommentWritten(comment)


class AddProjectMemberTool(ProjectTool):
    operation = CATALOGUE["add_project_member"]
    argument_model = tool_arguments.ADD_PROJECT_MEMBER

    async def act(self, call: AgentCall, located: Located) -> MemberAdded:
        details = await self.project_details(located)
        project = details.project
        members = await self.deps.tasker.list_workspace_members(project.workspace_slug)
        user = find_member(members, self.args.get("user"), "user", "workspace member")
        member = await self.deps.tasker.add_project_member(
            project.workspace_slug, project.id, user.id, actor=call.actor
        )
        return MemberAdded(member, project)

    def describe(self, result: Any) -> Mapping[str, Any]:
        return {"user_id": result.member.id, "project_id": result.project.id}
