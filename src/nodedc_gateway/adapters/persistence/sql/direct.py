"""The statements every agent call runs, on the driver rather than through SQLAlchemy.

The admission and the closing record run on every governed call. Through SQLAlchemy's
connection and execution layers each statement costs about twice its own driver work:
the cache-key walk of the statement, the execution context, parameter and result
processing row by row, the `AsyncConnection` and its greenlet hops; on SQLite, each
statement is also two or three hops to aiosqlite's thread and back. Here such a
statement is built with SQLAlchemy as before, compiled once for the engine's dialect
(`DirectStatement`), and run on the driver: the same SQL, the same parameter and result
conversions (each column's own type processors), without the layers in between.

- PostgreSQL (`DirectStatement.run`, `direct`): one statement, in autocommit, on the
  psycopg connection of a pooled connection. Between statements up to `KEEP` such
  connections stay checked out, idle in autocommit, for the next direct statement: taking
  one from the pool and giving it back are two hops through SQLAlchemy's greenlet bridge,
  each about half a direct statement's own cost. A kept connection passes the same check
  as at the pool's checkout before it is used again, and all of them go back when the
  engine's pool is disposed. A pool too small to spare one keeps none.
- SQLite (`write_transaction`): a whole write transaction (`BEGIN IMMEDIATE` … `COMMIT`)
  runs as one function in one hop to a thread of its own, on a connection of its own to
  the engine's database file, configured as the engine's are. It queues behind the
  engine's other transactions in this process (`serialized`), as any transaction there.

SQLAlchemy's execution events do not see these statements; whoever wants to observe them
(the tests that count transactions, or kill a backend mid-statement) listens with
`listen(engine, observer)`, which is told the SQL and the driver's connection before each
statement runs, on SQLite `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK` included (from the
transaction's own thread).
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.util.concurrency import greenlet_spawn

from nodedc_gateway.adapters.persistence.sql.engine import (
    SQLITE_PRAGMAS,
    is_idle_and_open,
    serialized,
)

if TYPE_CHECKING:
    from psycopg import AsyncConnection

#: Told the SQL about to run and the driver's connection it runs on (`listen`): psycopg's
#: `AsyncConnection`, or a `sqlite3.Connection` (in the transaction's own thread).
Observer = Callable[[str, Any], None]
_observers: weakref.WeakKeyDictionary[Engine, list[Observer]] = weakref.WeakKeyDictionary()


def listen(engine: AsyncEngine, observer: Observer) -> None:
    """Have `observer` told of every direct statement on `engine`, before it runs."""
    _observers.setdefault(engine.sync_engine, []).append(observer)


def unlisten(engine: AsyncEngine, observer: Observer) -> None:
    _observers.get(engine.sync_engine, []).remove(observer)


class DirectStatement:
    """A SQLAlchemy Core statement (a SELECT, or an INSERT or UPDATE with or without
    RETURNING) compiled once for a dialect (named parameters for psycopg, positional for
    sqlite3), with what turns given values into the driver's parameters and the driver's
    rows into rows of named columns, each by its column's own type."""

    def __init__(self, statement: Select[Any] | UpdateBase, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if dialect.paramstyle not in ("pyformat", "qmark"):
            raise ValueError(f"a direct statement takes pyformat or qmark: {dialect.paramstyle}")
        self.sql = compiled.string
        #: The parameters' names in the order of their places (positional styles only).
        self._order: list[str] | None = compiled.positiontup
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
        columns = list(statement.exported_columns)  # a SELECT's columns, or RETURNING's
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

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any] | list[Any]:
        """The driver's parameters for `values` (every required one given, no other):
        by name, or in the order of their places."""
        given = values.keys()
        if given != self._required:
            missing, unknown = self._required - given, given - self._required
            raise ValueError(f"parameters missing {sorted(missing)}, unknown {sorted(unknown)}")
        bound = {**self._defaults, **values}
        for name, processor in self._processors:
            bound[name] = processor(bound[name])
        if self._order is not None:
            return [bound[name] for name in self._order]
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


#: Connections kept out of an engine's pool between direct statements, at most.
KEEP = 2


class _Kept:
    """One engine's connections kept between direct statements (idle, in autocommit)."""

    def __init__(self, engine: Engine) -> None:
        pool: Any = engine.pool
        size = pool.size() if hasattr(pool, "size") else 0
        overflow = getattr(pool, "_max_overflow", 0)
        # Never the pool's last connection: a transaction must always be able to get one.
        spare = KEEP if overflow < 0 else size + overflow - 1
        self.limit = max(0, min(KEEP, spare))
        self.idle: list[PoolProxiedConnection] = []
        #: Counts the disposals: a connection taken before one is not kept after it.
        self.generation = 0

    def close(self, *_: Any) -> None:
        """Close the kept connections (the pool is being disposed: in SQLAlchemy's
        greenlet, where closing them can wait)."""
        self.generation += 1
        idle, self.idle = self.idle, []
        for pooled in idle:
            pooled.invalidate()


_kept: weakref.WeakKeyDictionary[Engine, _Kept] = weakref.WeakKeyDictionary()


def _kept_of(engine: AsyncEngine) -> _Kept:
    sync = engine.sync_engine
    return _of_engine(_kept, sync, lambda: _Kept(sync))


class _EngineState(Protocol):
    def close(self, *_: Any) -> None: ...


S = TypeVar("S", bound=_EngineState)


def _of_engine(
    states: weakref.WeakKeyDictionary[Engine, S],
    engine: Engine,
    make: Callable[[], S],
    *,
    on_collection: bool = False,
) -> S:
    """`engine`'s state in `states`, made on first use and closed with the engine's pool
    (a later use makes a new one); with `on_collection`, also when the engine is
    collected undisposed (only a state whose closing never waits)."""
    state = states.get(engine)
    if state is None:
        state = states[engine] = make()
        event.listen(engine, "engine_disposed", state.close)
        if on_collection:
            weakref.finalize(engine, state.close)
    return state


async def _take(engine: AsyncEngine, kept: _Kept) -> PoolProxiedConnection:
    """A kept connection that is still usable, else one from the pool, in autocommit."""
    while kept.idle:
        pooled = kept.idle.pop()
        if is_idle_and_open(_driver(pooled).pgconn):  # as at the pool's checkout
            return pooled
        await greenlet_spawn(pooled.invalidate)  # the server gave up on it meanwhile
    pooled = await engine.raw_connection()
    await _driver(pooled).set_autocommit(True)  # a flag: no round trip when idle
    return pooled


@asynccontextmanager
async def direct(engine: AsyncEngine) -> AsyncIterator[AsyncConnection[Any]]:
    """The psycopg connection of one of `engine`'s pooled connections (or of one kept
    since an earlier direct statement), in autocommit while the block runs: a statement
    is its own transaction, with no BEGIN or COMMIT round trip. A connection that broke
    in the block, or that a cancellation left mid-statement, is thrown away rather than
    used again; one that is fine is kept for the next block, or given back to the pool
    out of autocommit."""
    kept = _kept_of(engine)
    generation = kept.generation
    pooled = await _take(engine, kept)
    connection = _driver(pooled)
    reusable = True
    try:
        yield connection
    except BaseException:
        # Broken, or left mid-statement (a cancelled call): its state is unknown.
        reusable = _idle(connection)
        raise
    finally:
        if not reusable:
            await greenlet_spawn(pooled.invalidate)  # closed, and its slot given back
        elif len(kept.idle) < kept.limit and kept.generation == generation:
            kept.idle.append(pooled)
        else:
            await connection.set_autocommit(False)
            # Back to the pool (its reset is a ROLLBACK that psycopg skips when idle).
            await greenlet_spawn(pooled.close)


def _driver(pooled: PoolProxiedConnection) -> AsyncConnection[Any]:
    connection: AsyncConnection[Any] = pooled.driver_connection  # type: ignore[assignment]
    return connection


def _idle(connection: AsyncConnection[Any]) -> bool:
    from psycopg import pq  # loaded with the engine's dialect

    if connection.closed or connection.broken:
        return False
    return connection.info.transaction_status == pq.TransactionStatus.IDLE


# --- SQLite: a write transaction in one hop ----------------------------------------------

T = TypeVar("T")


class Transaction:
    """The open write transaction a `write_transaction` function runs its statements in
    (in the transaction's own thread: the function must not await anything)."""

    def __init__(self, connection: sqlite3.Connection, observers: Sequence[Observer]) -> None:
        self._connection = connection
        self._observers = observers

    def run(self, statement: DirectStatement, values: Mapping[str, Any]) -> list[Any]:
        """Run one statement in the transaction: its rows (none for a statement without
        RETURNING)."""
        parameters = statement.parameters(values)
        self._tell(statement.sql)
        cursor = self._connection.execute(statement.sql, parameters)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        return statement.rows(fetched)

    def send(self, sql: str) -> None:
        """A statement without parameters or rows (`BEGIN IMMEDIATE`, `COMMIT` …)."""
        self._tell(sql)
        self._connection.execute(sql).close()

    def _tell(self, sql: str) -> None:
        for observer in self._observers:
            observer(sql, self._connection)


class _Lane:
    """One engine's SQLite connection of its own, and the one thread that uses it."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._closed = False
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nodedc-sqlite")

    def transaction(self, work: Callable[[Transaction], T], observers: Sequence[Observer]) -> T:
        """In the lane's thread: `work` in one write transaction, committed when it
        returns, rolled back when it raises."""
        connection = self._connection
        if connection is None:
            connection = self._connection = _connect(self._path)
        transaction = Transaction(connection, observers)
        transaction.send("BEGIN IMMEDIATE")  # the write lock up front, as the engine's
        try:
            result = work(transaction)
            transaction.send("COMMIT")
        except BaseException:
            if connection.in_transaction:
                transaction.send("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        """Close the connection once the work queued before is done; then the thread ends
        (at most once: the engine's disposal and its collection may both ask)."""
        if self._closed:
            return
        self._closed = True
        self.executor.submit(self._close)
        self.executor.shutdown(wait=False)

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _connect(path: str) -> sqlite3.Connection:
    # Autocommit at the driver: `BEGIN IMMEDIATE` and `COMMIT` are sent as statements.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(pragma).close()
    return connection


class _Slot:
    """Where one engine's lane is: opened on first use, closed with the engine's pool
    (`dispose`: a later transaction opens a new one) or when the engine is collected."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._lane: _Lane | None = None

    def lane(self) -> _Lane:
        if self._lane is None:
            self._lane = _Lane(self._path)
        return self._lane

    def close(self, *_: Any) -> None:
        lane, self._lane = self._lane, None
        if lane is not None:
            lane.close()


_slots: weakref.WeakKeyDictionary[Engine, _Slot] = weakref.WeakKeyDictionary()


def _lane(engine: AsyncEngine) -> _Lane:
    sync = engine.sync_engine
    path = sync.url.database
    if not path or path == ":memory:":
        raise ValueError("a direct SQLite transaction needs the engine's database file")
    return _of_engine(_slots, sync, lambda: _Slot(path), on_collection=True).lane()


async def write_transaction(engine: AsyncEngine, work: Callable[[Transaction], T]) -> T:
    """Run `work` in one SQLite write transaction, in one hop to the engine's lane: what
    it returns once committed; what it raises once rolled back. The transaction queues
    behind the engine's others in this process as any does (`serialized`); one that a
    cancelled call leaves running still ends (committed or rolled back) before the next
    begins."""
    observers = tuple(_observers.get(engine.sync_engine, ()))
    async with serialized(engine):
        lane = _lane(engine)  # in turn: the engine may have been disposed meanwhile
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(lane.executor, lane.transaction, work, observers)
        try:
            return await asyncio.shield(running)
        except asyncio.CancelledError:
            await asyncio.wait([running])  # hold the engine's turn until it has ended
            if not running.cancelled():
                running.exception()  # retrieved: the cancellation is what propagates
            raise
