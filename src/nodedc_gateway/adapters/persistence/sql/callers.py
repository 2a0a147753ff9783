"""The caller lookup over SQL: token, agent and active grants in one statement.

On PostgreSQL the statement runs in autocommit: one round trip, no BEGIN or ROLLBACK, and
a single snapshot covers all three tables (a READ COMMITTED transaction would have given
each of three statements its own snapshot anyway). Nothing is cached between calls, so a
token or agent revoked on any replica is refused on the very next call everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, FromClause, Select, and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nodedc_gateway.adapters.persistence.sql import mapping as m
from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.engine import autocommit
from nodedc_gateway.domain.grants import GrantStatus
from nodedc_gateway.ports.callers import CallerRecord

if TYPE_CHECKING:
    from nodedc_gateway.ports.callers import CallerLookup

_TOKEN, _AGENT, _GRANT = "t_", "a_", "g_"
_tokens, _agents, _grants = t.agent_tokens, t.agents, t.grants


def caller_rows(token: ColumnElement[bool]) -> Select[Any]:
    """The token that `token` picks with its agent and the agent's active grants: one row
    per grant (one row with no grant when it has none), under `caller_from`'s names."""
    return (
        select(*token_and_agent_columns(), *grant_columns(_grants))
        .select_from(
            _tokens.join(_agents, _agents.c.id == _tokens.c.agent_id).outerjoin(
                _grants,
                and_(
                    _grants.c.agent_id == _agents.c.id,
                    _grants.c.status == str(GrantStatus.ACTIVE),
                ),
            )
        )
        .where(token)
        .order_by(_grants.c.id)
    )


class _Columns:
    """One table's columns of a joined row, under their own names (for `mapping`)."""

    __slots__ = ("_prefix", "_row")

    def __init__(self, row: Any, prefix: str) -> None:
        self._row = row
        self._prefix = prefix

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, self._prefix + name)


def _part(row: Any, prefix: str) -> m.AnyRow:
    return cast("m.AnyRow", _Columns(row, prefix))


class SqlCallerLookup:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def find(self, token_hashes: Sequence[str]) -> CallerRecord | None:
        if not token_hashes:
            return None
        async with autocommit(self._engine) as connection:
            return await find_on(connection, token_hashes)


async def find_on(connection: AsyncConnection, token_hashes: Sequence[str]) -> CallerRecord | None:
    """The lookup on a connection the caller holds."""
    rows = (await connection.execute(_FIND, {"hashes": list(token_hashes)})).all()
    by_hash: dict[str, list[Any]] = {}
    for row in rows:
        by_hash.setdefault(row.t_token_hash, []).append(row)
    for token_hash in token_hashes:  # the first candidate (current pepper) wins
        found = by_hash.get(token_hash)
        if found:
            return caller_from(found)
    return None


def caller_from(rows: Sequence[Any]) -> CallerRecord:
    """One token's joined rows (one per active grant, or one with no grant), their
    columns prefixed as `caller_columns` names them."""
    return CallerRecord(
        token=m.token_from_row(_part(rows[0], _TOKEN)),
        agent=m.agent_from_row(_part(rows[0], _AGENT)),
        grants=tuple(m.grant_from_row(_part(row, _GRANT)) for row in rows if row.g_id),
    )


def grant_columns(grants: FromClause) -> list[Any]:
    """The grant columns of a caller's rows, under `caller_from`'s names."""
    return [c.label(_GRANT + c.name) for c in grants.c]


def token_and_agent_columns() -> list[Any]:
    """The token and agent columns of a caller's rows, under `caller_from`'s names."""
    return [
        *(c.label(_TOKEN + c.name) for c in _tokens.c),
        *(c.label(_AGENT + c.name) for c in _agents.c),
    ]


#: The lookup of `find_on`: any of the candidate hashes.
_FIND = caller_rows(_tokens.c.token_hash.in_(bindparam("hashes", expanding=True)))


if TYPE_CHECKING:  # mypy proves the adapter fits the port

    def _fits_port(lookup: SqlCallerLookup) -> CallerLookup:
        return lookup
