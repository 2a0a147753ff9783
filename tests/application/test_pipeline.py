"""The shared pipeline, end to end on in-memory adapters: a workflow, every refusal, and the
audit each leaves behind."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

import pytest

from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
from nodedc_gateway.adapters.ratelimit.memory import MemoryRateLimitStore
from nodedc_gateway.application.access_requests import ListAccessRequests
from nodedc_gateway.application.agents import (
    GetAgent,
    IssueToken,
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
from nodedc_gateway.application.pairing import CreatePairingCode, RedeemPairingCode
from nodedc_gateway.application.pipeline import (
    AgentAction,
    AgentCall,
    Located,
    OwnerAction,
    RateLimits,
)
from nodedc_gateway.application.tools import build_tool
from nodedc_gateway.domain.audit import AuditDecision, verify_chain
from nodedc_gateway.domain.errors import (
    AgentInactive,
    ErrorCode,
    HumanOnlyOperation,
    IdempotencyInFlight,
    IdempotencyKeyReused,
    NotFound,
    NotGranted,
    OwnerNotEntitled,
    RateLimited,
    ScopeMissing,
    TaskerUnavailable,
    Unauthenticated,
    ValidationFailed,
)
from nodedc_gateway.domain.grants import Target
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tokens import mint_token
from tests.support.gateway import MemoryGateway, build_gateway, build_memory_gateway

DEMO = {"workspace_slug": "demo", "project_id": "DEMO"}


@pytest.fixture
async def gw() -> MemoryGateway:
    return await build_memory_gateway()


async def test_an_agent_keeps_a_card_up_to_date(gw: MemoryGateway) -> None:
    agent_id, token = await gw.agent_with_token()
    created = await gw.call(
        token, "create_issue", {**DEMO, "name": "Login page", "priority": "high"}
    )
    key = created.body["issue"]["identifier"]
    assert key == "DEMO-1"
    await gw.call(token, "update_issue", {**DEMO, "issue": key, "description": "Use **OAuth**"})
    await gw.call(token, "move_issue", {**DEMO, "issue": key, "state": "in progress"})
    await gw.call(token, "set_issue_labels", {**DEMO, "issue": key, "add": ["feature", "bug"]})
    await gw.call(token, "set_issue_labels", {**DEMO, "issue": key, "remove": ["bug"]})
    await gw.call(token, "set_issue_assignees", {**DEMO, "issue": key, "add": ["bob@demo.local"]})
    await gw.call(token, "add_comment", {**DEMO, "issue": key, "body": "Started on it"})
    issue = (await gw.call(token, "get_issue", {"workspace_slug": "demo", "issue": key})).body[
        "issue"
    ]
    assert issue["name"] == "Login page"
    assert issue["priority"] == "high"
    assert "<strong>OAuth</strong>" in issue["description_html"]
    assert issue["state"]["name"] == "In Progress"
    assert [label["name"] for label in issue["labels"]] == ["feature"]
    assert [a["email"] for a in issue["assignees"]] == ["bob@demo.local"]
    assert "Started on it" in issue["comments"][0]["body_html"]
    assert issue["comments"][0]["author"]["agent_id"] == agent_id
    # every write was made for the agent, with its bot identity and owner
    assert {actor.agent_id for _, actor in gw.tasker.writes} == {agent_id}
    assert {actor.owner_user_id for _, actor in gw.tasker.writes} == {gw.alice}


async def test_every_call_is_audited_in_an_unbroken_chain(gw: MemoryGateway) -> None:
    agent_id, token = await gw.agent_with_token(scopes=["issue:read", "project:read"])
    await gw.call(token, "list_projects")
    with pytest.raises(ScopeMissing):
        await gw.call(token, "create_issue", {**DEMO, "name": "x"})
    events = await gw.audit(agent_id)
    assert [(e.draft.operation, e.draft.decision) for e in events[-2:]] == [
        ("list_projects", AuditDecision.ALLOW),
        ("create_issue", AuditDecision.DENY),
    ]
    denied = events[-1].draft
    assert denied.reason is ErrorCode.SCOPE_MISSING
    assert denied.owner_user_id == gw.alice
    assert denied.metadata["missing_scopes"] == ["issue:create"]
    assert events[-2].draft.grant_versions  # the allow names the grant version it used
    async with gw.uow() as uow:
        head = await uow.audit.head(agent_id)
    assert verify_chain(agent_id, events, head).ok


async def test_tokens_that_do_not_check_out_are_unauthenticated(gw: MemoryGateway) -> None:
    agent_id, token = await gw.agent_with_token()
    raw = token.reveal()
    # Its checksum's last character changed (to one it is not: a fixed "0" was the token
    # itself whenever the checksum ended in "0", and the test failed once in a while).
    broken = raw[:-1] + ("1" if raw.endswith("0") else "0")
    for bad in ("", "ndca_short", "Bearer x", broken):
        with pytest.raises(Unauthenticated):
            await gw.call(SecretStr(bad), "whoami")
    unknown = mint_token("A" * 36)  # well formed, but never issued
    with pytest.raises(Unauthenticated):
        await gw.call(unknown, "whoami")
    assert all(e.draft.operation != "whoami" for e in await gw.audit(agent_id))


async def test_a_revoked_token_stops_on_the_next_call_and_is_audited(gw: MemoryGateway) -> None:
    agent_id, token = await gw.agent_with_token()
    await gw.call(token, "whoami")
    tokens = (await gw.owner(ListTokens(agent_id))).body["items"]
    await gw.owner(RevokeToken(agent_id, tokens[0]["id"]))
    with pytest.raises(Unauthenticated):
        await gw.call(token, "whoami")
    last = (await gw.audit(agent_id))[-1].draft
    assert (last.decision, last.reason) == (AuditDecision.DENY, ErrorCode.UNAUTHENTICATED)


async def test_an_expired_token_is_refused(gw: MemoryGateway) -> None:
    agent_id = await gw.create_agent()
    await gw.grant(agent_id)
    token = await gw.token(agent_id, days=1)
    await gw.call(token, "whoami")
    gw.clock.advance(days=1)
    with pytest.raises(Unauthenticated):
        await gw.call(token, "whoami")


async def test_a_disabled_agent_is_inactive_until_enabled_and_revoked_for_good(
    gw: MemoryGateway,
) -> None:
    agent_id, token = await gw.agent_with_token()
    await gw.owner(UpdateAgent(agent_id, {"status": "disabled"}))
    with pytest.raises(AgentInactive):
        await gw.call(token, "whoami")
    await gw.owner(UpdateAgent(agent_id, {"status": "active"}))
    await gw.call(token, "whoami")
    await gw.owner(RevokeAgent(agent_id))
    with pytest.raises(Unauthenticated):  # revoking the agent revoked its tokens too
        await gw.call(token, "whoami")
    with pytest.raises(ValidationFailed):
        await gw.owner(UpdateAgent(agent_id, {"status": "active"}))


async def test_an_owner_who_loses_the_entitlement_loses_their_agents_within_60s(
    gw: MemoryGateway,
) -> None:
    _, token = await gw.agent_with_token()
    await gw.call(token, "whoami")
    gw.launcher.set_entitled(gw.alice, False)
    await gw.call(token, "whoami")  # the cached answer still holds...
    gw.clock.advance(seconds=60)
    with pytest.raises(OwnerNotEntitled):  # ...but not past 60 s
        await gw.call(token, "whoami")
    with pytest.raises(OwnerNotEntitled):
        await gw.create_agent()


async def test_another_workspace_or_project_is_not_granted(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token()
    with pytest.raises(NotGranted):
        await gw.call(token, "get_project", {"workspace_slug": "other", "project_id": "OTH"})
    other_id = gw.demo.other_project.id
    with pytest.raises(NotGranted):
        await gw.call(token, "get_project", {"workspace_slug": "other", "project_id": other_id})
    with pytest.raises(NotGranted):  # a real project id, but in the wrong workspace
        await gw.call(token, "search_issues", {"workspace_slug": "demo", "project_id": other_id})
    with pytest.raises(NotGranted):
        await gw.call(token, "get_project", {"workspace_slug": "demo", "project_id": "NOPE"})


async def test_a_missing_scope_is_named_and_points_to_request_access(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token(scopes=["issue:read", "issue:create"])
    created = await gw.call(token, "create_issue", {**DEMO, "name": "Plain"})
    assert created.body["issue"]["identifier"] == "DEMO-1"
    with pytest.raises(ScopeMissing) as raised:
        await gw.call(token, "create_issue", {**DEMO, "name": "Labelled", "labels": ["bug"]})
    assert raised.value.as_payload()["missing_scopes"] == ["issue:label"]
    assert "request_access" in raised.value.message


async def test_list_projects_shows_only_what_is_granted(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token(scopes=["project:read"])
    listed = (await gw.call(token, "list_projects")).body["items"]
    assert [p["identifier"] for p in listed] == ["DEMO"]
    with pytest.raises(NotGranted):
        await gw.call(token, "list_projects", {"workspace_slug": "other"})
    _, reader = await gw.agent_with_token(scopes=["issue:read"])
    with pytest.raises(ScopeMissing):
        await gw.call(reader, "list_projects", {"workspace_slug": "demo"})


async def test_whoami_lists_only_usable_tools_and_the_grants(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token(scopes=["issue:read"])
    body = (await gw.call(token, "whoami")).body
    assert set(body["tools"]) == {
        "whoami",
        "search_issues",
        "get_issue",
        "request_access",
        "get_access_request",
    }
    assert body["grants"][0]["scopes"] == ["issue:read"]
    assert body["grants"][0]["project_id"] == gw.demo.project.id
    assert {limit["name"] for limit in body["limits"]} == {"reads", "writes"}


async def test_unknown_references_list_the_valid_choices(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token()
    with pytest.raises(ValidationFailed) as raised:
        await gw.call(token, "create_issue", {**DEMO, "name": "x", "state": "Shipped"})
    assert raised.value.details["valid_choices"] == sorted(
        ["Backlog", "Todo", "In Progress", "Done", "Cancelled"]
    )
    with pytest.raises(ValidationFailed) as unassignable:
        await gw.call(
            token, "create_issue", {**DEMO, "name": "x", "assignees": ["carol@demo.local"]}
        )
    assert "carol" not in str(unassignable.value.details["valid_choices"])
    with pytest.raises(ValidationFailed) as unknown_arg:
        await gw.call(token, "create_issue", {**DEMO, "name": "x", "archived_at": "now"})
    assert unknown_arg.value.errors[0].field == "archived_at"


async def test_adding_a_project_member_takes_only_existing_workspace_members(
    gw: MemoryGateway,
) -> None:
    _, token = await gw.agent_with_token()
    added = await gw.call(token, "add_project_member", {**DEMO, "user": "carol@demo.local"})
    assert added.body["member"]["email"] == "carol@demo.local"
    with pytest.raises(ValidationFailed):
        await gw.call(token, "add_project_member", {**DEMO, "user": "mallory@evil.example"})
    assigned = await gw.call(
        token, "create_issue", {**DEMO, "name": "For Carol", "assignees": ["carol@demo.local"]}
    )
    assert assigned.body["issue"]["assignees"][0]["email"] == "carol@demo.local"


async def test_writes_are_rate_limited_per_agent_and_refusals_audited() -> None:
    gw = await build_memory_gateway(limits=RateLimits(writes=RatePolicy("writes", 60, 60, 2)))
    agent_id, token = await gw.agent_with_token()
    for n in range(2):
        await gw.call(token, "create_issue", {**DEMO, "name": f"n{n}"})
    with pytest.raises(RateLimited) as raised:
        await gw.call(token, "create_issue", {**DEMO, "name": "too many"})
    assert raised.value.retry_after_s == 1
    await gw.call(token, "whoami")  # reads have their own budget
    assert (await gw.audit(agent_id))[-2].draft.reason is ErrorCode.RATE_LIMITED
    gw.clock.advance(seconds=1)
    await gw.call(token, "create_issue", {**DEMO, "name": "later"})


async def test_an_idempotent_retry_replays_and_a_reused_key_is_refused(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token()
    args = {**DEMO, "name": "Once", "idempotency_key": "key-1"}
    first = await gw.call(token, "create_issue", args)
    again = await gw.call(token, "create_issue", args)
    assert again.replayed
    assert not first.replayed
    assert again.body == first.body
    with pytest.raises(IdempotencyKeyReused):
        await gw.call(token, "create_issue", {**args, "name": "Twice"})
    found = await gw.call(token, "search_issues", {**DEMO, "query": "Once"})
    assert len(found.body["items"]) == 1
    gw.clock.advance(hours=24)
    fresh = await gw.call(token, "create_issue", {**args, "name": "Twice"})
    assert not fresh.replayed


async def test_refusals_are_not_stored_but_not_found_is(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token()
    with pytest.raises(ValidationFailed):
        await gw.call(
            token, "add_comment", {**DEMO, "issue": "DEMO-1", "body": "", "idempotency_key": "k"}
        )
    with pytest.raises(NotFound):  # the failed validation left the key free
        await gw.call(
            token, "add_comment", {**DEMO, "issue": "DEMO-1", "body": "hi", "idempotency_key": "k"}
        )
    await gw.call(token, "create_issue", {**DEMO, "name": "Now it exists"})
    with pytest.raises(NotFound):  # ...and not_found was stored: the replay repeats it
        await gw.call(
            token, "add_comment", {**DEMO, "issue": "DEMO-1", "body": "hi", "idempotency_key": "k"}
        )


class _Blocking(AgentAction[dict[str, str]]):
    """A write that waits until released, to hold its idempotency key in flight."""

    operation: ClassVar = CATALOGUE["add_comment"]

    def __init__(self, key: str, release: asyncio.Event, fail: bool = False) -> None:
        self.idempotency_key = key
        self.release = release
        self.fail = fail
        self.runs = 0
        self.started = asyncio.Event()

    def arguments(self) -> Mapping[str, Any]:
        return {"n": 1}

    async def locate(self, call: AgentCall) -> Located:
        return Located(Target("demo", call.caller.grants[0].project_id))

    async def act(self, call: AgentCall, located: Located) -> Any:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        if self.fail:
            raise TaskerUnavailable()
        from nodedc_gateway.application.results import Page

        return Page([])


async def test_a_second_request_while_the_first_runs_is_in_flight(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token()
    release = asyncio.Event()
    first = _Blocking("same", release)
    running = asyncio.create_task(gw.pipeline.run_agent(token, first))
    await first.started.wait()  # it holds the key, in flight
    with pytest.raises(IdempotencyInFlight):
        await gw.pipeline.run_agent(token, _Blocking("same", release))
    release.set()
    assert not (await running).replayed
    assert (await gw.pipeline.run_agent(token, _Blocking("same", release))).replayed


async def test_an_unknown_upstream_outcome_frees_the_key_for_a_retry(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token()
    release = asyncio.Event()
    release.set()
    with pytest.raises(TaskerUnavailable):
        await gw.pipeline.run_agent(token, _Blocking("k", release, fail=True))
    retry = _Blocking("k", release)
    assert not (await gw.pipeline.run_agent(token, retry)).replayed
    assert retry.runs == 1


async def test_an_agent_cannot_reach_a_human_only_operation(gw: MemoryGateway) -> None:
    agent_id, token = await gw.agent_with_token()

    class DeleteIssue(_Blocking):
        operation: ClassVar = CATALOGUE["delete_issue"]

    release = asyncio.Event()
    release.set()
    action = DeleteIssue("k", release)
    with pytest.raises(HumanOnlyOperation) as raised:
        await gw.pipeline.run_agent(token, action)
    assert "issue:delete" in raised.value.message
    assert action.runs == 0
    assert (await gw.audit(agent_id))[-1].draft.reason is ErrorCode.HUMAN_ONLY_OPERATION


async def test_another_owners_agent_is_not_found_on_every_owner_route(gw: MemoryGateway) -> None:
    agent_id, _ = await gw.agent_with_token()
    grant_id = (await gw.owner(ListGrants(agent_id))).body["items"][0]["id"]
    mallory = gw.demo.carol.id
    actions: list[OwnerAction[Any]] = [
        GetAgent(agent_id),
        UpdateAgent(agent_id, {"display_name": "mine now"}),
        RevokeAgent(agent_id),
        IssueToken(gw.management, agent_id, {"name": "x"}),
        ListTokens(agent_id),
        RevokeToken(agent_id, "whatever"),
        CreatePairingCode(gw.management, agent_id),
        ListGrants(agent_id),
        CreateGrant(gw.management, agent_id, {"workspace_slug": "demo", "scopes": ["issue:read"]}),
        UpdateGrant(agent_id, grant_id, {"scopes": ["issue:read"]}),
        RevokeGrant(agent_id, grant_id),
        ListGrantVersions(agent_id, grant_id),
        ListAuditEvents(agent_id, {}),
    ]
    for action in actions:
        with pytest.raises(NotFound) as raised:
            await gw.owner(action, owner=mallory)
        assert raised.value.message == "No such agent for this owner.", type(action).__name__
    assert (await gw.owner(GetAgent(agent_id))).body["status"] == "active"


async def test_another_owners_agent_is_not_found_before_tasker_is_asked(
    gw: MemoryGateway,
) -> None:
    # Carol cannot reach the "other" workspace: were Tasker asked first, she would learn
    # a 422 about her own access instead of the 404 another owner's agent always is.
    agent_id = await gw.create_agent()
    carol = gw.demo.carol.id
    body = {"workspace_slug": "other", "scopes": ["issue:read"]}
    with pytest.raises(NotFound) as raised:
        await gw.owner(CreateGrant(gw.management, agent_id, body), owner=carol)
    assert raised.value.message == "No such agent for this owner."


async def test_grant_scopes_are_checked_and_changes_are_versions(gw: MemoryGateway) -> None:
    agent_id = await gw.create_agent()
    with pytest.raises(HumanOnlyOperation):
        await gw.grant(agent_id, scopes=["issue:read", "issue:delete"])
    with pytest.raises(ValidationFailed):
        await gw.grant(agent_id, scopes=["issue:read", "issue:teleport"])
    grant = await gw.grant(agent_id, scopes=["issue:read"])
    await gw.owner(UpdateGrant(agent_id, grant["id"], {"scopes": ["issue:read", "issue:create"]}))
    await gw.owner(UpdateGrant(agent_id, grant["id"], {"mode": "reporting"}))
    await gw.owner(RevokeGrant(agent_id, grant["id"]))
    versions = (await gw.owner(ListGrantVersions(agent_id, grant["id"]))).body["items"]
    assert [(v["version"], v["change"]) for v in versions] == [
        (1, "created"),
        (2, "updated"),
        (3, "updated"),
        (4, "revoked"),
    ]
    assert versions[1]["scopes"] == ["issue:create", "issue:read"]


async def test_a_grant_needs_an_owner_who_reaches_the_project(gw: MemoryGateway) -> None:
    carol = gw.demo.carol.id  # in the workspace, not in the DEMO project
    agent_id = await gw.create_agent(owner=carol)
    with pytest.raises(ValidationFailed) as raised:
        await gw.grant(agent_id, owner=carol)
    assert raised.value.errors[0].field == "project_id"
    with pytest.raises(ValidationFailed):
        await gw.grant(agent_id, owner=carol, workspace="other", project=None)


async def test_an_access_request_holds_the_project_id_it_names(gw: MemoryGateway) -> None:
    _, token = await gw.agent_with_token(scopes=["project:read"])
    other = gw.demo.other_project
    args = {"workspace_slug": "other", "scopes": ["issue:read"], "justification": "j"}
    by_identifier = await gw.call(token, "request_access", {**args, "project_id": "oth"})
    assert by_identifier.body["request"]["project_id"] == other.id
    async with gw.uow() as uow:
        stored = await uow.access_requests.get(by_identifier.body["request"]["id"])
    assert stored is not None
    assert stored.project_ref == other.id
    listed = (await gw.owner(ListAccessRequests(None, None, None))).body["items"]
    assert [r["project_id"] for r in listed] == [other.id]
    with pytest.raises(ValidationFailed) as raised:
        await gw.call(token, "request_access", {**args, "project_id": "NOPE"})
    assert raised.value.errors[0].field == "project_id"
    # What the agent already holds is judged on the resolved project too.
    with pytest.raises(ValidationFailed) as held:
        await gw.call(
            token,
            "request_access",
            {
                "workspace_slug": "demo",
                "project_id": "DEMO",
                "scopes": ["project:read"],
                "justification": "j",
            },
        )
    assert held.value.errors[0].field == "scopes"


async def test_an_access_request_looks_up_projects_only_where_the_owner_reaches(
    gw: MemoryGateway,
) -> None:
    """The gateway's Tasker user sees every workspace; an agent whose owner is not in
    `other` learns nothing of its projects: a real one and a made-up one get one answer."""
    carol = gw.demo.carol.id  # in `demo`, not in `other`
    agent_id = await gw.create_agent(owner=carol)
    await gw.grant(agent_id, owner=carol, project=None, scopes=["project:read"])
    token = await gw.token(agent_id, owner=carol)
    args = {"workspace_slug": "other", "scopes": ["issue:read"], "justification": "j"}
    answers = []
    for project in ("oth", "NOPE"):
        with pytest.raises(ValidationFailed) as raised:
            await gw.call(token, "request_access", {**args, "project_id": project})
        answers.append([(e.field, e.message) for e in raised.value.errors])
    assert answers[0] == answers[1]
    assert answers[0][0][0] == "workspace_slug"


async def test_lifecycle_suspends_and_deletes_an_owners_agents(gw: MemoryGateway) -> None:
    first, token = await gw.agent_with_token()
    second = await gw.create_agent()
    suspended = await gw.owner(OwnerLifecycle(gw.management, {"status": "suspended"}))
    assert sorted(suspended.body["agents_changed"]) == sorted([first, second])
    with pytest.raises((AgentInactive, OwnerNotEntitled)):
        await gw.call(token, "whoami")
    deleted = await gw.owner(OwnerLifecycle(gw.management, {"status": "deleted"}))
    assert deleted.body["tokens_revoked"] == 1
    for agent_id in (first, second):
        assert (await gw.owner(GetAgent(agent_id))).body["status"] == "revoked"
        assert (await gw.audit(agent_id))[-1].draft.event_type == "owner.deleted"


async def test_a_pairing_code_redeems_once_in_any_spelling(gw: MemoryGateway) -> None:
    agent_id = await gw.create_agent()
    await gw.grant(agent_id)
    code = (await gw.owner(CreatePairingCode(gw.management, agent_id))).body["code"]
    assert len(code) == 9
    assert code[4] == "-"
    typed = code.replace("-", "").lower()
    redeemed = await gw.pipeline.run_public(
        "10.0.0.1", RedeemPairingCode(gw.management, {"code": typed, "token_name": "laptop"})
    )
    assert redeemed.body["agent_id"] == agent_id
    await gw.call(SecretStr(redeemed.body["token"]), "whoami")
    with pytest.raises(NotFound):
        await gw.pipeline.run_public("10.0.0.1", RedeemPairingCode(gw.management, {"code": code}))
    expiring = (await gw.owner(CreatePairingCode(gw.management, agent_id))).body["code"]
    gw.clock.advance(minutes=10)
    with pytest.raises(NotFound):
        await gw.pipeline.run_public(
            "10.0.0.2", RedeemPairingCode(gw.management, {"code": expiring})
        )
    events = [e.draft.event_type for e in await gw.audit(agent_id)]
    assert "pairing_code.redeemed" in events


async def test_a_replayed_token_issue_never_stores_the_token(gw: MemoryGateway) -> None:
    agent_id = await gw.create_agent()
    action = IssueToken(gw.management, agent_id, {"name": "ci"})
    first = await gw.owner(action, key="issue-1")
    replay = await gw.owner(IssueToken(gw.management, agent_id, {"name": "ci"}), key="issue-1")
    assert first.body["token"].startswith("ndca_")
    assert replay.replayed
    assert replay.body["token"] is None
    assert replay.body["token_withheld"] is True
    assert replay.body["id"] == first.body["id"]
    for record in gw.uow.state.idempotency.values():
        assert first.body["token"] not in repr(record)


async def test_the_redeem_route_has_a_per_client_budget() -> None:
    gw = await build_memory_gateway(
        limits=RateLimits(redeem_per_client=RatePolicy("redeem", 3, 60, 3))
    )
    for _ in range(3):
        with pytest.raises(NotFound):
            await gw.pipeline.run_public(
                "10.9.9.9", RedeemPairingCode(gw.management, {"code": "BBBB-BBBB"})
            )
    with pytest.raises(RateLimited):
        await gw.pipeline.run_public(
            "10.9.9.9", RedeemPairingCode(gw.management, {"code": "BBBB-BBBB"})
        )
    with pytest.raises(NotFound):  # another client still has its own budget
        await gw.pipeline.run_public(
            "10.9.9.8", RedeemPairingCode(gw.management, {"code": "BBBB-BBBB"})
        )
    gw.clock.advance(timedelta(seconds=20))
    with pytest.raises(NotFound):
        await gw.pipeline.run_public(
            "10.9.9.9", RedeemPairingCode(gw.management, {"code": "BBBB-BBBB"})
        )


class _Recorder:
    """A recorder writing on the event loop (as on PostgreSQL) whose one step never
    applies, so the pipeline records in its unit of work; `fails`: the database is gone."""

    def __init__(self, *, concurrent: bool = True, fails: bool = False) -> None:
        self.concurrent = concurrent
        self._fails = fails

    async def record(self, draft: Any, completed: Any, token_use: Any) -> bool:
        if self._fails:
            raise ConnectionError("the database went away")
        return False


async def _recording(recorder: _Recorder) -> MemoryGateway:
    return await build_gateway(MemoryUnitOfWorkFactory(), MemoryRateLimitStore(), recorder=recorder)


async def _deferred(gw: MemoryGateway, token: SecretStr, arguments: dict[str, Any]) -> Any:
    action = build_tool(gw.tools, "create_issue", arguments)
    admitted = await gw.pipeline.admit(token, action, action.operation)
    return await gw.pipeline.run_agent_admitted(admitted, action, deferred=True)


async def test_a_deferred_call_answers_first_and_its_record_follows() -> None:
    gw = await _recording(_Recorder())
    agent_id, token = await gw.agent_with_token()
    before = len(await gw.audit(agent_id))
    arguments = {**DEMO, "name": "Later", "idempotency_key": "d"}
    outcome = await _deferred(gw, token, arguments)
    assert outcome.body["issue"]["name"] == "Later"
    assert outcome.closing is not None
    assert not outcome.closing.done()  # the body is made before the record is written
    await outcome.closing
    events = await gw.audit(agent_id)
    assert len(events) == before + 1
    assert (events[-1].draft.operation, events[-1].draft.decision) == (
        "create_issue",
        AuditDecision.ALLOW,
    )
    replay = await gw.call(token, "create_issue", arguments)
    assert replay.replayed  # the stored response was written with the event


async def test_a_deferred_record_that_fails_frees_the_key_for_a_retry() -> None:
    gw = await _recording(_Recorder(fails=True))
    _, token = await gw.agent_with_token()
    arguments = {**DEMO, "name": "Lost", "idempotency_key": "f"}
    outcome = await _deferred(gw, token, arguments)
    assert outcome.closing is not None
    with pytest.raises(ConnectionError):
        await outcome.closing
    # Not held in flight: the retry runs (and fails to record the same way).
    with pytest.raises(ConnectionError):
        await gw.call(token, "create_issue", arguments)


async def test_a_record_written_by_a_thread_of_its_own_is_never_deferred() -> None:
    """SQLite's: it would contend with the answer being made for the interpreter."""
    gw = await _recording(_Recorder(concurrent=False))
    agent_id, token = await gw.agent_with_token()
    outcome = await _deferred(gw, token, {**DEMO, "name": "Now"})
    assert outcome.closing is None
    assert (await gw.audit(agent_id))[-1].draft.operation == "create_issue"


async def test_without_deferral_the_record_is_written_before_the_call_returns(
    gw: MemoryGateway,
) -> None:
    agent_id, token = await gw.agent_with_token()
    outcome = await gw.call(token, "create_issue", {**DEMO, "name": "Now"})
    assert outcome.closing is None
    assert (await gw.audit(agent_id))[-1].draft.operation == "create_issue"
