"""The one use-case pipeline every operation runs through:

    authenticate → rate limit → idempotency → authorize → act → audit → commit

Agent calls (MCP) authenticate with an agent token and are authorized by grant evaluation;
owner calls (the internal API, already authenticated by the internal token) are authorized
by ownership inside their transaction. Both share rate limiting, idempotency, audit and
the commit, written here once.

Transactions are kept short and few: for an agent's call, authentication, the rate limit
and the idempotency claim are one step (`admit`; one statement on PostgreSQL) that commits
on its own (so a concurrent retry sees the claim); Tasker is called outside any
transaction; and the audit event, the gateway state an operation writes and the stored
idempotent response commit together. Two transactions of the gateway's own per call.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from nodedc_gateway.application.audit_drafts import agent_draft, owner_draft
from nodedc_gateway.application.budgets import rate_limited, spend
from nodedc_gateway.application.callers import RepositoryCallerLookup, SequentialAdmission
from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.application.idempotent_calls import claim_and_run, release, store_or_release
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditDecision, AuditDraft
from nodedc_gateway.domain.entitlement import Entitlement
from nodedc_gateway.domain.errors import (
    ErrorCode,
    GatewayError,
    Unauthenticated,
    ValidationFailed,
    restore_error,
)
from nodedc_gateway.domain.evaluation import Decision, GrantIndex, evaluate_grants
from nodedc_gateway.domain.grants import Grant, GrantRef, Target
from nodedc_gateway.domain.idempotency import (
    IdempotencyRecord,
    StoredResponse,
    agent_scope,
    external_id,
    owner_scope,
    request_fingerprint,
)
from nodedc_gateway.domain.operations import Kind, Operation
from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy, agent_budget_key
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import Actor, WorkspacePolicy
from nodedc_gateway.domain.tokens import AgentToken, is_well_formed_token
from nodedc_gateway.ports.audit import CallRecorder
from nodedc_gateway.ports.callers import (
    CallerAdmission,
    CallerLookup,
    CallerRecord,
    ClaimRequest,
)
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.ids import IdGenerator
from nodedc_gateway.ports.presenter import ResultPresenter
from nodedc_gateway.ports.ratelimit import RateLimitStore
from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")

#: The "owner" of an unauthenticated call; its audit notes name the real owner.
PUBLIC_CALLER = "public"


@attrs.frozen
class RateLimits:
    """Budgets (CONTRACT §8); replaced from configuration."""

    reads: RatePolicy = RatePolicy("reads", 600, 60, 60)
    writes: RatePolicy = RatePolicy("writes", 120, 60, 20)
    redeem_per_client: RatePolicy = RatePolicy("redeem", 10, 60, 10)
    redeem_global: RatePolicy = RatePolicy("redeem-global", 600, 60, 100)

    def for_kind(self, kind: Kind) -> RatePolicy:
        return self.writes if kind is Kind.WRITE else self.reads


@attrs.frozen
class Outcome:
    """A use case's JSON body, and whether it is an idempotent replay. `closing`: the
    call's closing record, still being written (`run_agent_admitted(deferred=True)`)."""

    body: Mapping[str, Any]
    replayed: bool = False
    closing: asyncio.Future[None] | None = None


@attrs.frozen
class AgentCaller:
    """An agent whose token checked out; whether it may act is still to be decided."""

    agent: Agent
    token: AgentToken
    grants: tuple[Grant, ...]
    index: GrantIndex
    entitlement: Entitlement

    @property
    def actor(self) -> Actor:
        return Actor(
            agent_id=self.agent.id,
            owner_user_id=self.agent.owner_user_id,
            display_name=self.agent.bot_display_name,
            email=self.agent.bot_email,
        )


@attrs.frozen
class AgentCall:
    """Everything an agent action may use while it runs."""

    caller: AgentCaller
    now: datetime
    idempotency_key: str | None
    #: The policy of the workspace the call names, when the admission read it (see
    #: `CallerAdmission`): read for this call, so as fresh as asking Tasker now.
    workspace_policy: WorkspacePolicy | None = None

    @property
    def agent(self) -> Agent:
        return self.caller.agent

    @property
    def actor(self) -> Actor:
        return self.caller.actor

    @property
    def external_id(self) -> str | None:
        """The Tasker-side dedupe id of a keyed write (None without a key)."""
        if self.idempotency_key is None:
            return None
        return external_id(agent_scope(self.agent.id), self.idempotency_key)

    def decide(
        self, operation: Operation, target: Target | None, fields: frozenset[str] = frozenset()
    ) -> Decision:
        """Evaluate grants for this caller (listings also use it to filter item by item)."""
        return evaluate_grants(
            token=self.caller.token,
            agent=self.caller.agent,
            entitlement=self.caller.entitlement,
            grants=self.caller.index,
            operation=operation,
            target=target,
            fields=fields,
            now=self.now,
        )


@attrs.frozen
class AdmittedCall:
    """An agent call authenticated, with its budget checked and (when keyed) its key
    claimed: `Pipeline.admit`'s answer, for `run_agent_admitted`."""

    caller: AgentCaller
    now: datetime
    decision: RateDecision  # the budget check of the action's kind
    claimed: IdempotencyRecord | None  # the key this call holds in flight
    workspace_policy: WorkspacePolicy | None = None  # read with the admission, if it could


@attrs.frozen
class OwnerCall:
    """An owner-scoped internal call: who owns the agents, and which person is acting."""

    owner_user_id: str
    actor_user_id: str
    now: datetime
    idempotency_key: str | None


@attrs.frozen
class Located:
    """Where an agent action acts (resolved before authorization) and which fields it
    touches (for field scopes). `found` carries what locating looked up, for `act`."""

    target: Target | None
    fields: frozenset[str] = frozenset()
    found: Any = None


@attrs.frozen
class AuditNote:
    """What an owner action tells the audit log about itself."""

    event_type: str
    agent_id: str | None
    metadata: Mapping[str, Any] = attrs.field(factory=dict)
    grant_versions: tuple[GrantRef, ...] = ()
    target: Mapping[str, Any] = attrs.field(factory=dict)
    owner_user_id: str | None = None  # when not the caller's (a public redeem)


class AgentAction(abc.ABC, Generic[R]):
    """One agent operation, as the pipeline drives it."""

    operation: ClassVar[Operation]
    idempotency_key: str | None = None

    @abc.abstractmethod
    def arguments(self) -> Mapping[str, Any]:
        """The call's arguments (without the idempotency key), for the fingerprint."""

    def check(self) -> None:
        """Refuse the call before anything is looked up (arguments its schema refuses)."""

    @abc.abstractmethod
    async def locate(self, call: AgentCall) -> Located:
        """Resolve the target; runs before authorization, so results must not leak."""

    @abc.abstractmethod
    async def act(self, call: AgentCall, located: Located) -> R:
        """Do the work (Tasker I/O); no transaction is open."""

    def authorize(self, call: AgentCall, located: Located) -> Decision:
        """Grant evaluation for the located target (listings override it per item)."""
        return call.decide(self.operation, located.target, located.fields)

    async def persist(self, uow: UnitOfWork, call: AgentCall, result: R) -> None:
        """Gateway state the operation writes, committed with its audit event."""
        return None

    def describe(self, result: R) -> Mapping[str, Any]:
        """Audit metadata of a success (ids of what was written; never content)."""
        return {}


class OwnerAction(abc.ABC, Generic[R]):
    """One internal-API operation for an owner."""

    operation: ClassVar[Operation]

    def arguments(self) -> Mapping[str, Any]:
        return {}

    async def prepare(self, call: OwnerCall) -> None:
        """Reads from Launcher or Tasker, before the transaction opens."""
        return None

    @abc.abstractmethod
    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> R:
        """The work, inside one transaction; ownership is checked here."""

    def audit(self, result: R) -> Sequence[AuditNote]:
        """Events to write with the work (reads write none)."""
        return ()

    def storable(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The body as kept for an idempotent replay: a response carrying a secret is
        stored without it (a replay then says the secret was shown once already)."""
        return body


class _Refused(Exception):
    """A decision that denied: audited as a deny, then raised as its error."""

    def __init__(self, decision: Decision, target: Target | None) -> None:
        super().__init__(decision.reason)
        self.decision = decision
        self.target = target


class Pipeline:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        ids: IdGenerator,
        hasher: SecretHasher,
        rate_limits: RateLimitStore,
        limits: RateLimits,
        entitlements: EntitlementService,
        presenter: ResultPresenter,
        callers: CallerLookup | None = None,
        admission: CallerAdmission | None = None,
        recorder: CallRecorder | None = None,
    ) -> None:
        self._uow = uow
        # How authentication reads a caller, and admission admits one: the adapter's own
        # fewer steps when there are (SQL), else through the repositories and the store.
        self._callers = callers or RepositoryCallerLookup(uow)
        self._admission = admission or SequentialAdmission(self._callers, rate_limits, uow)
        # How a call's closing record is written without a unit of work, if it can be.
        self._recorder = recorder
        self._clock = clock
        self._ids = ids
        self._hasher = hasher
        self._rate_limits = rate_limits
        self.limits = limits
        self._entitlements = entitlements
        self._presenter = presenter

    # --- agents (MCP) ----------------------------------------------------------------

    async def authenticate(
        self, token: SecretStr, operation: Operation | str | None = None
    ) -> AgentCaller:
        """The agent behind a token, or `Unauthenticated` (one answer for every failure).

        A known token that is revoked or expired is audited on its agent's chain (under
        `operation`, when given); an unknown one is not (it belongs to nobody)."""
        now = self._clock.now()
        # One read, no transaction: the token, its agent and its grants, fresh every call
        # (nothing is cached, so a revocation anywhere bites on the next call).
        found = await self._callers.find(self._candidates(token))
        if found is None:
            raise Unauthenticated()
        return await self._caller(found, now, operation)

    async def admit(
        self, token: SecretStr, action: AgentAction[Any], operation: Operation | str | None
    ) -> AdmittedCall:
        """`authenticate`, with the call's budget spent and its idempotency key claimed in
        the same step (one statement on PostgreSQL): what a call must know and take before
        it acts. A token that is not usable spends nothing. Pass the result to
        `run_agent_admitted`, or to `abandon` if the call will not run."""
        now = self._clock.now()
        policy = self.limits.for_kind(action.operation.kind)
        claim = _claim_request(action)
        workspace = _workspace_named(action)
        admission = await self._admission.admit(
            self._candidates(token), now, policy, claim, workspace
        )
        if admission is None:
            raise Unauthenticated()
        caller = await self._caller(admission.caller, now, operation)
        assert admission.budget is not None  # the token was usable: the budget was checked
        return AdmittedCall(
            caller, now, admission.budget, admission.claimed, admission.workspace_policy
        )

    async def abandon(self, admitted: AdmittedCall) -> None:
        """Free the key an admitted call claimed and will never run (its spent budget
        stays spent, as for any request refused after admission)."""
        if admitted.claimed is not None:
            await release(self._uow, admitted.claimed)

    def _candidates(self, token: SecretStr) -> Sequence[str]:
        raw = token.reveal()
        if not is_well_formed_token(raw):
            raise Unauthenticated()
        return self._hasher.candidates(raw)

    async def _caller(
        self, found: CallerRecord, now: datetime, operation: Operation | str | None
    ) -> AgentCaller:
        stored, agent = found.token, found.agent
        if not stored.is_usable(now):
            if operation is not None:
                async with self._uow() as uow:
                    await uow.audit.append(
                        [
                            agent_draft(
                                self._ids,
                                agent,
                                operation,
                                now,
                                AuditDecision.DENY,
                                ErrorCode.UNAUTHENTICATED,
                                None,
                                metadata={
                                    "token_id": stored.id,
                                    "token_status": str(stored.status_at(now)),
                                },
                            )
                        ]
                    )
                    await uow.commit()
            raise Unauthenticated()
        grants = found.grants
        entitlement = await self._entitlements.entitlement(agent.owner_user_id, now)
        return AgentCaller(agent, stored, grants, GrantIndex(agent.id, grants), entitlement)

    async def run_agent(self, token: SecretStr, action: AgentAction[Any]) -> Outcome:
        """Admit the token's call of this operation, then run it as that agent."""
        admitted = await self.admit(token, action, action.operation)
        return await self.run_agent_admitted(admitted, action)

    async def run_as(self, caller: AgentCaller, action: AgentAction[Any]) -> Outcome:
        """Run an agent's operation as a caller the transport has just authenticated for
        this very request (MCP checks the token per request); the token goes no further.
        The budget is spent and the key claimed here, each in its own step."""
        now = self._clock.now()
        policy = self.limits.for_kind(action.operation.kind)
        key = agent_budget_key(caller.agent.id, policy)
        decision = await self._rate_limits.check(key, policy, now)
        return await self.run_agent_admitted(AdmittedCall(caller, now, decision, None), action)

    async def run_agent_admitted(
        self, admitted: AdmittedCall, action: AgentAction[Any], *, deferred: bool = False
    ) -> Outcome:
        """Run an admitted call: refused if its budget was spent; run on the key it
        claimed; or, when its key already existed, that record judged (replay, reuse,
        in flight or taken over) as `claim_and_run` judges it.

        `deferred`: a successful call whose closing record the recorder writes on the
        event loop's own I/O (`CallRecorder.concurrent`; and no gateway state of the
        action's own) returns as soon as its body is made, the record (the audit event
        and the stored response) still being written, as `Outcome.closing`; its caller
        may prepare the answer meanwhile, and must not send it before `closing` is done,
        nor at all if `closing` failed (its key is then freed, as when the record fails
        undeferred)."""
        caller, operation = admitted.caller, action.operation
        call = AgentCall(caller, admitted.now, action.idempotency_key, admitted.workspace_policy)
        draft = partial(agent_draft, self._ids, caller.agent, operation, admitted.now)

        async def refused(error: GatewayError) -> None:
            await self._audit_agent(call, draft(AuditDecision.DENY, error.code, None))

        if not admitted.decision.allowed:
            error = rate_limited(admitted.decision, self.limits.for_kind(operation.kind))
            await refused(error)
            raise error
        if admitted.claimed is not None or not _is_keyed_write(action):
            return await self._agent_body(call, action, admitted.claimed, deferred)

        async def body(record: IdempotencyRecord | None) -> Outcome:
            return await self._agent_body(call, action, record, deferred)

        async def replayed(record: IdempotencyRecord) -> Outcome:
            replay = {"replayed": True}
            await self._audit_agent(call, draft(AuditDecision.ALLOW, None, None, (), replay))
            return _replay(record)

        return await claim_and_run(
            self._uow,
            agent_scope(caller.agent.id),
            action.idempotency_key,
            operation,
            action.arguments(),
            admitted.now,
            body,
            refused,
            replayed,
        )

    async def _agent_body(
        self,
        call: AgentCall,
        action: AgentAction[Any],
        record: IdempotencyRecord | None,
        deferred: bool = False,
    ) -> Outcome:
        operation = action.operation
        draft = partial(agent_draft, self._ids, call.agent, operation, call.now)
        authorized: Decision | None = None
        target: Target | None = None
        try:
            action.check()
            located = await action.locate(call)
            target = located.target
            authorized = action.authorize(call, located)
            if not authorized.allowed:
                raise _Refused(authorized, target)
            result = await action.act(call, located)
            body = self._presenter.present(result)
            allowed = draft(
                AuditDecision.ALLOW,
                None,
                target,
                authorized.grant_versions,
                action.describe(result),
            )
            completed = record.completed(StoredResponse(True, body)) if record else None
            closing = self._close(call, action, result, allowed, completed)
            if deferred and self._defers(action):
                return Outcome(body, closing=asyncio.ensure_future(self._freeing(closing, record)))
            await closing
            return Outcome(body)
        except _Refused as refused:
            decision = refused.decision
            error = decision.error()
            assert error is not None
            missing = list(decision.missing_scopes)
            denied = draft(
                AuditDecision.DENY,
                decision.reason,
                refused.target,
                decision.grant_versions,
                {"missing_scopes": missing} if missing else {},
            )
            await self._settle(record, error, denied, call)
            raise error from None
        except GatewayError as error:
            # Before authorization a failure is a refusal; after it, a failed action.
            failed_after_allow = authorized is not None and authorized.allowed
            failed = draft(
                AuditDecision.ALLOW if failed_after_allow else AuditDecision.DENY,
                None if failed_after_allow else error.code,
                target,
                authorized.grant_versions if authorized else (),
                {"outcome": "failed", "error": str(error.code)} if failed_after_allow else {},
            )
            await self._settle(record, error, failed, call)
            raise
        except BaseException:
            if record is not None:
                await release(self._uow, record)
            raise

    async def _close(
        self,
        call: AgentCall,
        action: AgentAction[Any],
        result: Any,
        allowed: AuditDraft,
        completed: IdempotencyRecord | None,
    ) -> None:
        """A successful call's closing record: in the recorder's one step when it can,
        else in a unit of work with the gateway state the action writes."""
        if not _writes_state(action) and await self._recorded(allowed, completed, call):
            return
        async with self._uow() as uow:
            await action.persist(uow, call, result)
            if completed is not None:
                await uow.idempotency.complete(completed)
            await self._note_token_use(uow, call)
            # Last: the chain's head stays locked only for its own insert and the commit.
            await uow.audit.append([allowed])
            await uow.commit()

    def _defers(self, action: AgentAction[Any]) -> bool:
        """Whether a call's closing record may be written while its answer is made: when
        it is the recorder's one step (no gateway state of the action's own), written on
        the event loop's own I/O."""
        return (
            self._recorder is not None and self._recorder.concurrent and not _writes_state(action)
        )

    async def _freeing(self, closing: Awaitable[None], record: IdempotencyRecord | None) -> None:
        """A deferred closing record; when it fails, the key it would have completed is
        freed (as `_agent_body` frees it when the record fails undeferred) and the
        failure raised."""
        try:
            await closing
        except BaseException:
            if record is not None:
                await release(self._uow, record)
            raise

    async def _settle(
        self,
        record: IdempotencyRecord | None,
        error: GatewayError,
        draft: AuditDraft,
        call: AgentCall | None = None,
    ) -> None:
        """After a failure: audit it, and store it for replay or free the key."""
        async with self._uow() as uow:
            if record is not None:
                if error.replayable:
                    await uow.idempotency.complete(
                        record.completed(StoredResponse(False, error.as_payload()))
                    )
                else:
                    await uow.idempotency.release(record)
            if call is not None:
                await self._note_token_use(uow, call)
            await uow.audit.append([draft])  # last, as above
            await uow.commit()

    async def _recorded(
        self, draft: AuditDraft, completed: IdempotencyRecord | None, call: AgentCall
    ) -> bool:
        """The call's closing record in the recorder's one step, when there is one and it
        could; False leaves everything to the unit of work."""
        if self._recorder is None:
            return False
        token = call.caller.token
        due = attrs.evolve(token).record_use(call.now)  # asked without noting it yet
        if not await self._recorder.record(draft, completed, (token.id, call.now) if due else None):
            return False
        token.record_use(call.now)
        return True

    async def _note_token_use(self, uow: UnitOfWork, call: AgentCall) -> None:
        token = call.caller.token
        if token.record_use(call.now):  # at most once a minute per token
            await uow.tokens.record_use(token.id, call.now)

    async def _audit_agent(self, call: AgentCall, draft: AuditDraft) -> None:
        """Append `draft` on its own (a refusal or replay, outside the action's unit)."""
        async with self._uow() as uow:
            await self._note_token_use(uow, call)
            await uow.audit.append([draft])  # last, as above
            await uow.commit()

    # --- owners (internal API) -------------------------------------------------------

    async def run_owner(
        self,
        owner_user_id: str,
        actor_user_id: str | None,
        action: OwnerAction[Any],
        idempotency_key: str | None = None,
    ) -> Outcome:
        now = self._clock.now()
        call = OwnerCall(owner_user_id, actor_user_id or owner_user_id, now, idempotency_key)

        async def body(record: IdempotencyRecord | None) -> Outcome:
            try:
                await action.prepare(call)
                async with self._uow() as uow:
                    result = await action.perform(uow, call)
                    body = self._presenter.present(result)
                    drafts = [
                        owner_draft(self._ids, call, action.operation, note)
                        for note in action.audit(result)
                    ]
                    if drafts:
                        await uow.audit.append(drafts)
                    if record is not None:
                        stored = StoredResponse(True, action.storable(body))
                        await uow.idempotency.complete(record.completed(stored))
                    await uow.commit()
                return Outcome(body)
            except GatewayError as error:
                if record is not None:
                    await store_or_release(self._uow, record, error)
                raise
            except BaseException:
                if record is not None:
                    await release(self._uow, record)
                raise

        async def nothing(_: GatewayError) -> None:
            return None

        async def replayed(record: IdempotencyRecord) -> Outcome:
            return _replay(record)

        if not action.operation.is_write:
            idempotency_key = None  # reads are safe to repeat; keys mean nothing to them
        return await claim_and_run(
            self._uow,
            owner_scope(owner_user_id),
            idempotency_key,
            action.operation,
            action.arguments(),
            now,
            body,
            nothing,
            replayed,
        )

    async def admit_public(self, client_key: str) -> None:
        """The budget of the unauthenticated routes (pairing redeem), per client and
        overall: one check per request, `RateLimited` once spent. HTTP checks it before it
        reads the body, so a body refused as malformed is spent like any other."""
        budgets = (
            (f"client:{client_key}", self.limits.redeem_per_client),
            ("global:redeem", self.limits.redeem_global),
        )
        await spend(self._rate_limits, budgets, self._clock.now())

    async def run_admitted(self, action: OwnerAction[Any]) -> Outcome:
        """An unauthenticated action whose request `admit_public` has let in."""
        return await self.run_owner(PUBLIC_CALLER, PUBLIC_CALLER, action)

    async def run_public(self, client_key: str, action: OwnerAction[Any]) -> Outcome:
        """`admit_public`, then the action (for a caller that has its arguments in hand)."""
        await self.admit_public(client_key)
        return await self.run_admitted(action)


def _writes_state(action: AgentAction[Any]) -> bool:
    """Whether the action writes gateway state with its audit event (`persist`): then its
    closing record needs the unit of work."""
    return type(action).persist is not AgentAction.persist


def _workspace_named(action: AgentAction[Any]) -> str | None:
    """The workspace slug the call's arguments name, as `locate` will read it; None when
    there is none or it is not a slug (`locate` then says what is wrong with it)."""
    raw = action.arguments().get("workspace_slug")
    if raw is None:
        return None
    try:
        return validation.workspace_slug(raw)
    except ValidationFailed:
        return None


def _is_keyed_write(action: AgentAction[Any]) -> bool:
    """Whether the call claims an idempotency key: keyed writes only (reads are safe to
    repeat, and keys mean nothing to them)."""
    return action.idempotency_key is not None and action.operation.is_write


def _claim_request(action: AgentAction[Any]) -> ClaimRequest | None:
    """The idempotency claim a call makes, if it makes one."""
    if action.idempotency_key is None or not _is_keyed_write(action):
        return None
    operation = action.operation
    fingerprint = request_fingerprint(operation.name, action.arguments())
    return ClaimRequest(action.idempotency_key, fingerprint, operation.name)


def _replay(record: IdempotencyRecord) -> Outcome:
    response = record.response
    assert response is not None
    if not response.ok:
        raise restore_error(response.body)
    return Outcome(response.body, replayed=True)
