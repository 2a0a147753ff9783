"""What `plane` remembers of Plane between calls, and for how long.

Project lists and project details (states, labels, members) are kept for a TTL, so an
agent's calls do not each read them again; a work item is kept for `ISSUE_MEMO_S`, so a tool
call that reads a card and then writes it asks Plane once. Everything here is bounded in
time; nothing here sends a request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

from nodedc_gateway.domain.tasker import Project, ProjectDetails

#: Details younger than this are taken as current even if an id is unknown to them.
MIN_REFRESH_S: Final = 1.0
#: A work item read this recently is taken as it was (its existence, its current dates):
#: a tool call reads the card, then writes it, and need not ask Plane twice. Short, so a
#: change made meanwhile (by a person, or through another replica) is never built upon.
ISSUE_MEMO_S: Final = 1.0
MAX_MEMO_ISSUES: Final = 256


@attrs.define
class _CachedDetails:
    details: ProjectDetails
    fetched_at: float
    #: ids that cards name but these details did not know even when fetched (a deactivated
    #: member, Plane's own user): reads do not refetch for them again until the TTL is up.
    unknown: set[str] = attrs.field(factory=set)


@attrs.define
class _Seen:
    raw: dict[str, Any]
    at: float


class PlaneMemo:
    """Plane's projects, project details and recently read work items, each with its age
    on `monotonic`'s clock."""

    def __init__(self, monotonic: Callable[[], float], details_ttl_s: float) -> None:
        self._monotonic = monotonic
        self._details_ttl_s = details_ttl_s
        self._details: dict[tuple[str, str], _CachedDetails] = {}
        self._projects: dict[str, tuple[list[Project], float]] = {}
        self._issues: dict[tuple[str, str, str], _Seen] = {}

    def young(self, at: float, max_age_s: float) -> bool:
        return self._monotonic() - at < max_age_s

    # --- projects -------------------------------------------------------------------------

    def projects(self, workspace_slug: str) -> list[Project] | None:
        """The workspace's projects if listed within the TTL."""
        cached = self._projects.get(workspace_slug)
        if cached is not None and self._monotonic() - cached[1] < self._details_ttl_s:
            return list(cached[0])
        return None

    def listed_lately(self, workspace_slug: str) -> bool:
        """Whether the projects were listed within `MIN_REFRESH_S` (not worth asking again)."""
        listed = self._projects.get(workspace_slug)
        return listed is not None and self.young(listed[1], MIN_REFRESH_S)

    def keep_projects(self, workspace_slug: str, projects: list[Project]) -> None:
        self._projects[workspace_slug] = (projects, self._monotonic())

    # --- project details ------------------------------------------------------------------

    def details(self, workspace_slug: str, project_id: str) -> ProjectDetails | None:
        """The project's details if fetched within the TTL (`project_id` in any case)."""
        cached = self._details.get((workspace_slug, project_id.lower()))
        if cached is not None and self._monotonic() - cached.fetched_at < self._details_ttl_s:
            return cached.details
        return None

    def keep_details(self, workspace_slug: str, details: ProjectDetails) -> None:
        self._details[(workspace_slug, details.project.id)] = _CachedDetails(
            details, self._monotonic()
        )

    def forget_details(self, workspace_slug: str, project_id: str) -> None:
        self._details.pop((workspace_slug, project_id), None)

    def standing_in(
        self, details: ProjectDetails, unknown: set[str], *, writing: bool
    ) -> ProjectDetails | None:
        """Kept details that may answer for `details` although they do not know `unknown`:
        fetched within `MIN_REFRESH_S`, or (for a read) already known not to know them.
        None when Plane should be asked again."""
        project = details.project
        cached = self._details.get((project.workspace_slug, project.id))
        if cached is not None and (
            self.young(cached.fetched_at, MIN_REFRESH_S)
            or (not writing and unknown <= cached.unknown)
        ):
            return cached.details
        return None

    def still_unknown(self, fresh: ProjectDetails, unknown: set[str]) -> None:
        """Note which of `unknown` even the just-kept `fresh` details do not know."""
        project = fresh.project
        self._details[(project.workspace_slug, project.id)].unknown = (
            unknown
            - {s.id for s in fresh.states}
            - {lb.id for lb in fresh.labels}
            - {m.id for m in fresh.members}
        )

    # --- work items -----------------------------------------------------------------------

    def remember(
        self, workspace_slug: str, project_id: str, issue_id: str, raw: dict[str, Any]
    ) -> None:
        if len(self._issues) >= MAX_MEMO_ISSUES:
            self._issues.pop(next(iter(self._issues)))
        self._issues.pop((workspace_slug, project_id, issue_id), None)
        self._issues[(workspace_slug, project_id, issue_id)] = _Seen(raw, self._monotonic())

    def recent_issue(self, project: Project, issue_id: str) -> dict[str, Any] | None:
        """The work item as read within `ISSUE_MEMO_S`, if it was."""
        seen = self._issues.get((project.workspace_slug, project.id, issue_id))
        if seen is not None and self.young(seen.at, ISSUE_MEMO_S):
            return seen.raw
        return None


def unknown_ids(
    details: ProjectDetails,
    *,
    states: Sequence[str],
    labels: Sequence[str],
    members: Sequence[str],
    me: str | None,
) -> set[str]:
    """The ids among these that `details` do not know (the gateway's own user aside)."""
    return (
        set(states) - {s.id for s in details.states}
        | set(labels) - {lb.id for lb in details.labels}
        | set(members) - {m.id for m in details.members} - {me}
    )
