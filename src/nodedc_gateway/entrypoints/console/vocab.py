"""Words the console shows: each scope as a plain sentence, in groups; the human-only
scopes listed as such (never selectable); the notices a redirect may carry."""

from __future__ import annotations

import attrs

from nodedc_gateway.domain.scopes import DENIED_SCOPES, Scope


@attrs.frozen
class ScopeChoice:
    scope: str
    sentence: str


@attrs.frozen
class ScopeGroup:
    title: str
    choices: tuple[ScopeChoice, ...]


SENTENCES: dict[Scope, str] = {
    Scope.WORKSPACE_READ: "See the workspace: its projects and members.",
    Scope.PROJECT_READ: "See a project's states, labels, members and card rules.",
    Scope.PROJECT_MEMBER_ADD_EXISTING: "Add an existing workspace member to a project.",
    Scope.ISSUE_READ: "Read issues, their cards and comments.",
    Scope.ISSUE_CREATE: "Create new issues.",
    Scope.ISSUE_UPDATE: "Edit an issue's title, description, priority and dates.",
    Scope.ISSUE_MOVE: "Move an issue to another state (start it, finish it).",
    Scope.ISSUE_COMMENT: "Comment on issues, and report work sessions.",
    Scope.ISSUE_LABEL: "Add and remove labels on issues.",
    Scope.ISSUE_ASSIGN: "Assign issues to people.",
    Scope.ISSUE_STRUCTURED_BLOCKS_WRITE: "Write the task card's blocks and checkers.",
    Scope.ISSUE_DELETE: "Delete issues.",
    Scope.ISSUE_ARCHIVE: "Archive issues.",
    Scope.COMMENT_DELETE: "Delete comments.",
    Scope.LABEL_DELETE: "Delete labels.",
    Scope.STATE_CREATE: "Create workflow states.",
    Scope.STATE_DELETE: "Delete workflow states.",
    Scope.PROJECT_CREATE: "Create projects.",
    Scope.PROJECT_DELETE: "Delete projects.",
    Scope.WORKSPACE_SETTINGS: "Change workspace settings.",
    Scope.WORKSPACE_MEMBER_INVITE: "Invite people to the workspace.",
    Scope.WORKSPACE_MEMBER_REMOVE: "Remove people from the workspace.",
    Scope.RAW_TASKER_API: "Call Tasker's API directly.",
}

_GROUPS: tuple[tuple[str, tuple[Scope, ...]], ...] = (
    ("Read", (Scope.WORKSPACE_READ, Scope.PROJECT_READ, Scope.ISSUE_READ)),
    (
        "Work on issues",
        (
            Scope.ISSUE_CREATE,
            Scope.ISSUE_UPDATE,
            Scope.ISSUE_MOVE,
            Scope.ISSUE_COMMENT,
            Scope.ISSUE_LABEL,
            Scope.ISSUE_ASSIGN,
            Scope.ISSUE_STRUCTURED_BLOCKS_WRITE,
        ),
    ),
    ("Projects", (Scope.PROJECT_MEMBER_ADD_EXISTING,)),
)


def grantable_groups() -> tuple[ScopeGroup, ...]:
    return tuple(
        ScopeGroup(title, tuple(ScopeChoice(s.value, SENTENCES[s]) for s in scopes))
        for title, scopes in _GROUPS
    )


def human_only() -> tuple[ScopeChoice, ...]:
    return tuple(
        ScopeChoice(s.value, SENTENCES[s]) for s in sorted(DENIED_SCOPES, key=lambda s: s.value)
    )


#: `?notice=…` after a redirect: a fixed vocabulary, so nothing from the address is shown.
NOTICES: dict[str, str] = {
    "agent_created": "The agent was created. Issue a token or a pairing code to connect it.",
    "agent_renamed": "The agent was renamed.",
    "agent_disabled": "The agent is disabled: its calls are refused until you enable it.",
    "agent_enabled": "The agent is enabled again.",
    "agent_revoked": "The agent was revoked for good; its tokens no longer work.",
    "token_revoked": "The token was revoked; calls with it are refused from now on.",
    "grant_created": "The grant was created.",
    "grant_updated": "The grant was changed; a new version was recorded.",
    "grant_revoked": "The grant was revoked.",
    "request_approved": "The request was approved.",
    "request_denied": "The request was denied.",
    "request_suggested": "Your suggestion was sent to the agent.",
}


def notice(value: str | None) -> str | None:
    return NOTICES.get(value or "")
