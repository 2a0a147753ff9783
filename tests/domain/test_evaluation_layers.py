"""Each defence layer of `evaluate_grants` proven on its own (issue 13).

The properties in `test_evaluation_properties` hold the evaluator as a whole; there, one
layer can hide another's removal (the audience gate alone refuses every human-only tool of
the catalogue, so deleting the denied-scope check left them green). Here every test starts
from a request that every layer allows (`allowing`), changes the one thing a single layer
looks at, and asserts that layer's refusal by its reason. Each docstring names the line
of `src/nodedc_gateway/domain/evaluation.py` (or the module) it guards; each was checked by
deleting that check and watching the test fail.
"""

from __future__ import annotations

from datetime import timedelta
from types import MappingProxyType
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.agents import AgentStatus
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.errors import ErrorCode, HumanOnlyOperation
from nodedc_gateway.domain.evaluation import (
    Decision,
    GrantIndex,
    covering_grants,
    evaluate_grants,
)
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantStatus, Target
from nodedc_gateway.domain.operations import (
    CATALOGUE,
    Audience,
    Kind,
    Operation,
    TargetLevel,
)
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES, Scope, effective_scopes
from nodedc_gateway.domain.tokens import TokenStatus
from tests.domain import strategies as s

AGENT, OTHER_AGENT = s.AGENT_IDS
HERE = Target("demo", s.PROJECTS[0])
EVERY_SCOPE = frozenset(Scope)  # allowed and denied, as storage tampered with would hold
_DENIED = sorted(DENIED_SCOPES)
_ALLOWED = sorted(ALLOWED_SCOPES)


def tool(
    scopes: frozenset[Scope] = frozenset({Scope.ISSUE_READ}),
    *,
    audience: Audience = Audience.AGENT,
    level: TargetLevel = TargetLevel.PROJECT,
    fields: dict[str, Scope] | None = None,
) -> Operation:
    """An operation made for the test, so that each layer can be reached alone (the
    catalogue never pairs an agent tool with a denied scope, for one)."""
    return Operation(
        name="probe",
        kind=Kind.WRITE,
        audience=audience,
        target_level=level,
        scopes=scopes,
        field_scopes=MappingProxyType(dict(fields or {})),
    )


def grant(
    scopes: frozenset[Scope] = frozenset(ALLOWED_SCOPES),
    *,
    agent_id: str = AGENT,
    workspace: str = HERE.workspace_slug,
    project: str = HERE.project_id,
    status: GrantStatus = GrantStatus.ACTIVE,
    grant_id: str = "grant-1",
) -> Grant:
    return s.grant(grant_id, workspace, project, scopes, agent_id=agent_id, status=status)


def allowing(**changes: Any) -> dict[str, Any]:
    """A request every layer allows, with `changes` applied: the one layer they touch is
    then the only one that can refuse."""
    return {
        "token": s.token(AGENT),
        "agent": s.agent(AGENT),
        "entitlement": Entitlement.ENTITLED,
        "grants": [grant()],
        "operation": tool(),
        "target": HERE,
        "fields": frozenset(),
        "now": s.NOW,
        **changes,
    }


def decisions(req: dict[str, Any]) -> list[Decision]:
    """The decision by the plain scan and by the index: both paths must refuse."""
    index = GrantIndex(req["agent"].id if req["agent"] else AGENT, req["grants"])
    return [evaluate_grants(**req), evaluate_grants(**{**req, "grants": index})]


def refused_by(req: dict[str, Any], reason: ErrorCode) -> None:
    for decision in decisions(req):
        assert not decision.allowed
        assert decision.reason is reason


def test_the_baseline_request_is_allowed_by_every_layer() -> None:
    """Without this, every refusal below could come from the baseline, not the change."""
    for decision in decisions(allowing()):
        assert decision.allowed, decision
        assert decision.grant_versions == (grant().ref,)


# 1. Token (line 168) ------------------------------------------------------------------


def test_no_token_is_unauthenticated() -> None:
    """Guards `token is None` (evaluation.py:168)."""
    refused_by(allowing(token=None), ErrorCode.UNAUTHENTICATED)


def test_no_agent_is_unauthenticated() -> None:
    """Guards `agent is None` (evaluation.py:168)."""
    req = allowing(agent=None)
    decision = evaluate_grants(**req)
    assert (decision.allowed, decision.reason) == (False, ErrorCode.UNAUTHENTICATED)


def test_a_token_of_another_agent_is_unauthenticated() -> None:
    """Guards `token.agent_id != agent.id` (evaluation.py:168): a good token of agent B
    never speaks for agent A, even when A holds every grant."""
    refused_by(allowing(token=s.token(OTHER_AGENT)), ErrorCode.UNAUTHENTICATED)


@pytest.mark.parametrize("how", ["revoked", "expired", "expires-this-instant"])
def test_an_unusable_token_is_unauthenticated(how: str) -> None:
    """Guards `not token.is_usable(now)` (evaluation.py:168) and the expiry comparison
    `now >= self.expires_at` (tokens.py:122): a token is dead at its expiry instant."""
    token = s.token(AGENT, status=TokenStatus.REVOKED if how == "revoked" else TokenStatus.ACTIVE)
    if how == "expired":
        token = attrs.evolve(token, expires_at=s.NOW - timedelta(microseconds=1))
    if how == "expires-this-instant":
        token = attrs.evolve(token, expires_at=s.NOW)
    refused_by(allowing(token=token), ErrorCode.UNAUTHENTICATED)


# 2. Agent state (line 171) ------------------------------------------------------------


@pytest.mark.parametrize("status", [AgentStatus.DISABLED, AgentStatus.REVOKED])
def test_an_inactive_agent_is_refused(status: AgentStatus) -> None:
    """Guards `not agent.is_active` (evaluation.py:171)."""
    refused_by(allowing(agent=s.agent(AGENT, status)), ErrorCode.AGENT_INACTIVE)


# 3. Entitlement (lines 174-180) -------------------------------------------------------


@pytest.mark.parametrize(
    ("entitlement", "reason"),
    [
        (Entitlement.NOT_ENTITLED, ErrorCode.OWNER_NOT_ENTITLED),
        (Entitlement.UNKNOWN, ErrorCode.LAUNCHER_UNAVAILABLE),
    ],
)
def test_an_owner_not_known_to_be_entitled_is_refused(
    entitlement: Entitlement, reason: ErrorCode
) -> None:
    """Guards `entitlement is not Entitlement.ENTITLED` (evaluation.py:174), failing
    closed when Launcher cannot say, and the reason chosen at line 177."""
    refused_by(allowing(entitlement=entitlement), reason)


# 4a. Denied scopes (line 182, left operand) --------------------------------------------


@given(
    denied=st.sampled_from(_DENIED),
    via_field=st.booleans(),
    level=st.sampled_from([TargetLevel.NONE, TargetLevel.WORKSPACE, TargetLevel.PROJECT]),
)
def test_an_agent_tool_needing_a_denied_scope_is_human_only(
    denied: Scope, via_field: bool, level: TargetLevel
) -> None:
    """Guards `required & DENIED_SCOPES` (evaluation.py:182) alone: the operation is an
    agent tool (the audience gate allows it) and the grant holds every scope, denied ones
    included, as tampered storage would. Only the denied-scope check answers
    human_only_operation; without it the answer would be scope_missing (or an allow, were
    the effective-scopes filter gone too). Reaches it by a base scope and by a field
    scope."""
    operation = (
        tool(fields={"purge": denied}, level=level)
        if via_field
        else tool(frozenset({denied}), level=level)
    )
    target = HERE if level is TargetLevel.PROJECT else Target(HERE.workspace_slug)
    req = allowing(
        operation=operation,
        target=target,
        fields=frozenset({"purge"}),
        grants=[grant(EVERY_SCOPE), grant(EVERY_SCOPE, project=WORKSPACE_LEVEL, grant_id="ws")],
    )
    refused_by(req, ErrorCode.HUMAN_ONLY_OPERATION)
    error = evaluate_grants(**req).error()
    assert isinstance(error, HumanOnlyOperation)
    assert str(denied) in error.message


# 4b. Audience (line 182, right operand) ------------------------------------------------


@pytest.mark.parametrize(
    "name", sorted(name for name, op in CATALOGUE.items() if op.audience is Audience.HUMAN)
)
def test_no_human_route_of_the_catalogue_is_open_to_an_agent(name: str) -> None:
    """Guards `operation.audience is not Audience.AGENT` (evaluation.py:182) for the real
    internal routes: they need no scope and no target, so no other layer refuses them
    (without the gate the target-less shortcut at line 184 would allow them)."""
    operation = CATALOGUE[name]
    assert not operation.every_scope & DENIED_SCOPES  # the denied-scope check stays silent
    refused_by(allowing(operation=operation, target=None), ErrorCode.HUMAN_ONLY_OPERATION)


@given(
    audience=st.sampled_from([Audience.HUMAN, Audience.HUMAN_ONLY]),
    scopes=st.frozensets(st.sampled_from(_ALLOWED), max_size=3),
    level=st.sampled_from([TargetLevel.NONE, TargetLevel.WORKSPACE, TargetLevel.PROJECT]),
)
def test_a_non_agent_operation_is_refused_whatever_is_granted(
    audience: Audience, scopes: frozenset[Scope], level: TargetLevel
) -> None:
    """Guards the audience gate (evaluation.py:182) alone: only allowed scopes are needed
    and all are granted on the target, so only the audience can refuse."""
    target = HERE if level is TargetLevel.PROJECT else Target(HERE.workspace_slug)
    req = allowing(
        operation=tool(scopes, audience=audience, level=level),
        target=target,
        grants=[grant(), grant(project=WORKSPACE_LEVEL, grant_id="ws")],
    )
    refused_by(req, ErrorCode.HUMAN_ONLY_OPERATION)


# 4c. The target-less shortcut (line 184) -----------------------------------------------


def test_whoami_needs_neither_a_grant_nor_a_target() -> None:
    """Guards the shortcut itself (evaluation.py:184): without it whoami, request_access
    and get_access_request would be not_granted for an agent that holds nothing yet."""
    for name in ("whoami", "request_access", "get_access_request"):
        for decision in decisions(allowing(operation=CATALOGUE[name], target=None, grants=[])):
            assert decision.allowed, name


def test_the_target_less_shortcut_never_waives_a_scope() -> None:
    """Guards `and not required` (evaluation.py:184): an operation without a target that
    does need a scope is not allowed for nothing."""
    refused_by(
        allowing(operation=tool(level=TargetLevel.NONE), target=None, grants=[]),
        ErrorCode.NOT_GRANTED,
    )


# 5. A covering grant (lines 187-194, covering_grants, GrantIndex, Grant.covers) ---------


def test_no_target_is_not_granted() -> None:
    """Guards `target is None` (evaluation.py:187)."""
    refused_by(allowing(target=None), ErrorCode.NOT_GRANTED)


@pytest.mark.parametrize(
    "elsewhere",
    [
        pytest.param(grant(workspace="other"), id="same-project-id-other-workspace"),
        pytest.param(grant(workspace="other", project=WORKSPACE_LEVEL), id="other-workspace"),
        pytest.param(grant(project=s.PROJECTS[1]), id="other-project"),
        pytest.param(grant(status=GrantStatus.REVOKED), id="revoked"),
        pytest.param(grant(agent_id=OTHER_AGENT), id="another-agents"),
    ],
)
def test_a_grant_that_does_not_cover_the_target_is_not_granted(elsewhere: Grant) -> None:
    """Guards each condition of coverage, by the plain scan (evaluation.py:149:
    agent, `is_active`, `Grant.covers` in grants.py: workspace, then project) and by the
    index (evaluation.py:110: agent, `is_active`; lookup by workspace and project), and
    `not coverage.refs` (evaluation.py:193): the grant holds every scope, so only coverage
    can refuse."""
    refused_by(allowing(grants=[elsewhere]), ErrorCode.NOT_GRANTED)


def test_an_index_of_another_agent_is_not_granted() -> None:
    """Guards `grants.agent_id == agent.id` (evaluation.py:190): an index built for agent B
    (holding a grant for A's target) is nothing to agent A."""
    index = GrantIndex(OTHER_AGENT, [grant(agent_id=OTHER_AGENT)])
    decision = evaluate_grants(**allowing(grants=index))
    assert (decision.allowed, decision.reason) == (False, ErrorCode.NOT_GRANTED)


# 6. Scopes (lines 196-205; field scopes in operations.py) ------------------------------


@given(needed=st.sampled_from(_ALLOWED), data=st.data())
def test_a_covering_grant_without_the_scope_is_scope_missing(
    needed: Scope, data: st.DataObject
) -> None:
    """Guards `missing = required - coverage.scopes` (evaluation.py:196): the grant covers
    the target and holds everything but the one scope needed."""
    others = data.draw(st.frozensets(st.sampled_from([x for x in _ALLOWED if x != needed])))
    req = allowing(operation=tool(frozenset({needed})), grants=[grant(others)])
    refused_by(req, ErrorCode.SCOPE_MISSING)
    assert evaluate_grants(**req).missing_scopes == (str(needed),)


@pytest.mark.parametrize(
    ("field", "scope"),
    sorted(CATALOGUE["create_issue"].field_scopes.items()),
)
def test_setting_a_field_needs_its_field_scope(field: str, scope: Scope) -> None:
    """Guards field scopes (operations.py:66, `Operation.required_scopes`): create_issue
    with `field` set needs `scope` besides issue:create."""
    req = allowing(
        operation=CATALOGUE["create_issue"],
        fields=frozenset({field}),
        grants=[grant(frozenset(ALLOWED_SCOPES) - {scope})],
    )
    refused_by(req, ErrorCode.SCOPE_MISSING)
    assert evaluate_grants(**req).missing_scopes == (str(scope),)
    assert evaluate_grants(**{**req, "fields": frozenset()}).allowed


# The effective-scopes filter (line 139) ------------------------------------------------


@given(st.lists(s.grants(), max_size=6), s.targets())
def test_a_denied_scope_in_storage_is_never_held(grants: list[Grant], target: Target) -> None:
    """Guards `effective_scopes(g.scopes)` in `_merge` (evaluation.py:139). The denied-
    scope check at line 182 refuses before held scopes are compared, so no decision shows
    the filter; what is held does: it picks the tools an agent is shown (`held_scopes`)
    and is what both coverage paths return."""
    tainted = [
        attrs.evolve(g, id=f"grant-{i}", scopes=g.scopes | {_DENIED[i % len(_DENIED)]})
        for i, g in enumerate(grants)
    ]
    index = GrantIndex(AGENT, tainted)
    assert index.held_scopes <= ALLOWED_SCOPES
    assert index.covering(target).scopes <= ALLOWED_SCOPES
    assert covering_grants(AGENT, tainted, target).scopes <= ALLOWED_SCOPES


def test_a_tampered_grant_holds_only_its_allowed_scopes() -> None:
    """Guards the filter (evaluation.py:139, scopes.py `effective_scopes`) by example."""
    tampered = grant(frozenset({Scope.ISSUE_READ, Scope.ISSUE_DELETE, Scope.RAW_TASKER_API}))
    assert GrantIndex(AGENT, [tampered]).held_scopes == {Scope.ISSUE_READ}
    assert covering_grants(AGENT, [tampered], HERE).scopes == {Scope.ISSUE_READ}
    assert effective_scopes(["issue:read", "issue:delete", "nonsense"]) == {Scope.ISSUE_READ}


# What a decision and the index record --------------------------------------------------


def test_a_scope_missing_refusal_names_the_grant_versions_it_weighed() -> None:
    """Guards `coverage.refs` in the scope_missing decision (evaluation.py:204): the audit
    of a refusal names the covering grants that fell short, as an allow names those used."""
    held = [grant(frozenset({Scope.ISSUE_READ})), grant(project=WORKSPACE_LEVEL, grant_id="ws")]
    req = allowing(operation=tool(frozenset({Scope.ISSUE_CREATE})), grants=held[:1])
    for decision in decisions(req):
        assert decision.reason is ErrorCode.SCOPE_MISSING
        assert decision.grant_versions == (held[0].ref,)
    wider = allowing(operation=tool(frozenset({Scope.ISSUE_CREATE})), grants=held)
    for decision in decisions(wider):
        assert decision.allowed
        assert decision.grant_versions == tuple(sorted(g.ref for g in held))


@given(st.lists(s.grants(agent_id=AGENT), max_size=6))
def test_held_scopes_are_every_active_grants_wherever_it_is(grants: list[Grant]) -> None:
    """Guards the union over every target in `GrantIndex.held_scopes`
    (evaluation.py:122): the tools listed follow all the agent's grants, not one."""
    held = GrantIndex(AGENT, grants).held_scopes
    expected = frozenset().union(*(effective_scopes(g.scopes) for g in grants if g.is_active))
    assert held == expected
