"""What Tasker holds, as the gateway sees it: projects, states, labels, members, issues.

These are values: the Tasker port returns them, the application reasons about them, and
the transports present them. Resolution of what an agent types (a state by name, a user by
email, an issue by `DEMO-12`) happens here, once, for every Tasker backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Final, TypeVar

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import ValidationFailed

MAX_ISSUE_NAME = 255
MAX_DESCRIPTION = 100_000
MAX_COMMENT = 50_000
MAX_REFS_PER_CALL = 50
MAX_SEARCH_LIMIT = 100
DEFAULT_SEARCH_LIMIT = 25
MAX_QUERY = 200
#: A search cursor as the caller hands it back.
MAX_CURSOR_INPUT = 200
#: A state, label or member named by id, name or email.
MAX_NAME_REF = 255
#: `YYYY-MM-DD`.
ISO_DATE_LENGTH = 10
PROJECT_IDENTIFIER_SYNTAX = "[A-Za-z][A-Za-z0-9]{0,11}"
_ISSUE_KEY = re.compile(rf"^({PROJECT_IDENTIFIER_SYNTAX})-([1-9][0-9]{{0,8}})$")
_PROJECT_IDENTIFIER = re.compile(f"^{PROJECT_IDENTIFIER_SYNTAX}$")


class StateGroup(StrEnum):
    BACKLOG = "backlog"
    UNSTARTED = "unstarted"
    STARTED = "started"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET
Unset = _Unset


@attrs.frozen
class State:
    id: str
    name: str
    group: StateGroup


@attrs.frozen
class Label:
    id: str
    name: str


@attrs.frozen
class Member:
    """A Tasker user: the id is Tasker's user id."""

    id: str
    display_name: str
    email: str


@attrs.frozen
class Project:
    id: str
    workspace_slug: str
    identifier: str
    name: str


@attrs.frozen
class WorkspacePolicy:
    """Whether the workspace's admins let agents work in it (Tasker's Features page)."""

    workspace_slug: str
    agents_allowed: bool


T = TypeVar("T")


def _pick(given: object, field: str, kind: str, names: Iterable[str], matches: list[T]) -> T:
    """The one match, or a validation error listing the valid choices."""
    if len(matches) == 1:
        return matches[0]
    raise ValidationFailed.choice(field, str(given), kind, names)


@attrs.frozen
class ProjectDetails:
    """A project with what an agent needs to address things in it."""

    project: Project
    states: tuple[State, ...]
    labels: tuple[Label, ...]
    members: tuple[Member, ...]

    def state(self, ref: object, field: str = "state") -> State:
        """A state by id or by (case-insensitive) name."""
        text = _ref_text(ref, field)
        folded = text.casefold()
        matches = [s for s in self.states if s.id == text or s.name.casefold() == folded]
        return _pick(ref, field, "state", (s.name for s in self.states), matches)

    def label(self, ref: object, field: str = "labels") -> Label:
        """A label by id or by (case-insensitive) name."""
        text = _ref_text(ref, field)
        folded = text.casefold()
        matches = [lb for lb in self.labels if lb.id == text or lb.name.casefold() == folded]
        return _pick(ref, field, "label", (lb.name for lb in self.labels), matches)

    def member(self, ref: object, field: str = "assignees") -> Member:
        """A project member by user id or email."""
        return find_member(self.members, ref, field, "project member")


def find_member(members: Sequence[Member], ref: object, field: str, kind: str) -> Member:
    """A user among `members` by id or (case-insensitive) email."""
    text = _ref_text(ref, field)
    folded = text.casefold()
    matches = [m for m in members if m.id == text or m.email.casefold() == folded]
    return _pick(ref, field, kind, (m.email for m in members), matches)


def _ref_text(ref: object, field: str) -> str:
    return validation.text(ref, field, max_length=MAX_NAME_REF)


@attrs.frozen
class IssueKey:
    """`DEMO-12`: a project identifier and a sequence number."""

    project_identifier: str
    sequence_id: int

    def __str__(self) -> str:
        return f"{self.project_identifier}-{self.sequence_id}"


def parse_issue_ref(ref: object, field: str = "issue") -> str | IssueKey:
    """An issue UUID (lower-cased) or a `DEMO-12` key (identifier upper-cased)."""
    text = validation.text(ref, field, max_length=validation.MAX_ID_INPUT)
    if validation.is_uuid(text):
        return text.lower()
    match = _ISSUE_KEY.match(text)
    if match is None:
        raise ValidationFailed.field(field, "must be an issue UUID or a key like DEMO-12")
    return IssueKey(match.group(1).upper(), int(match.group(2)))


def parse_project_ref(ref: object, field: str = "project_id") -> str:
    """A project UUID (lower-cased) or identifier such as `DEMO` (upper-cased)."""
    text = validation.text(ref, field, max_length=validation.MAX_ID_INPUT)
    if validation.is_uuid(text):
        return text.lower()
    if not _PROJECT_IDENTIFIER.match(text):
        raise ValidationFailed.field(field, "must be a project UUID or identifier like DEMO")
    return text.upper()


@attrs.frozen
class Actor:
    """Who a write is for: the agent's bot identity and the person who owns it."""

    agent_id: str
    owner_user_id: str
    display_name: str
    email: str


@attrs.frozen
class Comment:
    id: str
    issue_id: str
    body_html: str
    author_display_name: str
    author_email: str | None
    agent_id: str | None
    created_at: datetime


@attrs.frozen
class Issue:
    id: str
    workspace_slug: str
    project_id: str
    identifier: str
    name: str
    description_html: str
    priority: Priority
    state: State
    labels: tuple[Label, ...]
    assignees: tuple[Member, ...]
    parent_id: str | None
    start_date: date | None
    target_date: date | None
    created_at: datetime
    updated_at: datetime


@attrs.frozen
class IssueDraft:
    """A new issue, with every reference already resolved to ids."""

    name: str
    description_html: str = ""
    priority: Priority = Priority.NONE
    state_id: str | None = None
    label_ids: tuple[str, ...] = ()
    assignee_ids: tuple[str, ...] = ()
    start_date: date | None = None
    target_date: date | None = None
    parent_id: str | None = None

    def __attrs_post_init__(self) -> None:
        check_dates(self.start_date, self.target_date)


@attrs.frozen
class IssueChanges:
    """A patch: only fields not `UNSET` change (`None` clears a date or the parent)."""

    name: str | Unset = UNSET
    description_html: str | Unset = UNSET
    priority: Priority | Unset = UNSET
    state_id: str | Unset = UNSET
    label_ids: tuple[str, ...] | Unset = UNSET
    assignee_ids: tuple[str, ...] | Unset = UNSET
    start_date: date | Unset | None = UNSET
    target_date: date | Unset | None = UNSET
    parent_id: str | Unset | None = UNSET

    def touched(self) -> frozenset[str]:
        return frozenset(
            a.name for a in attrs.fields(IssueChanges) if getattr(self, a.name) is not UNSET
        )

    @property
    def is_empty(self) -> bool:
        return not self.touched()


def check_dates(start: date | Unset | None, target: date | Unset | None) -> None:
    if isinstance(start, date) and isinstance(target, date) and start > target:
        raise ValidationFailed.field("target_date", "must not be before start_date")


@attrs.frozen
class IssueQuery:
    text: str | None = None
    state_group: StateGroup | None = None
    assignee_id: str | None = None
    label_id: str | None = None
    limit: int = DEFAULT_SEARCH_LIMIT
    cursor: str | None = None


@attrs.frozen
class IssuePage:
    items: tuple[Issue, ...]
    next_cursor: str | None


def issue_name(value: object, field: str = "name") -> str:
    return validation.text(value, field, max_length=MAX_ISSUE_NAME)


def priority(value: object, field: str = "priority") -> Priority:
    if value not in {p.value for p in Priority}:
        raise ValidationFailed.field(field, "must be one of urgent, high, medium, low, none")
    return Priority(str(value))


def state_group(value: object, field: str = "state_group") -> StateGroup:
    if value not in {g.value for g in StateGroup}:
        raise ValidationFailed.field(
            field, "must be one of backlog, unstarted, started, completed, cancelled"
        )
    return StateGroup(str(value))


def iso_date(value: object, field: str) -> date | None:
    """`YYYY-MM-DD`, or None to clear."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationFailed.field(field, "must be a date like 2026-12-31, or null")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.field(field, "must be a date like 2026-12-31, or null") from None


def search_limit(value: object) -> int:
    if value is None:
        return DEFAULT_SEARCH_LIMIT
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SEARCH_LIMIT:
        raise ValidationFailed.field(
            "limit", f"must be a whole number from 1 to {MAX_SEARCH_LIMIT}"
        )
    return value


def ref_list(value: object, field: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise ValidationFailed.field(field, "must be a list")
    if len(value) > MAX_REFS_PER_CALL:
        raise ValidationFailed.field(field, f"at most {MAX_REFS_PER_CALL} items")
    return list(value)
