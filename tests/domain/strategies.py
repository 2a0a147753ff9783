"""Hypothesis strategies for the gateway's domain: small pools, so collisions (same
workspace, same project, same agent) happen often and the rules are really exercised."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
#: Mostly grantable scopes (as real grants hold), some human-only ones (as tampering would).
scope_sets = st.frozensets(
    st.sampled_from([*sorted(ALLOWED_SCOPES)] * 3 + sorted(DENIED_SCOPES)), max_size=8
)
operations = st.sampled_from(AGENT_REACHABLE)
any_operations = st.sampled_from(tuple(CATALOGUE.values()))
field_sets = st.frozensets(st.sampled_from(["state", "labels", "assignees", "card", "name", "x"]))


@st.composite
def targets(draw: st.DrawFn) -> Target:
    return Target(draw(workspaces), draw(st.sampled_from((WORKSPACE_LEVEL, *PROJECTS))))


@st.composite
def grants(draw: st.DrawFn, agent_id: str | None = None) -> Grant:
    return Grant(
        id=f"grant-{draw(st.integers(0, 30))}",
        agent_id=agent_id or draw(st.sampled_from(AGENT_IDS)),
        workspace_slug=draw(workspaces),
        project_id=draw(st.sampled_from((WORKSPACE_LEVEL, *PROJECTS))),
        scopes=draw(scope_sets),
        mode=draw(st.sampled_from(list(GrantMode))),
        version=draw(st.integers(1, 5)),
        status=draw(st.sampled_from([GrantStatus.ACTIVE] * 4 + [GrantStatus.REVOKED])),
        created_by_user_id="owner-x",
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


@st.composite
def requests(draw: st.DrawFn) -> dict[str, object]:
    """Everything `evaluate_grants` takes, with a usable token and active, entitled agent
    most of the time so the later checks are reached."""
    agent_id = AGENT_IDS[0]
    token_state = draw(st.sampled_from(["ok"] * 16 + ["revoked", "expired", "other-agent", "none"]))
    if token_state == "none":
        the_token = None
    else:
        the_token = token(
            agent_id=AGENT_IDS[1] if token_state == "other-agent" else agent_id,
            status=TokenStatus.REVOKED if token_state == "revoked" else TokenStatus.ACTIVE,
            expired=token_state == "expired",
        )
    agent_status = draw(
        st.sampled_from([AgentStatus.ACTIVE] * 12 + [AgentStatus.DISABLED, AgentStatus.REVOKED])
    )
    held = draw(st.lists(grants(), max_size=8))
    # Half the time aim at something a grant names, so the later checks are reached.
    aimed = [Target(g.workspace_slug, g.project_id) for g in held if g.agent_id == agent_id]
    if aimed and draw(st.booleans()):
        target: Target | None = draw(st.sampled_from(aimed))
    else:
        target = draw(targets()) if draw(st.integers(0, 9)) else None
    return {
        "token": the_token,
        "agent": agent(agent_id, agent_status),
        "entitlement": draw(
            st.sampled_from(
                [Entitlement.ENTITLED] * 12 + [Entitlement.NOT_ENTITLED, Entitlement.UNKNOWN]
            )
        ),
        "grants": held,
        "operation": draw(operations),
        "target": target,
        "fields": draw(field_sets),
        "now": NOW,
    }


def required_of(operation: Operation, fields: frozenset[str]) -> frozenset[Scope]:
    return operation.required_scopes(fields)
