"""evaluation.py, edge by edge: the refusal each reason becomes, word for word, and the
grant index's merging (docs/mutation.md: written to kill the mutants `make mutation` found
alive; the properties of tests/domain/test_evaluation_properties.py decide allow or deny,
these pin what a decision says and carries).
"""

from __future__ import annotations

import attrs
import pytest

from nodedc_gateway.domain.agents import Agent, AgentStatus
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
from nodedc_gateway.domain.evaluation import (
    Coverage,
    Decision,
    GrantIndex,
    covering_grants,
    evaluate_grants,
)
from nodedc_gateway.domain.grants import (
    WORKSPACE_LEVEL,
    Grant,
    GrantRef,
    GrantStatus,
    Target,
)
from nodedc_gateway.domain.operations import Audience, Kind, Operation, TargetLevel
from nodedc_gateway.domain.scopes import Scope
from nodedc_gateway.domain.tokens import AgentToken
from tests.domain import strategies as s

READ = frozenset({Scope.ISSUE_READ})


def refusal(
    reason: ErrorCode, required: frozenset[Scope] = READ, missing: tuple[str, ...] = ()
) -> GatewayError:
    error = Decision(False, reason, "get_issue", required, missing).error()
    assert error is not None
    return error


@pytest.mark.parametrize(
    ("reason", "kind", "message"),
    [
        (
            ErrorCode.UNAUTHENTICATED,
            Unauthenticated,
            "The credential is missing, unknown, revoked or expired.",
        ),
        (
            ErrorCode.AGENT_INACTIVE,
            AgentInactive,
            "This agent is disabled or revoked; its owner can re-enable it.",
        ),
        (
            ErrorCode.OWNER_NOT_ENTITLED,
            OwnerNotEntitled,
            "The agent's owner is not entitled to Codex agents (Launcher: codex_agents).",
        ),
        (
            ErrorCode.LAUNCHER_UNAVAILABLE,
            LauncherUnavailable,
            "Launcher cannot confirm the owner's entitlement; retry later.",
        ),
        (
            ErrorCode.HUMAN_ONLY_OPERATION,
            HumanOnlyOperation,
            "get_issue is for people in Tasker only; an agent cannot call it.",
        ),
        (
            ErrorCode.NOT_GRANTED,
            NotGranted,
            "get_issue: this agent has no grant for that workspace or project. "
            "Use list_projects to see what is granted, or ask with request_access.",
        ),
    ],
)
def test_each_reason_is_refused_in_its_own_words(
    reason: ErrorCode, kind: type[GatewayError], message: str
) -> None:
    error = refusal(reason)
    assert type(error) is kind
    assert error.as_payload() == {"code": str(reason), "message": message}


def test_a_human_only_refusal_names_only_the_denied_scopes_required() -> None:
    error = refusal(
        ErrorCode.HUMAN_ONLY_OPERATION, frozenset({Scope.ISSUE_READ, Scope.ISSUE_DELETE})
    )
    assert type(error) is HumanOnlyOperation
    assert error.as_payload() == {
        "code": "human_only_operation",
        "message": "issue:delete is human-only: an agent can never hold or use it. "
        "Ask a person to do this in Tasker.",
        "denied_scopes": ["issue:delete"],
    }


def test_a_missing_scope_refusal_lists_what_is_missing() -> None:
    error = refusal(ErrorCode.SCOPE_MISSING, missing=("issue:move", "issue:read"))
    assert type(error) is ScopeMissing
    assert error.details["missing_scopes"] == ["issue:move", "issue:read"]


def test_only_a_denial_raises() -> None:
    allowed = Decision(True, None, "get_issue", READ)
    assert allowed.error() is None
    allowed.raise_if_denied()
    denied = Decision(False, ErrorCode.NOT_GRANTED, "get_issue", READ)
    with pytest.raises(NotGranted, match=r"^get_issue: this agent has no grant"):
        denied.raise_if_denied()


grant = s.grant


P1, P2 = s.PROJECTS[0], s.PROJECTS[1]
GRANTS = [
    grant("g1", "demo", WORKSPACE_LEVEL, {Scope.ISSUE_READ}, version=2),
    grant("g2", "demo", P1, {Scope.ISSUE_MOVE, Scope.ISSUE_DELETE}),
    grant("g3", "demo", P1, {Scope.ISSUE_COMMENT}, version=4),
    grant("g4", "other", P2, {Scope.ISSUE_CREATE}),
    grant("g5", "third", WORKSPACE_LEVEL, {Scope.ISSUE_LABEL}, status=GrantStatus.REVOKED),
    grant("g6", "fourth", P1, {Scope.ISSUE_ASSIGN}, agent_id=s.AGENT_IDS[1]),
]


def test_the_index_holds_the_effective_scopes_and_workspaces_of_active_own_grants() -> None:
    index = GrantIndex(s.AGENT_IDS[0], GRANTS)
    assert index.agent_id == s.AGENT_IDS[0]
    assert index.held_scopes == {
        Scope.ISSUE_READ,
        Scope.ISSUE_MOVE,
        Scope.ISSUE_COMMENT,
        Scope.ISSUE_CREATE,
    }
    assert index.workspaces == {"demo", "other"}
    empty = GrantIndex(s.AGENT_IDS[0], GRANTS[4:])
    assert (empty.held_scopes, empty.workspaces) == (frozenset(), frozenset())


def scan(project: str) -> Coverage:
    """The plain scan the index must agree with."""
    return covering_grants(s.AGENT_IDS[0], GRANTS, Target("demo", project))


def test_a_project_is_covered_by_its_own_and_its_workspace_grants_merged() -> None:
    index = GrantIndex(s.AGENT_IDS[0], GRANTS)
    project = Coverage(
        frozenset({Scope.ISSUE_READ, Scope.ISSUE_MOVE, Scope.ISSUE_COMMENT}),
        (GrantRef("g1", 2), GrantRef("g2", 1), GrantRef("g3", 4)),
    )
    workspace = Coverage(frozenset({Scope.ISSUE_READ}), (GrantRef("g1", 2),))
    for coverage in (index.covering(Target("demo", P1)), scan(P1)):
        assert coverage == project
    for coverage in (index.covering(Target("demo", P2)), scan(P2)):
        assert coverage == workspace
    assert index.covering(Target("demo")) == workspace
    assert index.covering(Target("other")) == Coverage(frozenset(), ())
    assert index.covering(Target("other", P1)) == Coverage(frozenset(), ())
    assert index.covering(Target("third", P1)).refs == ()


REFS_P1 = (GrantRef("g2", 1), GrantRef("g3", 4))
GET = Operation("get_it", Kind.READ, Audience.AGENT, TargetLevel.PROJECT, READ)
ABOUT_ME = Operation("about_me", Kind.READ, Audience.AGENT, TargetLevel.NONE)


def decide(
    operation: Operation = GET,
    target: Target | None = None,
    *,
    grants: list[Grant] | GrantIndex | None = None,
    entitlement: Entitlement = Entitlement.ENTITLED,
    token: AgentToken | None = None,
    agent: Agent | None = None,
) -> Decision:
    return evaluate_grants(
        token=token or s.token(),
        agent=agent or s.agent(),
        entitlement=entitlement,
        grants=GRANTS if grants is None else grants,
        operation=operation,
        target=target,
        now=s.NOW,
    )


def test_each_early_refusal_names_the_operation_and_what_it_required() -> None:
    def refused(reason: ErrorCode) -> Decision:
        return Decision(False, reason, "get_it", READ)

    no_token = evaluate_grants(
        token=None,
        agent=s.agent(),
        entitlement=Entitlement.ENTITLED,
        grants=GRANTS,
        operation=GET,
        target=Target("demo", P1),
        now=s.NOW,
    )
    assert no_token == refused(ErrorCode.UNAUTHENTICATED)
    disabled = s.agent(status=AgentStatus.DISABLED)
    assert decide(agent=disabled) == refused(ErrorCode.AGENT_INACTIVE)
    assert decide(entitlement=Entitlement.NOT_ENTITLED) == refused(ErrorCode.OWNER_NOT_ENTITLED)
    assert decide(entitlement=Entitlement.UNKNOWN) == refused(ErrorCode.LAUNCHER_UNAVAILABLE)
    assert decide(target=None) == refused(ErrorCode.NOT_GRANTED)
    assert decide(target=Target("nowhere", P1)) == refused(ErrorCode.NOT_GRANTED)


def test_an_operation_for_people_is_refused_even_without_a_denied_scope() -> None:
    for audience in (Audience.HUMAN, Audience.HUMAN_ONLY):
        for_people = attrs.evolve(GET, audience=audience)
        assert decide(for_people, Target("demo", P1)) == Decision(
            False, ErrorCode.HUMAN_ONLY_OPERATION, "get_it", READ
        )
    deleting = attrs.evolve(GET, scopes=frozenset({Scope.ISSUE_DELETE}))
    assert decide(deleting, Target("demo", P1)).reason is ErrorCode.HUMAN_ONLY_OPERATION


def test_only_an_operation_about_the_agent_itself_needs_no_grant() -> None:
    assert decide(ABOUT_ME, grants=[]) == Decision(True, None, "about_me", frozenset())
    scopeless = attrs.evolve(ABOUT_ME, target_level=TargetLevel.PROJECT)
    assert decide(scopeless, Target("demo", P1), grants=[]) == Decision(
        False, ErrorCode.NOT_GRANTED, "about_me", frozenset()
    )
    allowed = decide(scopeless, Target("demo", P1))
    assert (allowed.allowed, allowed.grant_versions) == (True, (GrantRef("g1", 2), *REFS_P1))
    needing = attrs.evolve(ABOUT_ME, scopes=READ)
    assert decide(needing, None).reason is ErrorCode.NOT_GRANTED


def test_an_allowed_or_short_decision_names_the_grant_versions_it_used() -> None:
    for grants in (GRANTS, GrantIndex(s.AGENT_IDS[0], GRANTS)):
        assert decide(GET, Target("demo", P1), grants=grants) == Decision(
            True, None, "get_it", READ, (), (GrantRef("g1", 2), *REFS_P1)
        )
        creating = attrs.evolve(GET, scopes=frozenset({Scope.ISSUE_CREATE, Scope.ISSUE_LABEL}))
        assert decide(creating, Target("demo", P2), grants=grants) == Decision(
            False,
            ErrorCode.SCOPE_MISSING,
            "get_it",
            creating.scopes,
            ("issue:create", "issue:label"),
            (GrantRef("g1", 2),),
        )
    other_agent = GrantIndex(s.AGENT_IDS[1], GRANTS)
    assert decide(GET, Target("fourth", P1), grants=other_agent).reason is ErrorCode.NOT_GRANTED
