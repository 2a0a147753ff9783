"""Async engines for the gateway database, and the one way to open a transaction on them.

PostgreSQL (`postgresql+psycopg://`) is the production store: replicas share it and every
rule that needs concurrency control gets it from the database (unique constraints,
`INSERT … ON CONFLICT`, row locks), at the default READ COMMITTED isolation.

A pooled PostgreSQL connection is checked before it is handed out, without a round
trip: an idle connection whose socket has something to read was closed or interrupted by
the server (a restart, `pg_terminate_backend`, an idle timeout all send a FATAL message
first), so it is thrown away and a fresh one taken. That is what `pool_pre_ping` would
find out, minus the `;` round trip it costs on every transaction; a silently dropped
network path is noticed by neither before the first statement fails.

SQLite (`sqlite+aiosqlite://`) is the embedded default for one process. Each connection
runs in WAL mode with foreign keys on and a busy timeout. SQLite allows one writer at a
time, and a transaction that starts as a reader and later writes can fail with
`SQLITE_BUSY` when another writer committed meanwhile, so here every transaction is a
write transaction: it starts with `BEGIN IMMEDIATE`, which takes the write lock up front
(pysqlite's own implicit transaction handling is switched off for that). Inside one
process, transactions on one engine also queue on an asyncio lock first, so waiting is
fair and costs no polling; another process on the same file (the CLI next to a server)
waits in SQLite's busy handler for up to `SQLITE_BUSY_TIMEOUT_MS`.
"""

from __future__ import annotations

import asyncio
import select
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import sqlalchemy
from sqlalchemy import Subquery, Table, event, func
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from psycopg import pq
    from sqlalchemy.dialects import postgresql, sqlite

# psycopg itself is imported by the PostgreSQL code paths only (SQLAlchemy's dialect
# imports it when a PostgreSQL engine is made): the embedded SQLite gateway never loads it.

SQLITE_BUSY_TIMEOUT_MS = 30_000
#: Run on every SQLite connection as it opens (the engine's, and `direct`'s own).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
)
POSTGRES_DRIVER = "postgresql+psycopg"
SQLITE_DRIVER = "sqlite+aiosqlite"

# The SQLite engines whose lock the running task (and the tasks it spawned) holds.
_held_engines: ContextVar[frozenset[Engine]] = ContextVar("nodedc_sqlite_held", default=frozenset())
# Per engine and event loop: asyncio locks belong to the loop they were first used in.
_sqlite_locks: weakref.WeakKeyDictionary[
    Engine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()
# Per engine: its AUTOCOMMIT variant (same pool), made once.
_autocommit_engines: weakref.WeakKeyDictionary[Engine, AsyncEngine] = weakref.WeakKeyDictionary()


#: A PostgreSQL engine's pool unless told otherwise: up to 15 connections, as SQLAlchemy's
#: default (5 kept, 10 more on demand), but 10 of them kept. With 5 kept, a gateway under a
#: dozen concurrent calls closed a connection every ~40 calls, only to open one again: a
#: backend started each time, its caches cold and its statements not yet prepared (the
#: bench's 16 clients: 0.02 connections opened per call; with 10 kept, 0.002).
POSTGRES_POOL: dict[str, Any] = {"pool_size": 10, "max_overflow": 5}


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for a `postgresql+psycopg://` or `sqlite+aiosqlite://` URL.

    `options` go to SQLAlchemy's `create_async_engine` (pool sizes, for instance; on
    PostgreSQL `POSTGRES_POOL` unless they say otherwise)."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver not in (POSTGRES_DRIVER, SQLITE_DRIVER):
        raise ValueError(
            f"unsupported database driver {driver!r}: use {POSTGRES_DRIVER}:// "
            f"or {SQLITE_DRIVER}://"
        )
    if driver == SQLITE_DRIVER and parsed.database in (None, "", ":memory:"):
        # Each connection would have a database of its own (`direct` keeps one apart).
        raise ValueError(
            f"{SQLITE_DRIVER}:// needs a database file ({SQLITE_DRIVER}:///path/to/file.db); "
            "an in-memory SQLite database is private to one connection"
        )
    if driver == POSTGRES_DRIVER and "poolclass" not in options:
        options = {**POSTGRES_POOL, **options}
    engine = create_async_engine(url, **options)
    if driver == SQLITE_DRIVER:
        _configure_sqlite(engine.sync_engine)
    elif not options.get("pool_pre_ping"):
        event.listen(engine.sync_engine, "checkout", _refuse_closed_connection)
    return engine


def _refuse_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Pool checkout: make the pool replace a connection the server has given up on."""
    if not is_idle_and_open(dbapi_connection.driver_connection.pgconn):
        raise DisconnectionError("the pooled connection was closed by the server")


def is_idle_and_open(pgconn: pq.abc.PGconn) -> bool:
    """Whether a libpq connection between transactions is still usable, by looking at it
    locally: open, idle, and with nothing unsolicited waiting on its socket."""
    from psycopg import pq  # loaded with the engine's dialect: a dictionary lookup

    if pgconn.status != pq.ConnStatus.OK:
        return False
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
    return not poller.poll(0)  # readable: a FATAL notice and EOF, most likely


def is_sqlite(engine: AsyncEngine | AsyncConnection) -> bool:
    return engine.dialect.name == "sqlite"


def _configure_sqlite(engine: Engine) -> None:
    _sqlite_locks[engine] = weakref.WeakKeyDictionary()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_lock(engine: AsyncEngine) -> asyncio.Lock | None:
    per_loop = _sqlite_locks.get(engine.sync_engine)
    if per_loop is None:
        return None
    loop = asyncio.get_running_loop()
    lock = per_loop.get(loop)
    if lock is None:
        lock = per_loop[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def serialized(engine: AsyncEngine) -> AsyncIterator[None]:
    """Queue behind this process's other transactions on an SQLite engine (no-op on
    PostgreSQL, where the database arbitrates).

    Opening a second transaction on the same SQLite engine from inside one would wait for
    itself forever, so it is refused at once instead."""
    lock = _sqlite_lock(engine)
    if lock is None:
        yield
        return
    held = _held_engines.get()
    if engine.sync_engine in held:
        raise RuntimeError(
            "a transaction on this SQLite engine is already open in this task; "
            "finish it before opening another (nesting would deadlock)"
        )
    async with lock:
        token = _held_engines.set(held | {engine.sync_engine})
        try:
            yield
        finally:
            _held_engines.reset(token)


@asynccontextmanager
async def autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Where a statement that stands alone runs: on PostgreSQL in autocommit, so it is its
    own transaction and costs no BEGIN/COMMIT round trips; on SQLite in the engine's
    serialized write transaction."""
    if is_sqlite(engine):
        async with transaction(engine) as connection:
            yield connection
        return
    options = _autocommit_engines.get(engine.sync_engine)
    if options is None:
        options = engine.execution_options(isolation_level="AUTOCOMMIT")
        _autocommit_engines[engine.sync_engine] = options
    async with options.connect() as connection:
        yield connection


@asynccontextmanager
async def transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that commits when the block ends normally and rolls
    back when it raises."""
    async with serialized(engine), engine.begin() as connection:
        yield connection


def insert(
    connection: AsyncEngine | AsyncConnection, table: Table
) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can take `ON CONFLICT …` on this engine's or connection's database
    (each dialect imported by the first insert on it: a gateway on SQLite never loads
    PostgreSQL's)."""
    if is_sqlite(connection):
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table)
    from sqlalchemy.dialects import postgresql

    return postgresql.insert(table)


def relaxed_commit() -> Subquery:
    """PostgreSQL: a one-row subquery whose reading makes the transaction it runs in
    commit without waiting for the WAL flush (`set_config(…, true)` lasts as long as that
    transaction). Joined `ON true` into a statement's FROM (a volatile function: never
    flattened away), it costs no round trip of its own.

    Only for a write that something later flushes anyway: any synchronous commit in the
    same cluster flushes all WAL before its own commit record, this write's included. A
    crash before then loses the write, and only a write whose outcome no client learnt."""
    return sqlalchemy.select(func.set_config("synchronous_commit", "off", True)).subquery()
