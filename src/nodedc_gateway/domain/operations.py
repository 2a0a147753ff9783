"""The operation catalogue: every MCP tool, internal mutation and human-only action, and
the scopes each needs.

Field scopes make one tool need more when it touches more: `create_issue` with `state`
also needs `issue:move`, with `labels` `issue:label`, and so on (CONTRACT §4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType

import attrs

from nodedc_gateway.domain.errors import NotFound
from nodedc_gateway.domain.scopes import Scope


class Kind(StrEnum):
    READ = "read"
    WRITE = "write"


class Audience(StrEnum):
    AGENT = "agent"  # an MCP tool
    HUMAN = "human"  # an internal route, acting for a person through Tasker or Launcher
    HUMAN_ONLY = "human_only"  # exists in Tasker, never reachable by an agent


class TargetLevel(StrEnum):
    NONE = "none"  # about the agent itself: whoami, access requests
    WORKSPACE = "workspace"  # a listing filtered to what is granted
    PROJECT = "project"


@attrs.frozen
class Operation:
    name: str
    kind: Kind
    audience: Audience
    target_level: TargetLevel
    scopes: frozenset[Scope] = frozenset()
    field_scopes: Mapping[str, Scope] = attrs.field(factory=lambda: MappingProxyType({}))
    _required_cache: dict[frozenset[str], frozenset[Scope]] = attrs.field(
        factory=dict, eq=False, repr=False, hash=False
    )

    @property
    def is_write(self) -> bool:
        return self.kind is Kind.WRITE

    @property
    def every_scope(self) -> frozenset[Scope]:
        """Base scopes plus every field scope: what a call touching every field needs."""
        return self.scopes | frozenset(self.field_scopes.values())

    def required_scopes(self, fields: Iterable[str] = ()) -> frozenset[Scope]:
        """Scopes needed by a call that sets the given fields (unknown fields add nothing)."""
        if not self.field_scopes:
            return self.scopes
        # Keyed by known field names only, so the cache stays at most 2^len(field_scopes).
        key = frozenset(f for f in fields if f in self.field_scopes)
        cached = self._required_cache.get(key)
        if cached is None:
            cached = self.scopes | frozenset(self.field_scopes[f] for f in key)
            self._required_cache[key] = cached
        return cached


def _op(
    name: str,
    kind: Kind,
    audience: Audience,
    target: TargetLevel,
    scopes: Iterable[Scope] = (),
    fields: Mapping[str, Scope] | None = None,
) -> Operation:
    return Operation(
        name=name,
        kind=kind,
        audience=audience,
        target_level=target,
        scopes=frozenset(scopes),
        field_scopes=MappingProxyType(dict(fields or {})),
    )


R, W = Kind.READ, Kind.WRITE
A, H, X = Audience.AGENT, Audience.HUMAN, Audience.HUMAN_ONLY
NONE, WS, PROJ = TargetLevel.NONE, TargetLevel.WORKSPACE, TargetLevel.PROJECT
S = Scope

_OPERATIONS = (
    # MCP tools (CONTRACT §4)
    _op("whoami", R, A, NONE),
    _op("list_projects", R, A, WS, [S.PROJECT_READ]),
    _op("get_project", R, A, PROJ, [S.PROJECT_READ]),
    _op("search_issues", R, A, PROJ, [S.ISSUE_READ]),
    _op("get_issue", R, A, PROJ, [S.ISSUE_READ]),
    _op(
        "create_issue",
        W,
        A,
        PROJ,
        [S.ISSUE_CREATE],
        {
            "state": S.ISSUE_MOVE,
            "labels": S.ISSUE_LABEL,
            "assignees": S.ISSUE_ASSIGN,
            "card": S.ISSUE_STRUCTURED_BLOCKS_WRITE,
        },
    ),
    _op("update_issue", W, A, PROJ, [S.ISSUE_UPDATE]),
    _op("move_issue", W, A, PROJ, [S.ISSUE_MOVE]),
    _op("set_issue_labels", W, A, PROJ, [S.ISSUE_LABEL]),
    _op("set_issue_assignees", W, A, PROJ, [S.ISSUE_ASSIGN]),
    _op("add_comment", W, A, PROJ, [S.ISSUE_COMMENT]),
    _op("update_card", W, A, PROJ, [S.ISSUE_STRUCTURED_BLOCKS_WRITE]),
    _op("update_checkers", W, A, PROJ, [S.ISSUE_STRUCTURED_BLOCKS_WRITE]),
    _op("add_project_member", W, A, PROJ, [S.PROJECT_MEMBER_ADD_EXISTING]),
    _op("start_work_session", W, A, PROJ, [S.ISSUE_COMMENT]),
    # Ticking checkers while reporting writes the card too.
    _op(
        "report_progress", W, A, PROJ, [S.ISSUE_COMMENT], {"check": S.ISSUE_STRUCTURED_BLOCKS_WRITE}
    ),
    _op("finish_work_session", W, A, PROJ, [S.ISSUE_COMMENT]),
    _op("request_access", W, A, NONE),
    _op("get_access_request", R, A, NONE),
    # Internal routes (CONTRACT §5): humans acting through Tasker or Launcher.
    _op("create_agent", W, H, NONE),
    _op("list_agents", R, H, NONE),
    _op("get_agent", R, H, NONE),
    _op("update_agent", W, H, NONE),
    _op("revoke_agent", W, H, NONE),
    _op("issue_token", W, H, NONE),
    _op("list_tokens", R, H, NONE),
    _op("revoke_token", W, H, NONE),
    _op("create_pairing_code", W, H, NONE),
    _op("redeem_pairing_code", W, H, NONE),
    _op("list_grants", R, H, NONE),
    _op("create_grant", W, H, NONE),
    _op("update_grant", W, H, NONE),
    _op("revoke_grant", W, H, NONE),
    _op("list_grant_versions", R, H, NONE),
    _op("list_audit_events", R, H, NONE),
    _op("list_access_requests", R, H, NONE),
    _op("decide_access_request", W, H, NONE),
    _op("owner_lifecycle", W, H, NONE),
    _op("get_reporting_status", R, H, NONE),
    _op("get_feature_status", R, H, NONE),
    _op("get_project_policy", R, H, NONE),
    _op("set_project_policy", W, H, NONE),
    # Human-only actions: present so that an agent reaching for them is refused by name.
    _op("delete_issue", W, X, PROJ, [S.ISSUE_DELETE]),
    _op("archive_issue", W, X, PROJ, [S.ISSUE_ARCHIVE]),
    _op("delete_comment", W, X, PROJ, [S.COMMENT_DELETE]),
    _op("delete_label", W, X, PROJ, [S.LABEL_DELETE]),
    _op("create_state", W, X, PROJ, [S.STATE_CREATE]),
    _op("delete_state", W, X, PROJ, [S.STATE_DELETE]),
    _op("create_project", W, X, WS, [S.PROJECT_CREATE]),
    _op("delete_project", W, X, PROJ, [S.PROJECT_DELETE]),
    _op("change_workspace_settings", W, X, WS, [S.WORKSPACE_SETTINGS]),
    _op("invite_workspace_member", W, X, WS, [S.WORKSPACE_MEMBER_INVITE]),
    _op("remove_workspace_member", W, X, WS, [S.WORKSPACE_MEMBER_REMOVE]),
    _op("raw_tasker_call", W, X, WS, [S.RAW_TASKER_API]),
)

CATALOGUE: Mapping[str, Operation] = MappingProxyType({op.name: op for op in _OPERATIONS})
AGENT_TOOLS: tuple[Operation, ...] = tuple(op for op in _OPERATIONS if op.audience is A)
#: Tools shown to every agent whatever it holds (CONTRACT §4).
ALWAYS_LISTED: frozenset[str] = frozenset({"whoami", "request_access", "get_access_request"})


def operation(name: str) -> Operation:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise NotFound(f"Unknown operation {name!r}.") from None


def tools_usable_with(held: Iterable[Scope]) -> tuple[Operation, ...]:
    """Tools a token holding these scopes (in some grant) could ever call."""
    held_set = frozenset(held)
    return tuple(op for op in AGENT_TOOLS if op.name in ALWAYS_LISTED or op.scopes <= held_set)
