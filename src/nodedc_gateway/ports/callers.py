"""Who is calling: an agent token, its agent and the agent's active grants, read together.

Every agent call needs all three before anything else happens, and nothing else about
them, so they are one read port of their own rather than three repository reads inside a
transaction (which would cost a BEGIN and a ROLLBACK around them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.grants import Grant
from nodedc_gateway.domain.idempotency import IdempotencyRecord, agent_scope
from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy
from nodedc_gateway.domain.tasker import WorkspacePolicy
from nodedc_gateway.domain.tokens import AgentToken


@attrs.frozen
class CallerRecord:
    """A stored token as found, whatever its status: deciding is the caller's job."""

    token: AgentToken
    agent: Agent
    grants: tuple[Grant, ...]  # the agent's active grants, in id order


class CallerLookup(Protocol):
    async def find(self, token_hashes: Sequence[str]) -> CallerRecord | None:
        """The token stored under one of these hashes (earlier hashes win), its agent
        and the agent's active grants, as one consistent read of committed state that is
        part of no transaction; None when no token has any of these hashes."""
        ...


@attrs.frozen
class ClaimRequest:
    """An idempotency key to claim `in_flight` in the calling agent's scope."""

    key: str
    fingerprint: str
    operation: str

    def record(self, agent_id: str, now: datetime) -> IdempotencyRecord:
        return IdempotencyRecord.claim(
            scope=agent_scope(agent_id),
            key=self.key,
            fingerprint=self.fingerprint,
            operation=self.operation,
            now=now,
        )


@attrs.frozen
class Admission:
    """What admitting an agent call found and did."""

    caller: CallerRecord
    #: The budget check, or None when the token is not usable at `now` (nothing spent).
    budget: RateDecision | None
    #: The record claimed for this call; None when no claim was asked, the budget refused,
    #: or the key already exists (the caller then judges the stored record itself).
    claimed: IdempotencyRecord | None
    #: The policy of the workspace asked for, read in the same step, when this store also
    #: holds Tasker's workspaces (the sandbox Tasker in the same database); None when it
    #: does not, none was asked for, or there is no such workspace (ask Tasker then).
    workspace_policy: WorkspacePolicy | None = None


class CallerAdmission(Protocol):
    async def admit(
        self,
        token_hashes: Sequence[str],
        now: datetime,
        budget: RatePolicy,
        claim: ClaimRequest | None,
        workspace: str | None = None,
    ) -> Admission | None:
        """Everything an agent call must know or take before it acts, in one step:

        - the caller, read as `CallerLookup.find` reads it (None when no token matches);
        - when its token is usable at `now`: one unit of `budget` spent under
          `agent_budget_key(agent id, budget)`, as `RateLimitStore.check` spends it;
        - when that admits and `claim` is given: `claim.record(agent id, now)` inserted
          unless its key exists, committed before this returns (a concurrent retry sees
          it), as `IdempotencyStore.claim` inserts it;
        - when `workspace` is given and this store holds Tasker's workspaces: that
          workspace's policy, as `TaskerPort.workspace_policy` reads it."""
        ...
