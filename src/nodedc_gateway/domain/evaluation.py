"""Grant evaluation (CONTRACT §3): a pure function from who is asking, for what, where, to a
`Decision`.

The checks run in the contract's order and the first failing one names the reason:
token → agent → owner entitlement → human-only scopes (forbid wins) → a covering grant →
the covering grants' scopes. Deny is the default: only a request that passes every check
is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.errors import (
    AgentInactive,
    ErrorCode,
    GatewayError,
    HumanOnlyOperation,
    LauncherUnavailable,
    NotGranted,
    OwnerNotEntitled,
    ScopeMissing,
    Unauthenticated,
)
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantRef, Target
from nodedc_gateway.domain.operations import Audience, Operation, TargetLevel
from nodedc_gateway.domain.scopes import DENIED_SCOPES, Scope, effective_scopes
from nodedc_gateway.domain.tokens import AgentToken

_NO_REFS: tuple[GrantRef, ...] = ()
_NO_SCOPES: frozenset[Scope] = frozenset()


@attrs.frozen(slots=True)
class Decision:
    """The outcome of one evaluation: what an audit event records and a refusal explains."""

    allowed: bool
    reason: ErrorCode | None
    operation: str
    required_scopes: frozenset[Scope]
    missing_scopes: tuple[str, ...] = ()
    grant_versions: tuple[GrantRef, ...] = ()

    def error(self) -> GatewayError | None:
        """The refusal a caller sees, or None when allowed."""
        if self.allowed:
            return None
        return _refusal(self)

    def raise_if_denied(self) -> None:
        error = self.error()
        if error is not None:
            raise error


def _refusal(decision: Decision) -> GatewayError:
    match decision.reason:
        case ErrorCode.AGENT_INACTIVE:
            return AgentInactive("This agent is disabled or revoked; its owner can re-enable it.")
        case ErrorCode.OWNER_NOT_ENTITLED:
            return OwnerNotEntitled(
                "The agent's owner is not entitled to Codex agents (Launcher: codex_agents)."
            )
        case ErrorCode.LAUNCHER_UNAVAILABLE:
            return LauncherUnavailable()
        case ErrorCode.HUMAN_ONLY_OPERATION if decision.required_scopes & DENIED_SCOPES:
            return HumanOnlyOperation.for_scopes(decision.required_scopes & DENIED_SCOPES)
        case ErrorCode.HUMAN_ONLY_OPERATION:
            return HumanOnlyOperation(
                f"{decision.operation} is for people in Tasker only; an agent cannot call it."
            )
        case ErrorCode.NOT_GRANTED:
            return NotGranted(
                f"{decision.operation}: this agent has no grant for that workspace or project. "
                "Use list_projects to see what is granted, or ask with request_access."
            )
        case ErrorCode.SCOPE_MISSING:
            return ScopeMissing(decision.missing_scopes)
        case _:
            return Unauthenticated()


@attrs.frozen(slots=True)
class Coverage:
    """The grants covering one target, merged: their effective scopes and versions."""

    scopes: frozenset[Scope]
    refs: tuple[GrantRef, ...]


_NOTHING = Coverage(_NO_SCOPES, _NO_REFS)


class GrantIndex:
    """One agent's active grants, indexed by target so a decision costs two dict lookups
    whatever the number of grants."""

    __slots__ = ("_by_target", "_held", "agent_id", "workspaces")

    def __init__(self, agent_id: str, grants: Iterable[Grant]) -> None:
        self.agent_id = agent_id
        groups: dict[tuple[str, str], list[Grant]] = {}
        for grant in grants:
            if grant.agent_id == agent_id and grant.is_active:
                groups.setdefault((grant.workspace_slug, grant.project_id), []).append(grant)
        own = {key: _merge(group) for key, group in groups.items()}
        # Project entries already include their workspace-level grants.
        self._by_target: dict[tuple[str, str], Coverage] = {}
        for (workspace, project), coverage in own.items():
            workspace_wide = own.get((workspace, WORKSPACE_LEVEL))
            self._by_target[(workspace, project)] = (
                _union(coverage, workspace_wide)
                if workspace_wide is not None and project != WORKSPACE_LEVEL
                else coverage
            )
        self._held = frozenset().union(*(c.scopes for c in own.values())) if own else _NO_SCOPES
        #: Workspaces where the agent holds any active grant.
        self.workspaces = frozenset(workspace for workspace, _ in own)

    def covering(self, target: Target) -> Coverage:
        coverage = self._by_target.get((target.workspace_slug, target.project_id))
        if coverage is None and target.project_id != WORKSPACE_LEVEL:
            coverage = self._by_target.get((target.workspace_slug, WORKSPACE_LEVEL))
        return coverage or _NOTHING

    @property
    def held_scopes(self) -> frozenset[Scope]:
        """Every effective scope in any grant: what decides which tools are listed."""
        return self._held


def _merge(grants: list[Grant]) -> Coverage:
    scopes = frozenset().union(*(effective_scopes(g.scopes) for g in grants))
    return Coverage(scopes, tuple(sorted({g.ref for g in grants})))


def _union(a: Coverage, b: Coverage) -> Coverage:
    return Coverage(a.scopes | b.scopes, tuple(sorted(set(a.refs) | set(b.refs))))


def covering_grants(agent_id: str, grants: Iterable[Grant], target: Target) -> Coverage:
    """The reference semantics of CONTRACT §3.5–6 as a plain scan (what the index must equal)."""
    covering = [g for g in grants if g.agent_id == agent_id and g.is_active and g.covers(target)]
    return _merge(covering) if covering else _NOTHING


def evaluate_grants(
    *,
    token: AgentToken | None,
    agent: Agent | None,
    entitlement: Entitlement,
    grants: Iterable[Grant] | GrantIndex,
    operation: Operation,
    target: Target | None,
    now: datetime,
    fields: Iterable[str] = (),
) -> Decision:
    """Decide one request. Pure: same inputs, same decision."""
    name = operation.name
    required = operation.required_scopes(fields)
    # 1. A usable token of this very agent; absent, revoked and expired look alike.
    if token is None or agent is None or token.agent_id != agent.id or not token.is_usable(now):
        return Decision(False, ErrorCode.UNAUTHENTICATED, name, required)
    # 2. The agent itself.
    if not agent.is_active:
        return Decision(False, ErrorCode.AGENT_INACTIVE, name, required)
    # 3. The owner's entitlement, failing closed when it cannot be known.
    if entitlement is not Entitlement.ENTITLED:
        reason = (
            ErrorCode.LAUNCHER_UNAVAILABLE
            if entitlement is Entitlement.UNKNOWN
            else ErrorCode.OWNER_NOT_ENTITLED
        )
        return Decision(False, reason, name, required)
    # 4. Forbid wins: human-only scopes, and anything not meant for agents at all.
    if required & DENIED_SCOPES or operation.audience is not Audience.AGENT:
        return Decision(False, ErrorCode.HUMAN_ONLY_OPERATION, name, required)
    if operation.target_level is TargetLevel.NONE and not required:
        return Decision(True, None, name, required)
    # 5. Some grant covers the target.
    if target is None:
        return Decision(False, ErrorCode.NOT_GRANTED, name, required)
    if isinstance(grants, GrantIndex):
        coverage = grants.covering(target) if grants.agent_id == agent.id else _NOTHING
    else:
        coverage = covering_grants(agent.id, grants, target)
    if not coverage.refs:
        return Decision(False, ErrorCode.NOT_GRANTED, name, required)
    # 6. Together they hold every required scope.
    missing = required - coverage.scopes
    if missing:
        return Decision(
            False,
            ErrorCode.SCOPE_MISSING,
            name,
            required,
            tuple(sorted(missing)),
            coverage.refs,
        )
    return Decision(True, None, name, required, (), coverage.refs)
