"""Hypothesis strategies for the gateway's domain: small pools, so collisions (same
workspace, same project, same agent) happen often and the rules are really exercised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
from hypothesis import strategies as st

from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.grants import WORKSPACE_LEVEL, Grant, GrantMode, GrantStatus, Target
from nodedc_gateway.domain.operations import CATALOGUE, Audience, Operation
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES, DENIED_SCOPES, Scope
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WORKSPACES = ("demo", "other", "third")
PROJECTS = (
    "01900000-0000-7000-8000-0000000000a1",
    "01900000-0000-7000-8000-0000000000a2",
    "01900000-0000-7000-8000-0000000000a3",
)
AGENT_IDS = ("01900000-0000-7000-8000-00000000ag01", "01900000-0000-7000-8000-00000000ag02")
OWNERS = ("owner-x", "owner-y")

#: Operations an agent can reach for: its tools and the human-only actions.
AGENT_REACHABLE = tuple(
    op for op in CATALOGUE.values() if op.audience in (Audience.AGENT, Audience.HUMAN_ONLY)
)

workspaces = st.sampled_from(WORKSPACES)
project_ids = st.sampled_from(PROJECTS)
operations = st.sampled_from(AGENT_REACHABLE)
any_operations = st.sampled_from(tuple(CATALOGUE.values()))
field_sets = st.frozensets(st.sampled_from(["state", "labels", "assignees", "card", "name", "x"]))


@st.composite
def targets(draw: st.DrawFn) -> Target:
    return Target(draw(workspaces), draw(st.sampled_from((WORKSPACE_LEVEL, *PROJECTS))))


_ALLOWED = sorted(ALLOWED_SCOPES)
_DENIED = sorted(DENIED_SCOPES)
_PLACES = [(w, p) for w in WORKSPACES for p in (WORKSPACE_LEVEL, *PROJECTS)]


def _grant(
    agent_pick: int, place: int, allowed_mask: int, denied_pick: int, status_mode: int, version: int
) -> Grant:
    workspace, project = _PLACES[place]
    scopes = {scope for bit, scope in enumerate(_ALLOWED) if allowed_mask >> bit & 1}
    if denied_pick < len(_DENIED):  # now and then a human-only scope, as tampering would
        scopes.add(_DENIED[denied_pick])
    return Grant(
        id="grant",
        agent_id=AGENT_IDS[agent_pick],
        workspace_slug=workspace,
        project_id=project,
        scopes=frozenset(scopes),
        mode=GrantMode.REPORTING if status_mode & 1 else GrantMode.VOLUNTARY,
        version=version,
        status=GrantStatus.REVOKED if status_mode % 5 == 4 else GrantStatus.ACTIVE,
        created_by_user_id="owner-x",
        created_at=NOW,
        updated_at=NOW,
    )


def grants(agent_id: str | None = None) -> st.SearchStrategy[Grant]:
    """A grant from six integer draws (cheap to generate, still shrinks toward simple)."""
    # Mostly the agent under test; one grant in four belongs to another agent.
    agent_picks = (
        st.just(AGENT_IDS.index(agent_id))
        if agent_id
        else st.integers(0, 3).map(lambda n: 1 if n == 3 else 0)
    )
    return st.builds(
        _grant,
        agent_picks,
        st.integers(0, len(_PLACES) - 1),
        st.integers(0, 2 ** len(_ALLOWED) - 1),
        st.integers(0, len(_DENIED) * 4),
        st.integers(0, 9),
        st.integers(1, 5),
    )


def grant(
    grant_id: str = "grant-1",
    workspace: str = "demo",
    project: str = PROJECTS[0],
    scopes: frozenset[Scope] | set[Scope] = ALLOWED_SCOPES,
    *,
    agent_id: str = AGENT_IDS[0],
    status: GrantStatus = GrantStatus.ACTIVE,
    version: int = 1,
) -> Grant:
    """One grant, as an example test writes it: every allowed scope on the first project."""
    return Grant(
        id=grant_id,
        agent_id=agent_id,
        workspace_slug=workspace,
        project_id=project,
        scopes=frozenset(scopes),
        mode=GrantMode.VOLUNTARY,
        version=version,
        status=status,
        created_by_user_id=OWNERS[0],
        created_at=NOW,
        updated_at=NOW,
    )


def agent(agent_id: str = AGENT_IDS[0], status: AgentStatus = AgentStatus.ACTIVE) -> Agent:
    return Agent(
        id=agent_id,
        owner_user_id=OWNERS[0],
        owner_email="x@demo.local",
        display_name="A",
        avatar_url=None,
        status=status,
        created_at=NOW,
        updated_at=NOW,
    )


def token(
    agent_id: str = AGENT_IDS[0], status: TokenStatus = TokenStatus.ACTIVE, expired: bool = False
) -> AgentToken:
    return AgentToken(
        id="token-1",
        agent_id=agent_id,
        name="t",
        token_hash="h",
        status=status,
        expires_at=NOW - timedelta(seconds=1) if expired else NOW + timedelta(days=1),
        last_used_at=None,
        created_at=NOW - timedelta(days=1),
    )


_TOKEN_STATES = st.sampled_from(["ok"] * 16 + ["revoked", "expired", "other-agent", "none"])
_AGENT_STATUSES = st.sampled_from(
    [AgentStatus.ACTIVE] * 12 + [AgentStatus.DISABLED, AgentStatus.REVOKED]
)
_ENTITLEMENTS = st.sampled_from(
    [Entitlement.ENTITLED] * 12 + [Entitlement.NOT_ENTITLED, Entitlement.UNKNOWN]
)
_GRANT_LISTS = st.lists(grants(), max_size=8)
_TARGETS = targets()
_TENTHS = st.integers(0, 9)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, object]:
    """Everything `evaluate_grants` takes, with a usable token and active, entitled agent
    most of the time so the later checks are reached. (Strategies are built once, above:
    building them per draw is what makes Hypothesis slow.)"""
    agent_id = AGENT_IDS[0]
    token_state = draw(_TOKEN_STATES)
    the_token = None
    if token_state != "none":
        the_token = token(
            agent_id=AGENT_IDS[1] if token_state == "other-agent" else agent_id,
            status=TokenStatus.REVOKED if token_state == "revoked" else TokenStatus.ACTIVE,
            expired=token_state == "expired",
        )
    # Distinct grants have distinct ids, as in storage.
    held = [attrs.evolve(g, id=f"grant-{i}") for i, g in enumerate(draw(_GRANT_LISTS))]
    # Half the time aim at something a grant names, so the later checks are reached.
    aimed = [Target(g.workspace_slug, g.project_id) for g in held if g.agent_id == agent_id]
    target: Target | None
    if aimed and draw(st.booleans()):
        target = aimed[draw(st.integers(0, len(aimed) - 1))]
    else:
        target = draw(_TARGETS) if draw(_TENTHS) else None
    return {
        "token": the_token,
        "agent": agent(agent_id, draw(_AGENT_STATUSES)),
        "entitlement": draw(_ENTITLEMENTS),
        "grants": held,
        "operation": draw(operations),
        "target": target,
        "fields": draw(field_sets),
        "now": NOW,
    }


def required_of(operation: Operation, fields: frozenset[str]) -> frozenset[Scope]:
    return operation.required_scopes(fields)
