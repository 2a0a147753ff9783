"""A realistic agent session against a Plane-backed gateway, counting the Plane requests
each tool call makes (Plane allows 60 requests a minute per API key by default).

Used on the stand-in (fast tests) and on the real Plane (reliability suite): the same
calls, the same targets: at most `SESSION_TARGET` requests per call on average, and a
read answered from the adapter's caches (`get_project`, `list_projects` again) at most
`CACHED_READ_TARGET`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

SESSION_TARGET = 1.5
CACHED_READ_TARGET = 1

Call = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@attrs.define
class SessionReport:
    calls: list[tuple[str, int]] = attrs.field(factory=list)

    @property
    def per_call(self) -> float:
        return sum(n for _, n in self.calls) / len(self.calls)

    def of(self, tool: str) -> list[int]:
        return [n for name, n in self.calls if name == tool]

    def table(self) -> str:
        rows = "\n".join(f"  {name:<20} {n}" for name, n in self.calls)
        total = sum(n for _, n in self.calls)
        return (
            f"{rows}\n  {len(self.calls)} tool calls, {total} Plane requests, "
            f"{self.per_call:.2f} per call"
        )


async def realistic_session(
    call: Call,
    sent: Callable[[], int],
    *,
    workspace: str,
    project: str,
    member_email: str,
    label: str,
    think: Callable[[], None] = lambda: None,
) -> SessionReport:
    """An agent orienting itself, creating three cards, then working them one by one:
    searching and rereading around each write as coding agents do. A write costs two
    requests (the card as it is now, then the change), a create two (Plane's answer has
    the wrong created_at), get_issue two (the card, its comments), a search one, and
    whoami, get_project and list_projects none while cached. `think` runs between calls
    (the stand-in's clock moves)."""
    report = SessionReport()
    where = {"workspace_slug": workspace, "project_id": project}
    run = uuid.uuid4().hex[:8]

    async def step(tool: str, **arguments: Any) -> dict[str, Any]:
        before = sent()
        body = await call(tool, arguments)
        report.calls.append((tool, sent() - before))
        think()
        return body

    # Orientation: who am I, where may I work, what does the project look like.
    await step("whoami")
    await step("list_projects", workspace_slug=workspace)
    await step("get_project", **where)
    await step("search_issues", **where, query=f"session {run}")
    keys = []
    for n in range(3):
        created = await step(
            "create_issue",
            **where,
            name=f"session {run} card {n}",
            card={"goal": f"Card {n}", "checkers": ["tested", "documented"]},
            idempotency_key=f"{run}-{n}",
        )
        keys.append(created["issue"]["identifier"])
    # Work, card by card: look around, read the card, write, report.
    for key in keys:
        await step("search_issues", **where, query=f"session {run}")
        issue = (await step("get_issue", workspace_slug=workspace, issue=key))["issue"]
        await step("get_project", **where)  # which states are there again?
        await step("move_issue", **where, issue=key, state="In Progress")
        await step("update_card", **where, issue=key, blocks={"plan": "Do it"})
        first = issue["card"]["checkers"][0]["id"]
        await step("update_checkers", **where, issue=key, check=[first])
        await step("add_comment", **where, issue=key, body=f"Progress on {key}")
        await step("whoami")
        await step("search_issues", **where, query=key)
        await step("list_projects", workspace_slug=workspace)
    await step("set_issue_labels", **where, issue=keys[0], add=[label])
    await step("set_issue_assignees", **where, issue=keys[0], add=[member_email])
    await step("set_issue_assignees", **where, issue=keys[0], remove=[member_email])
    await step("update_issue", **where, issue=keys[1], priority="high")
    await step("get_issue", workspace_slug=workspace, issue=keys[0])
    await step("search_issues", **where, query=f"session {run}", limit=2)
    return report
