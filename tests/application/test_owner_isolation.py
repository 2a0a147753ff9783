"""Owner isolation as a property of the owner use cases (issue 13).

Two owners of the demo Tasker; the victim has an agent (active, disabled or revoked),
grants, tokens, a pending access request. Whatever owner-scoped use case the other owner
calls on the victim's objects (or on their own agent with the victim's grant or token),
the answer is not_found, the very answer an id that exists nowhere gets, and nothing of
the victim's changes: not the agent, its tokens, grants, grant versions, access request
or audit chain. Listings and the owner lifecycle never reach across either.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
from nodedc_gateway.application.access_requests import DecideAccessRequest, ListAccessRequests
from nodedc_gateway.application.agents import (
    GetAgent,
    IssueToken,
    ListAgents,
    ListTokens,
    RevokeAgent,
    RevokeToken,
    UpdateAgent,
)
from nodedc_gateway.application.audit_trail import ListAuditEvents
from nodedc_gateway.application.grants import (
    CreateGrant,
    ListGrants,
    ListGrantVersions,
    RevokeGrant,
    UpdateGrant,
)
from nodedc_gateway.application.lifecycle import OwnerLifecycle
from nodedc_gateway.application.pairing import CreatePairingCode
from nodedc_gateway.application.pipeline import OwnerAction
from nodedc_gateway.domain.errors import NotFound
from nodedc_gateway.domain.scopes import ALLOWED_SCOPES
from tests.support.gateway import MemoryGateway, build_memory_gateway

OWNERS = ("alice", "bob", "carol")
#: Where each demo owner may grant (workspace, project ref or None): what Tasker lets them reach.
REACH: dict[str, tuple[tuple[str, str | None], ...]] = {
    "alice": (("demo", "DEMO"), ("demo", None), ("other", None)),
    "bob": (("demo", "DEMO"), ("demo", None)),
    "carol": (("demo", None),),
}
SCOPES = sorted(ALLOWED_SCOPES)
KEY = "victim-key-1"
TOKEN_BODY = {"name": "test", "expires_in_days": 90}
NOT_FOUND = {
    "No such agent for this owner.",
    "No such grant for this agent.",
    "No such token for this agent.",
    "No such access request for this owner.",
}


@attrs.frozen
class Ids:
    """The objects an attack names: the victim's, and the attacker's own agent."""

    agent: str
    grant: str
    token: str
    request: str
    own_agent: str

    def unknown(self) -> Ids:
        """The same names with every victim's id replaced by one that exists nowhere."""
        nowhere = "01900000-0000-7000-8000-00000000dead"
        return Ids(nowhere, nowhere, nowhere, nowhere, self.own_agent)


@attrs.frozen
class Plan:
    attacker: str
    victim: str
    agent_status: str
    grants: tuple[tuple[int, tuple[str, ...], str, bool], ...]
    token_revoked: bool
    scopes: tuple[str, ...]
    choice: int
    with_victims_key: bool


Attack = Callable[[MemoryGateway, Ids, Plan], OwnerAction[Any]]


def _attacker_target(gw: MemoryGateway, plan: Plan) -> dict[str, Any]:
    workspace, project = REACH[plan.attacker][plan.choice % len(REACH[plan.attacker])]
    body: dict[str, Any] = {"workspace_slug": workspace, "scopes": list(plan.scopes)}
    if project is not None:
        body["project_id"] = project
    return body


def _agent_body(plan: Plan) -> dict[str, Any]:
    bodies: list[dict[str, Any]] = [
        {"display_name": "mine now"},
        {"status": "disabled"},
        {"status": "active"},
    ]
    return bodies[plan.choice % 3]


def _grant_body(plan: Plan) -> dict[str, Any]:
    bodies: list[dict[str, Any]] = [{"scopes": list(plan.scopes)}, {"mode": "reporting"}]
    return bodies[plan.choice % 2]


def _decision(plan: Plan) -> dict[str, Any]:
    bodies: list[dict[str, Any]] = [
        {"decision": "approve"},
        {"decision": "approve", "scopes": list(plan.scopes)},
        {"decision": "deny", "note": "no"},
        {"decision": "suggest", "scopes": list(plan.scopes), "note": "these"},
    ]
    return bodies[plan.choice % 4]


#: Every owner-scoped use case that names an object, as the attacker would call it.
ATTACKS: dict[str, Attack] = {
    "get_agent": lambda gw, i, p: GetAgent(i.agent),
    "update_agent": lambda gw, i, p: UpdateAgent(i.agent, _agent_body(p)),
    "revoke_agent": lambda gw, i, p: RevokeAgent(i.agent),
    "issue_token": lambda gw, i, p: IssueToken(gw.management, i.agent, TOKEN_BODY),
    "list_tokens": lambda gw, i, p: ListTokens(i.agent),
    "revoke_token": lambda gw, i, p: RevokeToken(i.agent, i.token),
    "revoke_token_via_own_agent": lambda gw, i, p: RevokeToken(i.own_agent, i.token),
    "create_pairing_code": lambda gw, i, p: CreatePairingCode(gw.management, i.agent),
    "list_grants": lambda gw, i, p: ListGrants(i.agent, include_revoked=p.choice % 2 == 0),
    "create_grant": lambda gw, i, p: CreateGrant(gw.management, i.agent, _attacker_target(gw, p)),
    "update_grant": lambda gw, i, p: UpdateGrant(i.agent, i.grant, _grant_body(p)),
    "update_grant_via_own_agent": lambda gw, i, p: UpdateGrant(
        i.own_agent, i.grant, _grant_body(p)
    ),
    "revoke_grant": lambda gw, i, p: RevokeGrant(i.agent, i.grant),
    "revoke_grant_via_own_agent": lambda gw, i, p: RevokeGrant(i.own_agent, i.grant),
    "list_grant_versions": lambda gw, i, p: ListGrantVersions(i.agent, i.grant),
    "list_grant_versions_via_own_agent": lambda gw, i, p: ListGrantVersions(i.own_agent, i.grant),
    "list_audit_events": lambda gw, i, p: ListAuditEvents(i.agent, {}),
    "decide_access_request": lambda gw, i, p: DecideAccessRequest(
        gw.management, i.request, _decision(p)
    ),
}

_scope_lists = st.lists(st.sampled_from(SCOPES), min_size=1, max_size=3, unique=True).map(tuple)


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    attacker, victim = draw(st.permutations(OWNERS))[:2]
    grant = st.tuples(
        st.integers(0, 2), _scope_lists, st.sampled_from(["voluntary", "reporting"]), st.booleans()
    )
    return Plan(
        attacker=attacker,
        victim=victim,
        agent_status=draw(st.sampled_from(["active", "disabled", "revoked"])),
        grants=tuple(draw(st.lists(grant, min_size=1, max_size=2))),
        token_revoked=draw(st.booleans()),
        scopes=draw(_scope_lists),
        choice=draw(st.integers(0, 11)),
        with_victims_key=draw(st.booleans()),
    )


def _owner_id(gw: MemoryGateway, name: str) -> str:
    return str(getattr(gw.demo, name).id)


async def _world(plan: Plan) -> tuple[MemoryGateway, Ids]:
    """The victim's objects, made through the use cases, and the attacker's own agent."""
    gw = await build_memory_gateway()
    victim, attacker = _owner_id(gw, plan.victim), _owner_id(gw, plan.attacker)
    own_agent = await gw.create_agent(owner=attacker)
    await gw.grant(own_agent, owner=attacker, workspace="demo", project=None)
    agent = await gw.create_agent(owner=victim)
    grant_ids = []
    for place, scopes, mode, revoked in plan.grants:
        workspace, project = REACH[plan.victim][place % len(REACH[plan.victim])]
        made = await gw.grant(
            agent, owner=victim, scopes=scopes, workspace=workspace, project=project, mode=mode
        )
        grant_ids.append(str(made["id"]))
        if revoked:
            await gw.owner(RevokeGrant(agent, grant_ids[-1]), owner=victim)
    issued = await gw.owner(IssueToken(gw.management, agent, TOKEN_BODY), owner=victim, key=KEY)
    token = await gw.token(agent, owner=victim)  # a second one, to file the request with
    request = await gw.call(
        token,
        "request_access",
        {"workspace_slug": "demo", "project_id": "DEMO", "scopes": SCOPES, "justification": "x"},
    )
    await gw.owner(CreatePairingCode(gw.management, agent), owner=victim)
    if plan.token_revoked:
        await gw.owner(RevokeToken(agent, str(issued.body["id"])), owner=victim)
    if plan.agent_status == "disabled":
        await gw.owner(UpdateAgent(agent, {"status": "disabled"}), owner=victim)
    if plan.agent_status == "revoked":
        await gw.owner(RevokeAgent(agent), owner=victim)
    ids = Ids(
        agent=agent,
        grant=grant_ids[plan.choice % len(grant_ids)],
        token=str(issued.body["id"]),
        request=str(request.body["request"]["id"]),
        own_agent=own_agent,
    )
    return gw, ids


async def _victims_state(gw: MemoryGateway, ids: Ids) -> str:
    """Everything of the victim's an attack could change, as one comparable text."""
    async with gw.uow() as uow:
        agent = await uow.agents.get(ids.agent)
        tokens = await uow.tokens.list_by_agent(ids.agent)
        grants = await uow.grants.list_by_agent(ids.agent, include_revoked=True)
        versions = [await uow.grants.versions(g.id) for g in grants]
        request = await uow.access_requests.get(ids.request)
        chain = await uow.audit.chain(ids.agent)
    memory = gw.uow
    assert isinstance(memory, MemoryUnitOfWorkFactory)
    codes = sorted(repr(c) for c in memory.state.pairing_codes.values() if c.agent_id == ids.agent)
    return repr((agent, tokens, grants, versions, request, chain, codes))


async def _not_found(gw: MemoryGateway, attacker: str, action: OwnerAction[Any], **kw: Any) -> str:
    with pytest.raises(NotFound) as raised:
        await gw.owner(action, owner=attacker, **kw)
    return raised.value.message


@pytest.mark.parametrize("attack", sorted(ATTACKS))
@settings(max_examples=12)
@given(plan=plans())
async def test_no_owner_use_case_reaches_another_owners_objects(attack: str, plan: Plan) -> None:
    gw, ids = await _world(plan)
    attacker = _owner_id(gw, plan.attacker)
    before = await _victims_state(gw, ids)
    make = ATTACKS[attack]
    key = KEY if plan.with_victims_key else None  # the victim's key replays nothing here
    message = await _not_found(gw, attacker, make(gw, ids, plan), key=key)
    assert message in NOT_FOUND
    # The same answer as for objects that exist nowhere: no oracle.
    assert message == await _not_found(gw, attacker, make(gw, ids.unknown(), plan))
    assert await _victims_state(gw, ids) == before


@settings(max_examples=25)
@given(plans(), st.sampled_from(["active", "suspended", "deleted"]))
async def test_listings_and_the_lifecycle_stay_with_their_owner(plan: Plan, status: str) -> None:
    gw, ids = await _world(plan)
    attacker = _owner_id(gw, plan.attacker)
    before = await _victims_state(gw, ids)
    agents = (await gw.owner(ListAgents(), owner=attacker)).body["items"]
    assert [a["id"] for a in agents] == [ids.own_agent]
    requests = (await gw.owner(ListAccessRequests(), owner=attacker)).body["items"]
    assert requests == []
    await gw.owner(OwnerLifecycle(gw.management, {"status": status}), owner=attacker)
    assert await _victims_state(gw, ids) == before


@pytest.mark.parametrize(
    ("attacker", "body"),
    [
        ("carol", {"workspace_slug": "demo", "project_id": "DEMO", "scopes": ["issue:read"]}),
        ("bob", {"workspace_slug": "other", "scopes": ["issue:read"]}),
    ],
)
async def test_create_grant_on_another_owners_agent_out_of_reach_is_not_found(
    attacker: str, body: dict[str, Any]
) -> None:
    gw = await build_memory_gateway()
    agent = await gw.create_agent(owner=gw.alice)
    await _not_found(gw, _owner_id(gw, attacker), CreateGrant(gw.management, agent, body), key=None)
