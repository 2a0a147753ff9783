"""The two statements every agent call runs on PostgreSQL, run straight on psycopg.

The admission and the closing record are each one wide statement (see `admission` and
`call_record`) that runs on every governed call. Through SQLAlchemy's connection and
execution layers each costs about twice its own driver work: the cache-key walk of the
statement, the execution context, parameter and result processing row by row, the
`AsyncConnection` and its greenlet hops. Here such a statement is built with SQLAlchemy
as before, compiled once for the engine's dialect (`DirectStatement`), and run on the
psycopg connection of a pooled connection (`direct`): the same SQL, the same parameter
and result conversions (each column's own type processors), the same pool and its
checkout check, without the layers in between.

SQLAlchemy's execution events do not see these statements; whoever wants to observe them
(the tests that count transactions, or kill a backend mid-statement) listens with
`listen(engine, observer)`, which is told the SQL and the psycopg connection before each.
"""

from __future__ import annotations

import collections
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Select
from sqlalchemy.util.concurrency import greenlet_spawn

if TYPE_CHECKING:
    from psycopg import AsyncConnection

#: Told the SQL about to run and the connection it runs on (`listen`).
Observer = Callable[[str, "AsyncConnection[Any]"], None]
_observers: weakref.WeakKeyDictionary[Engine, list[Observer]] = weakref.WeakKeyDictionary()


def listen(engine: AsyncEngine, observer: Observer) -> None:
    """Have `observer` told of every direct statement on `engine`, before it runs."""
    _observers.setdefault(engine.sync_engine, []).append(observer)


def unlisten(engine: AsyncEngine, observer: Observer) -> None:
    _observers.get(engine.sync_engine, []).remove(observer)


class DirectStatement:
    """A SQLAlchemy Core SELECT compiled once for a dialect (pyformat, as psycopg takes
    it), with what turns given values into the driver's parameters and the driver's rows
    into rows of named columns, each by its column's own type."""

    def __init__(self, statement: Select[Any], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.positiontup is not None or dialect.paramstyle != "pyformat":
            raise ValueError(f"a direct statement needs named parameters, not {dialect.paramstyle}")
        self.sql = compiled.string
        self._defaults: dict[str, Any] = {}
        self._required: set[str] = set()
        self._processors: list[tuple[str, Callable[[Any], Any]]] = []
        for bind, name in compiled.bind_names.items():
            if bind.expanding or bind.literal_execute:
                raise ValueError(f"parameter {name!r} is expanded at execution: not supported")
            if bind.required:
                self._required.add(name)
            else:
                self._defaults[name] = bind.effective_value
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._processors.append((name, processor))
        columns = list(statement.selected_columns)
        unnamed = [str(c) for c in columns if not c.key or not c.key.isidentifier()]
        if unnamed:
            raise ValueError(f"label every selected column of a direct statement: {unnamed}")
        row: Any = collections.namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]
        self._make: Callable[[Any], Any] = row._make
        self._results = [
            (index, processor)
            for index, column in enumerate(columns)
            if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None))
            is not None
        ]

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's parameters for `values` (every required one given, no other)."""
        given = values.keys()
        if given != self._required:
            missing, unknown = self._required - given, given - self._required
            raise ValueError(f"parameters missing {sorted(missing)}, unknown {sorted(unknown)}")
        bound = {**self._defaults, **values}
        for name, processor in self._processors:
            bound[name] = processor(bound[name])
        return bound

    def rows(self, fetched: Sequence[Sequence[Any]]) -> list[Any]:
        """The driver's rows as named tuples, each value converted by its column's type."""
        make, results = self._make, self._results
        if not results:
            return [make(row) for row in fetched]
        converted = []
        for row in fetched:
            values = list(row)
            for index, processor in results:
                values[index] = processor(values[index])
            converted.append(make(values))
        return converted

    async def run(self, engine: AsyncEngine, values: Mapping[str, Any]) -> list[Any]:
        """Run the statement in autocommit on a connection of `engine`'s pool: its rows."""
        parameters = self.parameters(values)
        async with direct(engine) as connection:
            for observer in _observers.get(engine.sync_engine, ()):
                observer(self.sql, connection)
            cursor = await connection.execute(self.sql, parameters)
            fetched = await cursor.fetchall()
        return self.rows(fetched)


@asynccontextmanager
async def direct(engine: AsyncEngine) -> AsyncIterator[AsyncConnection[Any]]:
    """The psycopg connection of one of `engine`'s pooled connections, in autocommit
    while the block runs: a statement is its own transaction, with no BEGIN or COMMIT
    round trip. The pool's checkout check applies as for any connection; a connection
    that broke in the block, or that a cancellation left mid-statement, is thrown away
    rather than pooled again."""
    pooled = await engine.raw_connection()
    connection: AsyncConnection[Any] = pooled.driver_connection  # type: ignore[assignment]
    reusable = True
    try:
        await connection.set_autocommit(True)  # a flag: no round trip when idle
        yield connection
    except BaseException:
        # Broken, or left mid-statement (a cancelled call): its state is unknown.
        reusable = _idle(connection)
        raise
    finally:
        if reusable:
            await connection.set_autocommit(False)
            # Back to the pool (its reset is a ROLLBACK that psycopg skips when idle).
            await greenlet_spawn(pooled.close)
        else:
            await greenlet_spawn(pooled.invalidate)  # closed, and its slot given back


def _idle(connection: AsyncConnection[Any]) -> bool:
    from psycopg import pq  # loaded with the engine's dialect

    if connection.closed or connection.broken:
        return False
    return connection.info.transaction_status == pq.TransactionStatus.IDLE
