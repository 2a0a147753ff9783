"""Plane's answers, read: its refusals as the contract's errors, and its JSON (projects,
states, labels, members, work items, comments) as the domain's values. Used by `plane`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

import httpx

from nodedc_gateway.adapters.tasker import attribution
from nodedc_gateway.domain import tasker_rules
from nodedc_gateway.domain.errors import NotFound, TaskerUnavailable, ValidationFailed
from nodedc_gateway.domain.tasker import (
    Comment,
    Issue,
    Label,
    Member,
    Priority,
    Project,
    ProjectDetails,
    State,
    StateGroup,
)

SERVICE: Final = "Tasker (Plane)"
#: Fields whose messages in a 400 are passed on (never anything else we sent).
_ERROR_FIELDS: Final = (
    "name", "description_html", "priority", "state", "labels", "assignees", "start_date",
    "target_date", "parent", "member", "role", "comment_html", "non_field_errors",
)  # fmt: skip


#: Plane's words (`APIKeyAuthentication`, DRF's NotAuthenticated) when the key itself is
#: refused. Plane answers a wrong key with 403, the same status as for a workspace or
#: project its user may not see, so the body tells them apart.
_KEY_REFUSED: Final = ("Given API token is not valid", "Authentication credentials were not")


def _key_refused(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    detail = body.get("detail") if isinstance(body, dict) else None
    return isinstance(detail, str) and detail.startswith(_KEY_REFUSED)


def refusal(response: httpx.Response) -> Exception:
    status = response.status_code
    if status in (401, 403) and _key_refused(response):
        return TaskerUnavailable(
            "Tasker refused the gateway's API key; an administrator must fix the gateway's "
            "Plane configuration."
        )
    if status in (403, 404):
        return NotFound("Not found in Tasker, or not visible to the gateway.")
    if status in (400, 409, 422):
        return ValidationFailed.field("request", f"Tasker refused it: {_plane_error(response)}")
    if status == 401:
        return TaskerUnavailable(
            "Tasker refused the gateway's API key; an administrator must fix the gateway's "
            "Plane configuration."
        )
    return unexpected()


def expect(response: httpx.Response) -> Any:
    if response.status_code in (200, 201):
        return _json(response)
    raise refusal(response)


def _json(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        raise unexpected() from None
    if not isinstance(body, dict | list):
        raise unexpected()
    return body


def conflict_id(response: httpx.Response) -> object:
    """The id of the existing record in Plane's 409 for a duplicate external id."""
    body = _json(response)
    return body.get("id") if isinstance(body, dict) else None


def _plane_error(response: httpx.Response) -> str:
    """Plane's own words for a refusal, short and without anything we sent."""
    try:
        body = response.json()
    except ValueError:
        return "invalid request"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        text = body["error"]
    elif isinstance(body, dict) and isinstance(body.get("detail"), str):
        text = body["detail"]
    elif isinstance(body, dict):
        text = "; ".join(
            f"{key}: {value[0] if isinstance(value, list) and value else value}"
            for key, value in body.items()
            if key in _ERROR_FIELDS
        )
    else:
        text = ""
    return (text or "invalid request")[:300]


def unexpected() -> TaskerUnavailable:
    return TaskerUnavailable(f"{SERVICE} answered in a way the gateway does not understand.")


def usable(raw: Mapping[str, Any]) -> bool:
    """A project agents can work in: not archived, and the gateway's user is a member
    (Plane also shows public projects to non-members, whose states it then hides)."""
    return not raw.get("archived_at") and raw.get("is_member") is not False


def project_of(workspace_slug: str, raw: Any) -> Project:
    try:
        return Project(str(raw["id"]), workspace_slug, str(raw["identifier"]), str(raw["name"]))
    except (KeyError, TypeError):
        raise unexpected() from None


_GROUPS: Final = {group.value: group for group in StateGroup}


def state_of(raw: Mapping[str, Any]) -> State:
    try:
        return State(
            str(raw["id"]),
            str(raw["name"]),
            # Plane's triage states never reach the API; anything else unknown waits in backlog
            _GROUPS.get(str(raw.get("group")), StateGroup.BACKLOG),
        )
    except (KeyError, TypeError):
        raise unexpected() from None


def label_of(raw: Mapping[str, Any]) -> Label:
    try:
        return Label(str(raw["id"]), str(raw["name"]))
    except (KeyError, TypeError):
        raise unexpected() from None


def member_of(raw: Mapping[str, Any]) -> Member:
    name = (
        raw.get("display_name")
        or " ".join(str(raw.get(part) or "") for part in ("first_name", "last_name")).strip()
    )
    try:
        user_id = str(raw["id"])
    except (KeyError, TypeError):
        raise unexpected() from None
    return Member(user_id, str(name or raw.get("email") or ""), str(raw.get("email") or ""))


def to_issue(
    details: ProjectDetails, raw: Mapping[str, Any], label_ids: list[str], assignee_ids: list[str]
) -> Issue:
    states = {s.id: s for s in details.states}
    labels = {lb.id: lb for lb in details.labels}
    members = {m.id: m for m in details.members}
    state_id = str(raw.get("state") or "")
    return Issue(
        id=str(raw["id"]),
        workspace_slug=details.project.workspace_slug,
        project_id=details.project.id,
        identifier=f"{details.project.identifier}-{int(raw['sequence_id'])}",
        name=str(raw["name"]),
        description_html=attribution.unsigned(str(raw.get("description_html") or "")),
        priority=Priority(raw.get("priority") or "none"),
        state=states.get(state_id) or State(state_id, "(unknown state)", StateGroup.BACKLOG),
        labels=tuple(labels.get(i) or Label(i, i) for i in label_ids),
        assignees=tuple(members.get(i) or Member(i, i, "") for i in assignee_ids),
        parent_id=str(raw["parent"]) if raw.get("parent") else None,
        start_date=date_of(raw, "start"),
        target_date=date_of(raw, "target"),
        created_at=timestamp(raw["created_at"]),
        updated_at=timestamp(raw.get("updated_at") or raw["created_at"]),
    )


def comment_of(raw: Any) -> Comment:
    if not isinstance(raw, dict):
        raise unexpected()
    try:
        body = str(raw.get("comment_html") or "")
        signed = attribution.read_footer(body)
        actor = raw.get("actor")  # a user object with `expand=actor`, else an id
        author = actor if isinstance(actor, dict) else {}
        return Comment(
            id=str(raw["id"]),
            issue_id=str(raw["issue"]),
            body_html=attribution.unsigned(body),
            author_display_name=signed.display_name
            if signed
            else str(author.get("display_name") or author.get("email") or "Tasker user"),
            author_email=signed.email if signed else author.get("email") or None,
            agent_id=signed.agent_id
            if signed
            else attribution.agent_of_source(raw.get("external_source")),
            created_at=timestamp(raw["created_at"]),
        )
    except (KeyError, TypeError, ValueError):
        raise unexpected() from None


def check_refs(
    details: ProjectDetails,
    state_id: str | None,
    label_ids: Sequence[str],
    assignee_ids: Sequence[str],
) -> None:
    """Plane silently drops labels and assignees from outside the project; refuse them, as
    every Tasker does (`tasker_rules`)."""
    if state_id is not None:
        tasker_rules.state_of(details.states, state_id)
    tasker_rules.labels_of(details.labels, label_ids)
    tasker_rules.members_of(details.members, assignee_ids)


def date_of(raw: Mapping[str, Any], which: str) -> date | None:
    value = raw.get(f"{which}_date")
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def timestamp(value: object) -> datetime:
    """Plane answers in the API user's time zone; the gateway speaks UTC."""
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def as_float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0
