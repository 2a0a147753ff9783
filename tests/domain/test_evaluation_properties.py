"""CONTRACT §3 as properties: every one holds for every input Hypothesis can find.

Each runs with the profile's example count (`make test`: the `ci` profile, 2,000 each).
"""

from __future__ import annotations

import random
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.agents import AgentStatus, owned_by
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.errors import ErrorCode, NotFound
from nodedc_gateway.domain.evaluation import Decision, GrantIndex, evaluate_grants
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantStatus
from nodedc_gateway.domain.operations import Audience, TargetLevel
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES, Scope
from nodedc_gateway.domain.tokens import TokenStatus
from tests.domain import strategies as s


def oracle(req: dict[str, Any]) -> tuple[bool, ErrorCode | None, frozenset[Scope]]:
    """CONTRACT §3 read literally, independently of the implementation."""
    token, agent, operation, target = req["token"], req["agent"], req["operation"], req["target"]
    required = operation.required_scopes(req["fields"])
    if (
        token is None
        or token.agent_id != agent.id
        or token.status is not TokenStatus.ACTIVE
        or req["now"] >= token.expires_at
    ):
        return False, ErrorCode.UNAUTHENTICATED, frozenset()
    if agent.status is not AgentStatus.ACTIVE:
        return False, ErrorCode.AGENT_INACTIVE, frozenset()
    if req["entitlement"] is Entitlement.NOT_ENTITLED:
        return False, ErrorCode.OWNER_NOT_ENTITLED, frozenset()
    if req["entitlement"] is Entitlement.UNKNOWN:
        return False, ErrorCode.LAUNCHER_UNAVAILABLE, frozenset()
    if required & DENIED_SCOPES or operation.audience is not Audience.AGENT:
        return False, ErrorCode.HUMAN_ONLY_OPERATION, frozenset()
    if operation.target_level is TargetLevel.NONE and not required:
        return True, None, frozenset()
    if target is None:
        return False, ErrorCode.NOT_GRANTED, frozenset()
    covering = [
        g
        for g in req["grants"]
        if g.agent_id == agent.id
        and g.status is GrantStatus.ACTIVE
        and g.workspace_slug == target.workspace_slug
        and g.project_id in (WORKSPACE_LEVEL, target.project_id)
    ]
    if not covering:
        return False, ErrorCode.NOT_GRANTED, frozenset()
    held = {scope for g in covering for scope in g.scopes if scope in ALLOWED_SCOPES}
    missing = required - held
    if missing:
        return False, ErrorCode.SCOPE_MISSING, frozenset(missing)
    return True, None, frozenset()


def decide(req: dict[str, Any], grants: Any = None) -> Decision:
    return evaluate_grants(**{**req, "grants": req["grants"] if grants is None else grants})


def with_index(req: dict[str, Any]) -> Decision:
    return decide(req, GrantIndex(req["agent"].id, req["grants"]))


@given(s.requests())
def test_the_evaluator_is_contract_section_3_exactly(req: dict[str, Any]) -> None:
    allowed, reason, missing = oracle(req)
    for decision in (decide(req), with_index(req)):
        assert decision.allowed is allowed
        assert decision.reason is reason
        assert frozenset(decision.missing_scopes) == missing


@given(s.requests())
def test_the_index_and_the_plain_scan_decide_alike(req: dict[str, Any]) -> None:
    assert decide(req) == with_index(req)


@given(s.requests())
def test_default_deny_without_grants(req: dict[str, Any]) -> None:
    decision = decide({**req, "grants": []})
    if decision.allowed:  # only what needs no grant: whoami and friends
        assert req["operation"].target_level is TargetLevel.NONE
        assert not decision.required_scopes


@given(s.requests(), st.frozensets(st.sampled_from(sorted(DENIED_SCOPES))))
def test_a_denied_scope_never_allows_anything(
    req: dict[str, Any], denied: frozenset[Scope]
) -> None:
    # Denied scopes smuggled into every grant in storage change nothing...
    tainted = [attrs.evolve(g, scopes=g.scopes | denied) for g in req["grants"]]
    assert decide({**req, "grants": tainted}) == decide(req)
    # ...and an operation needing one is refused, whatever is held.
    if decide(req).required_scopes & DENIED_SCOPES:
        assert not decide({**req, "grants": tainted}).allowed


@given(s.requests(), st.randoms())
def test_order_and_duplicates_of_grants_never_matter(
    req: dict[str, Any], rnd: random.Random
) -> None:
    shuffled = list(req["grants"]) * 2
    rnd.shuffle(shuffled)
    assert decide({**req, "grants": shuffled}) == decide(req)
    assert with_index({**req, "grants": shuffled}) == with_index(req)


@given(s.requests(), s.grants())
def test_adding_a_grant_never_turns_an_allow_into_a_deny(req: dict[str, Any], extra: Grant) -> None:
    before = decide(req)
    after = decide({**req, "grants": [*req["grants"], extra]})
    if before.allowed:
        assert after.allowed


@given(s.requests(), st.data())
def test_removing_a_grant_never_turns_a_deny_into_an_allow(
    req: dict[str, Any], data: st.DataObject
) -> None:
    if not req["grants"]:
        return
    before = decide(req)
    index = data.draw(st.integers(0, len(req["grants"]) - 1))
    fewer = req["grants"][:index] + req["grants"][index + 1 :]
    if not before.allowed:
        assert not decide({**req, "grants": fewer}).allowed


@given(s.requests())
def test_a_grant_in_one_workspace_never_allows_anything_in_another(req: dict[str, Any]) -> None:
    target = req["target"]
    if target is None:
        return
    elsewhere = [g for g in req["grants"] if g.workspace_slug != target.workspace_slug]
    decision = decide({**req, "grants": elsewhere})
    if req["operation"].target_level is not TargetLevel.NONE or decision.required_scopes:
        assert not decision.allowed
    by_id = {(g.id, g.version): g for g in req["grants"]}
    for ref in decide(req).grant_versions:  # what allowed names only its own workspace
        assert by_id[(ref.grant_id, ref.version)].workspace_slug == target.workspace_slug


@given(s.requests())
def test_grants_of_another_agent_never_allow(req: dict[str, Any]) -> None:
    foreign = [attrs.evolve(g, agent_id=s.AGENT_IDS[1]) for g in req["grants"]]
    decision = decide({**req, "grants": foreign})
    if decision.allowed:
        assert not decision.required_scopes


@given(st.sampled_from(s.OWNERS), st.sampled_from(s.OWNERS), st.sampled_from(list(AgentStatus)))
def test_an_agent_of_one_owner_is_never_visible_to_another(
    owner: str, asking: str, status: AgentStatus
) -> None:
    agent = attrs.evolve(s.agent(status=status), owner_user_id=owner)
    if owner == asking:
        assert owned_by(agent, asking) is agent
    else:
        with pytest.raises(NotFound, match=r"^No such agent for this owner\.$"):
            owned_by(agent, asking)  # the same answer as for no agent at all


@given(s.requests(), st.sampled_from(["revoked-token", "expired-token", "revoked-agent"]))
def test_revoked_or_expired_credentials_never_allow(req: dict[str, Any], how: str) -> None:
    if how == "revoked-agent":
        req = {**req, "agent": attrs.evolve(req["agent"], status=AgentStatus.REVOKED)}
    else:
        req = {
            **req,
            "token": s.token(
                status=TokenStatus.REVOKED if how == "revoked-token" else TokenStatus.ACTIVE,
                expired=how == "expired-token",
            ),
        }
    decision = decide(req)
    assert not decision.allowed
    assert decision.reason in (ErrorCode.UNAUTHENTICATED, ErrorCode.AGENT_INACTIVE)


@given(s.requests())
def test_every_denial_explains_itself(req: dict[str, Any]) -> None:
    decision = decide(req)
    error = decision.error()
    if decision.allowed:
        assert error is None
        return
    assert error is not None
    assert error.code is decision.reason
    if decision.reason is ErrorCode.SCOPE_MISSING:
        for scope in decision.missing_scopes:
            assert scope in error.message
        assert "request_access" in error.message
