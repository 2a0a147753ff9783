"""CallerAdmission contract: memory (three steps), SQLite (one transaction) and PostgreSQL
(one statement) find the same caller, spend the same budget under the same key and claim
the same record, and leave the stores exactly as the separate ports would have."""

from __future__ import annotations

from datetime import timedelta

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql.admission import SqlCallerAdmission
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.idempotency import IdempotencyRecord, RecordStatus
from nodedc_gateway.domain.ratelimit import RatePolicy, agent_budget_key
from nodedc_gateway.domain.tasker import WorkspacePolicy
from nodedc_gateway.domain.tokens import AgentToken
from nodedc_gateway.ports.callers import Admission, ClaimRequest
from tests.contracts.persistence_backends import (
    SQL_BACKENDS,
    PersistenceUnderTest,
    backend_fixture,
)
from tests.support import entities as e

backend = backend_fixture()
ONE_AT_A_TIME = RatePolicy("writes", 60, 60, 1)  # a burst of 1: the second check refuses
CLAIM = ClaimRequest("key-1", e.fake_hash("fingerprint"), "create_issue")


async def _stored(backend: PersistenceUnderTest, agent: Agent, *tokens: AgentToken) -> None:
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        for token in tokens:
            await uow.tokens.add(token)
        grant, version = e.grant(agent.id)
        await uow.grants.add(grant, version)
        await uow.commit()


async def _stored_claim(
    backend: PersistenceUnderTest, record: IdempotencyRecord
) -> IdempotencyRecord | None:
    """The record stored under `record`'s scope and key (claiming it when there is none:
    only call this where a record is expected)."""
    async with backend.uow() as uow:
        existing = await uow.idempotency.claim(record)
        await uow.rollback()
    return existing


async def test_a_usable_token_is_found_spends_and_claims(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent, token)
    found = await backend.callers.find([token.token_hash])

    admission = await backend.admission.admit([token.token_hash], e.T0, ONE_AT_A_TIME, CLAIM)

    assert admission is not None
    assert admission.caller == found
    assert admission.budget is not None
    assert admission.budget.allowed
    expected = CLAIM.record(agent.id, e.T0)
    assert admission.claimed == expected
    # The claim is the idempotency store's own record, in the agent's scope, committed.
    assert await _stored_claim(backend, expected) == expected
    # The budget was spent under the agent's key, as the rate-limit store spends it.
    key = agent_budget_key(agent.id, ONE_AT_A_TIME)
    assert not (await backend.rate_limits.check(key, ONE_AT_A_TIME, e.T0)).allowed


async def test_the_decision_is_the_stores_own(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent, token)
    policy = RatePolicy("reads", 600, 60, 3)
    key = agent_budget_key(agent.id, policy)
    first = await backend.admission.admit([token.token_hash], e.T0, policy, None)
    assert (await backend.rate_limits.check(key, policy, e.T0)).allowed
    third = await backend.admission.admit([token.token_hash], e.T0, policy, None)
    refused = await backend.admission.admit([token.token_hash], e.T0, policy, None)
    assert first is not None
    assert third is not None
    assert refused is not None
    assert first.budget is not None
    assert third.budget is not None
    assert refused.budget is not None
    assert (first.budget.allowed, first.budget.remaining) == (True, 2)
    assert (third.budget.allowed, third.budget.remaining) == (True, 0)
    assert not refused.budget.allowed
    assert refused.budget.retry_after_us == policy.emission_us
    assert (first.claimed, third.claimed, refused.claimed) == (None, None, None)


async def test_a_refused_budget_claims_nothing(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent, token)
    await backend.admission.admit([token.token_hash], e.T0, ONE_AT_A_TIME, None)

    admission = await backend.admission.admit([token.token_hash], e.T0, ONE_AT_A_TIME, CLAIM)

    assert admission is not None
    assert admission.budget is not None
    assert not admission.budget.allowed
    assert admission.claimed is None
    assert await _stored_claim(backend, CLAIM.record(agent.id, e.T0)) is None  # still free


async def test_an_existing_key_is_left_as_it_is(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent, token)
    policy = RatePolicy("writes", 600, 60, 10)
    first = await backend.admission.admit([token.token_hash], e.T0, policy, CLAIM)
    later = e.T0 + timedelta(seconds=1)
    other = ClaimRequest(CLAIM.key, e.fake_hash("other"), CLAIM.operation)

    second = await backend.admission.admit([token.token_hash], later, policy, other)

    assert first is not None
    assert second is not None
    assert second.budget is not None
    assert second.budget.allowed  # spent all the same
    assert second.claimed is None  # the caller judges the stored record
    stored = await _stored_claim(backend, other.record(agent.id, later))
    assert stored == first.claimed
    assert stored is not None
    assert stored.status is RecordStatus.IN_FLIGHT


async def test_a_token_that_is_not_usable_spends_and_claims_nothing(
    backend: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    revoked, expired = e.token(agent.id, label="r"), e.token(agent.id, days=1, label="x")
    revoked.revoke()
    await _stored(backend, agent, revoked, expired)
    after_expiry = e.T0 + timedelta(days=1)
    for token, now in ((revoked, e.T0), (expired, after_expiry)):
        admission = await backend.admission.admit([token.token_hash], now, ONE_AT_A_TIME, CLAIM)
        assert admission is not None
        assert admission.caller.token == token
        assert (admission.budget, admission.claimed) == (None, None)
        assert await _stored_claim(backend, CLAIM.record(agent.id, now)) is None
    key = agent_budget_key(agent.id, ONE_AT_A_TIME)
    assert (await backend.rate_limits.check(key, ONE_AT_A_TIME, e.T0)).allowed  # untouched


async def test_a_token_is_usable_until_its_expiry_exactly(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id, days=1)
    await _stored(backend, agent, token)
    just_before = token.expires_at - timedelta(microseconds=1)
    policy = RatePolicy("reads", 600, 60, 10)
    usable = await backend.admission.admit([token.token_hash], just_before, policy, None)
    expired = await backend.admission.admit([token.token_hash], token.expires_at, policy, None)
    assert usable is not None
    assert usable.budget is not None
    assert expired is not None
    assert expired.budget is None


async def test_unknown_hashes_admit_nobody(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    await _stored(backend, agent, e.token(agent.id))
    unknown = [e.fake_hash("unknown")]
    assert await backend.admission.admit(unknown, e.T0, ONE_AT_A_TIME, CLAIM) is None
    assert await backend.admission.admit([], e.T0, ONE_AT_A_TIME, CLAIM) is None


async def test_the_first_candidate_hash_wins(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    current, previous = e.token(agent.id), e.token(agent.id)
    previous.revoke()
    await _stored(backend, agent, current, previous)
    policy = RatePolicy("reads", 600, 60, 10)
    for hashes, expected in (
        ([current.token_hash, previous.token_hash], current),
        ([previous.token_hash, current.token_hash], previous),
    ):
        admission = await backend.admission.admit(hashes, e.T0, policy, None)
        assert admission is not None
        assert admission.caller.token == expected
        assert (admission.budget is not None) is (expected is current)


async def test_each_admission_sees_the_latest_commit(backend: PersistenceUnderTest) -> None:
    agent = e.agent()
    token = e.token(agent.id)
    await _stored(backend, agent, token)
    policy = RatePolicy("reads", 600, 60, 10)
    assert (before := await backend.admission.admit([token.token_hash], e.T0, policy, None))
    assert before.budget is not None
    async with backend.uow() as uow:
        stored = await uow.tokens.get(token.id)
        assert stored is not None
        stored.revoke()
        await uow.tokens.save(stored)
        await uow.commit()
    assert (after := await backend.admission.admit([token.token_hash], e.T0, policy, None))
    assert after.budget is None


sql_backend = backend_fixture(SQL_BACKENDS)


async def test_with_the_sandbox_in_its_database_it_reads_the_workspaces_policy(
    sql_backend: PersistenceUnderTest,
) -> None:
    """The policy read beside the admission is the sandbox's own answer, asked afresh on
    every admission (switched off, the next admission says so); None for a workspace that
    does not exist, for an unusable token, and where the sandbox is not the Tasker."""
    assert sql_backend.engine is not None
    sandbox = SqlSandboxTasker(sql_backend.engine, UUIDv7Generator(), FixedClock())
    await sandbox.ensure_workspace("open-ws", "Open")
    agent = e.agent()
    token = e.token(agent.id)
    expired = e.token(agent.id, now=e.T0 - timedelta(days=2), days=1)
    await _stored(sql_backend, agent, token, expired)
    reading = SqlCallerAdmission(sql_backend.engine, workspace_policies=True)
    policy = RatePolicy("reads", 600, 60, 100)

    async def read(workspace: str, claim: ClaimRequest | None = None) -> Admission | None:
        return await reading.admit([token.token_hash], e.T0, policy, claim, workspace)

    opened = await read("open-ws", CLAIM)
    assert opened is not None
    assert opened.workspace_policy == await sandbox.workspace_policy("open-ws")
    assert opened.workspace_policy == WorkspacePolicy("open-ws", agents_allowed=True)
    assert opened.claimed == CLAIM.record(agent.id, e.T0)  # the rest is unchanged
    await sandbox.set_workspace_policy("open-ws", agents_allowed=False)
    closed = await read("open-ws")
    assert closed is not None
    assert closed.workspace_policy == WorkspacePolicy("open-ws", agents_allowed=False)
    missing = await read("no-such-ws")
    assert missing is not None
    assert missing.budget is not None
    assert missing.workspace_policy is None
    unusable = await reading.admit([expired.token_hash], e.T0, policy, None, "open-ws")
    assert unusable is not None
    assert unusable.workspace_policy is None
    plain = await sql_backend.admission.admit([token.token_hash], e.T0, policy, None, "open-ws")
    assert plain is not None
    assert plain.workspace_policy is None
