"""Admitting an agent call over SQL: the caller read, the budget spent and the key claimed.

On PostgreSQL all three are one statement in autocommit, so one round trip and one
transaction before the call acts:

    WITH found   AS (the token under the first matching hash, with its agent),
         spent   AS (INSERT INTO rate_limits … SELECT the agent's key FROM found
                     WHERE the token is usable ON CONFLICT DO UPDATE (GCRA) RETURNING …),
         claimed AS (INSERT INTO idempotency_keys … SELECT FROM found JOIN spent
                     ON spent.admitted ON CONFLICT DO NOTHING RETURNING scope)
    SELECT found, spent, claimed, the agent's active grants (one row each) …

PostgreSQL runs a data-modifying CTE exactly once, whether or not it is read, and
`spent` reads the bucket's row as locked by its own upsert, exactly as the rate-limit
store's statement does (`gcra_upsert` builds both), so concurrent admissions of one agent
queue on that row. The statement commits without waiting for the WAL flush, as the
rate-limit check and the claim did on their own: whatever the call then commits (its
audit event) is flushed with a synchronous commit, which flushes these with it.

Nothing is cached: a token, agent or grant revoked on any replica is refused on the very
next call everywhere. On SQLite the same steps are statements of one write transaction,
run on the driver in one hop (`_SqliteSteps`).

When the sandbox Tasker lives in the same database (`workspace_policies`), the policy of
the workspace the call names is read in the same statement (a scalar subquery on
`sandbox_workspaces`), so the call does not ask the sandbox for it in a round trip of its
own: read on every call all the same, so switching agents off still bites at once.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import String, and_, bindparam, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.callers import (
    caller_from,
    caller_rows,
    grant_columns,
    token_and_agent_columns,
)
from nodedc_gateway.adapters.persistence.sql.direct import (
    DirectStatement,
    Transaction,
    write_transaction,
)
from nodedc_gateway.adapters.persistence.sql.engine import insert, is_sqlite
from nodedc_gateway.adapters.persistence.sql.mapping import idempotency_values
from nodedc_gateway.adapters.persistence.sql.repositories import (
    bound_values,
    insert_new,
    parameters,
)
from nodedc_gateway.adapters.persistence.sql.types import UtcDateTime
from nodedc_gateway.adapters.ratelimit.sql import (
    gcra_decision,
    gcra_parameters,
    gcra_upsert,
)
from nodedc_gateway.adapters.tasker.sandbox_rows import agents_allowed_in
from nodedc_gateway.domain.canonical import to_microseconds
from nodedc_gateway.domain.grants import GrantStatus
from nodedc_gateway.domain.ratelimit import RatePolicy, agent_budget_key
from nodedc_gateway.domain.tasker import WorkspacePolicy
from nodedc_gateway.domain.tokens import TokenStatus
from nodedc_gateway.ports.callers import Admission, ClaimRequest

if TYPE_CHECKING:
    from nodedc_gateway.ports.callers import CallerAdmission

#: The one statement, with and without a claim, with and without the workspace's policy
#: (built and compiled on first use).
_statements: dict[tuple[bool, bool], DirectStatement] = {}


def _admission(engine: AsyncEngine, claiming: bool, policy: bool) -> DirectStatement:
    statement = _statements.get((claiming, policy))
    if statement is None:
        built = _build(engine, claiming, policy)
        statement = _statements[claiming, policy] = DirectStatement(built, engine.dialect)
    return statement


def _build(engine: AsyncEngine, claiming: bool, policy: bool) -> Any:
    from sqlalchemy.dialects.postgresql import ARRAY

    tokens, agents, grants = t.agent_tokens, t.agents, t.grants
    hashes = bindparam("hashes", type_=ARRAY(String()))
    found = (
        select(*token_and_agent_columns())
        .select_from(tokens.join(agents, agents.c.id == tokens.c.agent_id))
        .where(tokens.c.token_hash == func.any(hashes))
        .order_by(func.array_position(hashes, tokens.c.token_hash))  # earlier hashes win
        .limit(1)
        .cte("found")
    )
    agent_id = found.c.a_id
    # `AgentToken.is_usable`: active and not yet expired.
    usable = and_(
        found.c.t_status == str(TokenStatus.ACTIVE),
        found.c.t_expires_at > bindparam("now", type_=UtcDateTime()),
    )
    # `agent_budget_key` and `agent_scope`, built in SQL.
    budget_key = literal("agent:") + agent_id + literal(":") + bindparam("policy", type_=String())
    spent = gcra_upsert(engine, budget_key, found, usable).cte("spent")
    joined = found.outerjoin(spent, true())
    columns = [*found.c, spent.c.tat_us.label("s_tat_us"), spent.c.admitted.label("s_admitted")]
    if claiming:
        table = t.idempotency_keys
        names = [column.name for column in table.c]
        values = {**bound_values(table, names), "scope": literal("agent:") + agent_id}
        claimed = (
            insert(engine, table)
            .from_select(
                names,
                select(*(values[name] for name in names)).select_from(
                    found.join(spent, spent.c.admitted)
                ),
            )
            .on_conflict_do_nothing()
            .returning(table.c.scope)
            .cte("claimed")
        )
        joined = joined.outerjoin(claimed, true())
        columns.append(claimed.c.scope.label("c_scope"))
    if policy:
        workspace = bindparam("workspace", type_=String())
        columns.append(agents_allowed_in(workspace).label("w_allowed"))
    active = and_(grants.c.agent_id == agent_id, grants.c.status == str(GrantStatus.ACTIVE))
    return (
        select(*columns, *grant_columns(grants))
        .select_from(joined.outerjoin(grants, active))
        .order_by(grants.c.id)
    )


class SqlCallerAdmission:
    def __init__(self, engine: AsyncEngine, *, workspace_policies: bool = False) -> None:
        """`workspace_policies`: the sandbox Tasker's tables are in this database (it is
        the configured Tasker), so the admission can read a workspace's policy too."""
        self._engine = engine
        self._policies = workspace_policies

    async def admit(
        self,
        token_hashes: Sequence[str],
        now: datetime,
        budget: RatePolicy,
        claim: ClaimRequest | None,
        workspace: str | None = None,
    ) -> Admission | None:
        if not token_hashes:
            return None
        if not self._policies:
            workspace = None
        if is_sqlite(self._engine):
            steps = _sqlite_steps(self._engine)
            work = functools.partial(steps.admit, token_hashes, now, budget, claim, workspace)
            return await write_transaction(self._engine, work)
        now_us = to_microseconds(now)
        arguments: dict[str, Any] = {
            "hashes": list(token_hashes),
            "now": now,
            "policy": budget.name,
            **gcra_parameters(budget, now_us),
        }
        if claim is not None:
            # The scope is the agent's, built in SQL; the record's other values are bound.
            values = idempotency_values(claim.record("", now))
            del values["scope"]
            arguments |= parameters(values)
        if workspace is not None:
            arguments["workspace"] = workspace
        statement = _admission(self._engine, claim is not None, workspace is not None)
        rows = await statement.run(self._engine, arguments)
        if not rows:
            return None
        first = rows[0]
        caller = caller_from(rows)
        if first.s_admitted is None:  # not usable: nothing was spent
            return Admission(caller, None, None)
        key = agent_budget_key(caller.agent.id, budget)
        decision = gcra_decision(key, budget, now_us, first.s_tat_us, bool(first.s_admitted))
        claimed = None
        if claim is not None and first.c_scope is not None:
            claimed = claim.record(caller.agent.id, now)
        policy = None if workspace is None else _policy(workspace, first.w_allowed)
        return Admission(caller, decision, claimed, policy)


def _policy(workspace: str, allowed: bool | None) -> WorkspacePolicy | None:
    """The policy read beside the admission; None for a workspace that does not exist (the
    sandbox's own read then answers for it, with its own error)."""
    return None if allowed is None else WorkspacePolicy(workspace, bool(allowed))


@attrs.frozen
class _SqliteSteps:
    """SQLite: the same steps as the one statement, as statements of one write
    transaction (SQLite has no data-modifying CTEs), run in one hop to the engine's lane
    (`direct.write_transaction`)."""

    find: DirectStatement  # the caller's rows, for one hash
    spend: DirectStatement  # `gcra_upsert`
    claim: DirectStatement  # the key, unless it is taken
    policy: DirectStatement  # the workspace's policy

    def admit(
        self,
        token_hashes: Sequence[str],
        now: datetime,
        budget: RatePolicy,
        claim: ClaimRequest | None,
        workspace: str | None,
        transaction: Transaction,
    ) -> Admission | None:
        for token_hash in token_hashes:  # the first candidate (current pepper) wins
            rows = transaction.run(self.find, {"hash": token_hash})
            if rows:
                break
        else:
            return None
        caller = caller_from(rows)
        if not caller.token.is_usable(now):
            return Admission(caller, None, None)
        key = agent_budget_key(caller.agent.id, budget)
        now_us = to_microseconds(now)
        (spent,) = transaction.run(self.spend, {"key": key, **gcra_parameters(budget, now_us)})
        decision = gcra_decision(key, budget, now_us, spent.tat_us, bool(spent.admitted))
        claimed = None
        if decision.allowed and claim is not None:
            record = claim.record(caller.agent.id, now)
            if transaction.run(self.claim, parameters(idempotency_values(record))):
                claimed = record
        policy = None
        if workspace is not None:
            (row,) = transaction.run(self.policy, {"workspace": workspace})
            policy = _policy(workspace, row.allowed)
        return Admission(caller, decision, claimed, policy)


_sqlite: list[_SqliteSteps] = []  # built and compiled on first use


def _sqlite_steps(engine: AsyncEngine) -> _SqliteSteps:
    if not _sqlite:
        keys = t.idempotency_keys
        claim = insert_new(engine, keys, [column.name for column in keys.c])
        workspace = bindparam("workspace", type_=String())
        statements = (
            caller_rows(t.agent_tokens.c.token_hash == bindparam("hash", type_=String())),
            gcra_upsert(engine),
            claim,
            select(agents_allowed_in(workspace).label("allowed")),
        )
        _sqlite.append(_SqliteSteps(*(DirectStatement(s, engine.dialect) for s in statements)))
    return _sqlite[0]


if TYPE_CHECKING:  # mypy proves the adapter fits the port

    def _fits_port(admission: SqlCallerAdmission) -> CallerAdmission:
        return admission
