"""Counting the database transactions an engine runs, on SQLite and PostgreSQL alike.

SQLAlchemy's own events: a statement on an AUTOCOMMIT connection is a transaction by
itself; any other statement belongs to its connection's open transaction, which ends at
its COMMIT or ROLLBACK. A statement run straight on the driver (`sql.direct`: the
admission and the closing record) is in autocommit on PostgreSQL, a transaction by
itself; on SQLite it belongs to the direct transaction its BEGIN opened. A transaction
is the sandbox Tasker's when its statements touch `sandbox_*` tables and none of the
gateway's own, the gateway's otherwise (the admission reads a sandbox workspace's policy
beside the caller: still the gateway's)."""

from __future__ import annotations

import re
from typing import Any

import attrs
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import direct
from nodedc_gateway.adapters.persistence.sql import tables as t

#: A sandbox Tasker table named in a statement.
SANDBOX_TABLE = re.compile(r"\bsandbox_\w+")
_GATEWAY = re.compile(
    r"\b(" + "|".join(n for n in t.metadata.tables if not SANDBOX_TABLE.match(n)) + r")\b"
)


@attrs.define
class TransactionLog:
    """Every transaction `engine` ran while listening: one list of statements each."""

    engine: AsyncEngine
    closed: list[list[str]] = attrs.field(factory=list)
    _open: dict[int, list[str]] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        sync = self.engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._statement)
        event.listen(sync, "commit", self._end)
        event.listen(sync, "rollback", self._end)
        direct.listen(self.engine, self._direct)

    def close(self) -> None:
        sync = self.engine.sync_engine
        event.remove(sync, "before_cursor_execute", self._statement)
        event.remove(sync, "commit", self._end)
        event.remove(sync, "rollback", self._end)
        direct.unlisten(self.engine, self._direct)

    def clear(self) -> None:
        self.closed.clear()

    def _statement(self, conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith("BEGIN"):
            return  # SQLite's BEGIN IMMEDIATE, sent by the engine's own begin
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            self.closed.append([sql])
        else:
            self._open.setdefault(id(conn), []).append(sql)

    def _direct(self, sql: str, connection: Any) -> None:
        key = id(connection)
        word = sql.split(None, 1)[0].upper()
        if word == "BEGIN":  # SQLite: a write transaction in one hop
            self._open[key] = []
        elif word in ("COMMIT", "ROLLBACK"):
            self.closed.append(self._open.pop(key))
        elif key in self._open:
            self._open[key].append(sql)
        else:  # PostgreSQL: one statement in autocommit
            self.closed.append([sql])

    def _end(self, conn: Any) -> None:
        statements = self._open.pop(id(conn), [])
        if statements:  # a connection returned to the pool unused ends nothing
            self.closed.append(statements)

    def gateways(self) -> list[list[str]]:
        return [tx for tx in self.closed if not _is_taskers(tx)]

    def taskers(self) -> list[list[str]]:
        return [tx for tx in self.closed if _is_taskers(tx)]


def _is_taskers(transaction: list[str]) -> bool:
    # `\b` keeps a gateway table's name from matching inside a sandbox table's.
    return any(SANDBOX_TABLE.search(s) for s in transaction) and not any(
        _GATEWAY.search(s) for s in transaction
    )
