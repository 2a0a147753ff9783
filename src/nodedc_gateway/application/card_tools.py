"""`update_card` and `update_checkers`: an agent edits the blocks it owns in a card, under
the project's card rules, leaving everything else in the description as it was."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from nodedc_gateway.application import tool_arguments
from nodedc_gateway.application.agent_tools import IssueWriteTool, Tool
from nodedc_gateway.application.card_edits import blocks_html
from nodedc_gateway.application.pipeline import AgentCall, Located
from nodedc_gateway.application.results import CardWritten
from nodedc_gateway.domain.cards import MAX_CHECKERS_PER_CALL, Card, parse_card
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.tasker import IssueChanges


async def write_card(
    tool: Tool, call: AgentCall, located: Located, edit: Callable[[Card], Card]
) -> CardWritten:
    """Read the card, apply `edit`, check the project's rules against what the write broke
    or made worse, and store the description."""
    workspace, project_id, issue = await tool.issue_in(located)
    before = parse_card(issue.description_html)
    after = edit(before)
    policy = await tool.deps.project_policy(workspace, project_id)
    policy.card_rules.enforce(after, before=before)
    rendered = after.render()
    if rendered == issue.description_html:
        return CardWritten(issue, after)
    updated = await tool.deps.tasker.update_issue(
        workspace, project_id, issue.id, IssueChanges(description_html=rendered), actor=call.actor
    )
    return CardWritten(updated, parse_card(updated.description_html))


class UpdateCardTool(IssueWriteTool):
    """Write named blocks; `implementation_notes` is appended to, never replaced."""

    operation = CATALOGUE["update_card"]
    argument_model = tool_arguments.UPDATE_CARD

    async def act(self, call: AgentCall, located: Located) -> CardWritten:
        blocks = blocks_html(self.deps.markup, self.args.get("blocks"))
        return await write_card(self, call, located, lambda card: card.write_blocks(blocks))

    def describe(self, result: Any) -> Mapping[str, Any]:
        return {"issue_id": result.issue.id, "blocks": sorted(self.args.get("blocks") or {})}


class UpdateCheckersTool(IssueWriteTool):
    """Check and uncheck checkers by id; add new ones (to `acceptance`) by text."""

    operation = CATALOGUE["update_checkers"]
    argument_model = tool_arguments.UPDATE_CHECKERS

    async def act(self, call: AgentCall, located: Located) -> CardWritten:
        args = self.args
        check = args.list("check", max_items=MAX_CHECKERS_PER_CALL)
        uncheck = args.list("uncheck", max_items=MAX_CHECKERS_PER_CALL)
        add = args.list("add", max_items=MAX_CHECKERS_PER_CALL)
        return await write_card(
            self,
            call,
            located,
            lambda card: card.update_checkers(check=check, uncheck=uncheck, add=add),
        )

    def describe(self, result: Any) -> Mapping[str, Any]:
        return {
            "issue_id": result.issue.id,
            "checked": len(self.args.list("check", max_items=MAX_CHECKERS_PER_CALL)),
            "unchecked": len(self.args.list("uncheck", max_items=MAX_CHECKERS_PER_CALL)),
            "added": len(self.args.list("add", max_items=MAX_CHECKERS_PER_CALL)),
        }
