"""Scopes (CONTRACT §2): what an agent may be granted, and what it can never hold."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from nodedc_gateway.domain.errors import FieldError, HumanOnlyOperation, ValidationFailed


class Scope(StrEnum):
    WORKSPACE_READ = "workspace:read"
    PROJECT_READ = "project:read"
    PROJECT_MEMBER_ADD_EXISTING = "project:member:add_existing"
    ISSUE_READ = "issue:read"
    ISSUE_CREATE = "issue:create"
    ISSUE_UPDATE = "issue:update"
    ISSUE_MOVE = "issue:move"
    ISSUE_COMMENT = "issue:comment"
    ISSUE_LABEL = "issue:label"
    ISSUE_ASSIGN = "issue:assign"
    ISSUE_STRUCTURED_BLOCKS_WRITE = "issue:structured_blocks:write"
    # Human-only: never grantable and never effective, even if found in storage.
    ISSUE_DELETE = "issue:delete"
    ISSUE_ARCHIVE = "issue:archive"
    COMMENT_DELETE = "comment:delete"
    LABEL_DELETE = "label:delete"
    STATE_CREATE = "state:create"
    STATE_DELETE = "state:delete"
    PROJECT_CREATE = "project:create"
    PROJECT_DELETE = "project:delete"
    WORKSPACE_SETTINGS = "workspace:settings"
    WORKSPACE_MEMBER_INVITE = "workspace:member:invite"
    WORKSPACE_MEMBER_REMOVE = "workspace:member:remove"
    RAW_TASKER_API = "raw_tasker_api"


DENIED_SCOPES: frozenset[Scope] = frozenset(
    {
        Scope.ISSUE_DELETE,
        Scope.ISSUE_ARCHIVE,
        Scope.COMMENT_DELETE,
        Scope.LABEL_DELETE,
        Scope.STATE_CREATE,
        Scope.STATE_DELETE,
        Scope.PROJECT_CREATE,
        Scope.PROJECT_DELETE,
        Scope.WORKSPACE_SETTINGS,
        Scope.WORKSPACE_MEMBER_INVITE,
        Scope.WORKSPACE_MEMBER_REMOVE,
        Scope.RAW_TASKER_API,
    }
)
ALLOWED_SCOPES: frozenset[Scope] = frozenset(Scope) - DENIED_SCOPES
_KNOWN: frozenset[str] = frozenset(scope.value for scope in Scope)

#: Longest scope list a grant or an access request may carry (there are 11 allowed scopes).
MAX_SCOPES_PER_REQUEST = 64
#: One scope as given (the longest known one is 29 characters).
MAX_SCOPE_TEXT = 64


def is_denied(scope: str) -> bool:
    return scope in DENIED_SCOPES


def parse_scopes(values: Iterable[object], *, field: str = "scopes") -> frozenset[Scope]:
    """Known scopes, allowed or denied; anything else is a validation error naming it."""
    items = list(values)
    if len(items) > MAX_SCOPES_PER_REQUEST:
        raise ValidationFailed.field(field, f"at most {MAX_SCOPES_PER_REQUEST} scopes")
    errors: list[FieldError] = []
    scopes: set[Scope] = set()
    for index, value in enumerate(items):
        if not isinstance(value, str) or value not in _KNOWN:
            errors.append(
                FieldError(
                    f"{field}[{index}]",
                    f"unknown scope {value!r}; allowed scopes: {', '.join(sorted(ALLOWED_SCOPES))}",
                )
            )
            continue
        scopes.add(Scope(value))
    if errors:
        raise ValidationFailed(errors)
    return frozenset(scopes)


def parse_grantable_scopes(values: Iterable[object], *, field: str = "scopes") -> frozenset[Scope]:
    """Scopes a grant may hold: at least one, all known (422), none human-only (403)."""
    scopes = parse_scopes(values, field=field)
    if not scopes:
        raise ValidationFailed.field(field, "give at least one scope")
    denied = scopes & DENIED_SCOPES
    if denied:
        raise HumanOnlyOperation.for_scopes(denied)
    return scopes


def effective_scopes(scopes: Iterable[str]) -> frozenset[Scope]:
    """What stored scopes are worth at evaluation time: allowed ones only, the rest ignored."""
    return frozenset(Scope(s) for s in scopes if s in ALLOWED_SCOPES)
