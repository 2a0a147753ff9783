"""GCRA state in the gateway database, shared by every replica.

Each check is one atomic statement, `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING`,
computing exactly `domain.ratelimit.gcra` in integer microseconds: the new state comes
from the row as it is when the statement locks it, so concurrent checks on one key (on
any replica) queue on that row and each sees the one before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    String,
    bindparam,
    case,
    delete,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nodedc_gateway.adapters.persistence.sql.engine import (
    autocommit,
    insert,
    is_sqlite,
    relaxed_commit,
    transaction,
)
from nodedc_gateway.adapters.persistence.sql.tables import rate_limits
from nodedc_gateway.domain.canonical import to_microseconds
from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy, gcra

if TYPE_CHECKING:
    from nodedc_gateway.ports.ratelimit import RateLimitStore

_steps: dict[str, Any] = {}  # the statement, compiled once per database kind

_NOW = bindparam("now_us", type_=BigInteger())
_INTERVAL = bindparam("interval_us", type_=BigInteger())
_WINDOW = bindparam("window_us", type_=BigInteger())


def _gcra_step(connection: AsyncConnection) -> Any:
    step = _steps.get(connection.dialect.name)
    if step is None:
        step = _steps[connection.dialect.name] = gcra_upsert(connection)
    return step


def gcra_upsert(
    connection: AsyncEngine | AsyncConnection,
    key: ColumnElement[str] | None = None,
    source: FromClause | None = None,
    where: ColumnElement[bool] | None = None,
) -> Any:
    """The one statement of a check:

        gcra: tat = max(stored, now); admit when now >= tat + interval - window;
              store tat + interval when admitted, tat (unchanged) when refused.

    A key never seen is inserted at now + interval (gcra(None) always admits: burst is at
    least 1). Otherwise the SET clause reads the row as locked by this statement, and
    `admitted` records which branch it took, for RETURNING. The key is the bound `key`,
    or (PostgreSQL) an expression over `source`, whose rows matching `where` are checked
    (the admission's statement: no row, nothing spent). Parameters: `gcra_parameters`."""
    stored = rate_limits.c.tat_us
    tat = case((stored > _NOW, stored), else_=_NOW)
    admit = tat + _INTERVAL - _WINDOW <= _NOW
    fresh = insert(connection, rate_limits)
    if is_sqlite(connection):
        fresh = fresh.values(key=bindparam("key"), tat_us=_NOW + _INTERVAL, admitted=True)
    else:
        # The statement is its own transaction (autocommit); this makes its commit
        # asynchronous, sparing it the WAL flush. Rate-limit state is not worth one: a
        # crash can at worst forget the last fraction of a second of spent budget.
        relaxed = relaxed_commit()
        first = key if key is not None else bindparam("key", type_=String())
        rows = select(first, _NOW + _INTERVAL, true()).select_from(
            relaxed if source is None else relaxed.join(source, true())
        )
        if where is not None:
            rows = rows.where(where)
        fresh = fresh.from_select(["key", "tat_us", "admitted"], rows)
    return fresh.on_conflict_do_update(
        index_elements=[rate_limits.c.key],
        set_={"tat_us": case((admit, tat + _INTERVAL), else_=tat), "admitted": admit},
    ).returning(rate_limits.c.tat_us, rate_limits.c.admitted)


def gcra_parameters(policy: RatePolicy, now_us: int) -> dict[str, Any]:
    return {"now_us": now_us, "interval_us": policy.emission_us, "window_us": policy.window_us}


def gcra_decision(
    key: str, policy: RatePolicy, now_us: int, tat_us: int, admitted: bool
) -> RateDecision:
    """The full decision (retry-after, remaining, reset), rebuilt with the domain's own
    arithmetic from the state before the check, after making sure both agree."""
    before = tat_us - policy.emission_us if admitted else tat_us
    decision = gcra(before, now_us, policy)
    if decision.allowed is not admitted or decision.tat_us != tat_us:
        raise RuntimeError(f"rate limit state of {key!r} disagrees with GCRA")
    return decision


async def check_on(
    connection: AsyncConnection, key: str, policy: RatePolicy, now: datetime
) -> RateDecision:
    """One check on a connection the caller holds (in whatever transaction it is in)."""
    now_us = to_microseconds(now)
    parameters = {"key": key, **gcra_parameters(policy, now_us)}
    row = (await connection.execute(_gcra_step(connection), parameters)).one()
    return gcra_decision(key, policy, now_us, row.tat_us, bool(row.admitted))


class SqlRateLimitStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def check(self, key: str, policy: RatePolicy, now: datetime) -> RateDecision:
        # On PostgreSQL the statement is its own transaction (no BEGIN/COMMIT round trips).
        async with autocommit(self._engine) as connection:
            return await check_on(connection, key, policy, now)

    async def purge(self, now: datetime) -> int:
        """Forget keys whose bucket is full again (a TAT not after `now` decides exactly
        like no state at all); returns how many."""
        async with transaction(self._engine) as connection:
            result = await connection.execute(
                delete(rate_limits).where(rate_limits.c.tat_us <= to_microseconds(now))
            )
            return int(result.rowcount)


if TYPE_CHECKING:  # mypy proves the adapter fits the port

    def _fits_port(store: SqlRateLimitStore) -> RateLimitStore:
        return store
