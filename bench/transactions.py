"""Counting a server's database transactions from PostgreSQL's own counters.

`pg_stat_database` keeps, per database, `xact_commit` and `xact_rollback`: every
transaction any backend ran there, explicit or implicit (a lone statement, a pool's `;`
ping, a `ROLLBACK` with no transaction open, and the one a backend runs as it starts).
A backend adds its own counts to them only when it flushes its pending statistics: in
PostgreSQL 15 at the end of a transaction at most once a second, after 10 s idle, and
always when it exits (`pgstat_shutdown_hook`). Read while the server's connections are
open, the counters lag by whatever those backends have not flushed yet.

So a count is made exact by closing every connection the server has, before and after a
window of calls:

1. the server's engine is disposed (its pooled connections closed) and the counters are
   read once `pg_stat_activity` shows no backend left in the database: everything done
   until then is flushed;
2. the calls are made (the pool opens its connections again);
3. the engine is disposed again, the same wait, the counters read again.

Such a window also holds what a fresh pool does once: each backend's start-up (one
transaction), and psycopg preparing a statement the fifth time it runs on a connection
(a Parse of its own, one transaction when outside BEGIN). Both cancel out of the
difference of two windows that start alike: N calls and 2N calls opening the same
connections, the extra N calls cost (T(2N) - T(N)) / N each.

The counters are read from a connection to another database, so the measurement adds
nothing to the count, after `pg_stat_clear_snapshot()`, so nothing cached is read.
Anything else running in the database meanwhile would count too: the gateway's periodic
purge is off in the benchmark (`servers.gateway_environment`), and an autovacuum worker
visits a database at most once per `autovacuum_naptime` (a minute; autovacuum is off on
the benchmark's server): the caller makes each window twice, in turns, and keeps the
smaller count of each.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import attrs
import psycopg
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import postgres

SETTLE_TIMEOUT_S = 30.0


@attrs.define
class Window:
    """What one window counted: every transaction in the database, and the connections
    the pool opened meanwhile."""

    transactions: int = 0
    connections: int = 0


class TransactionCounter:
    """`pg_stat_database` transactions of the database `engine` is connected to, over
    windows that close every connection of `engine` at each end."""

    def __init__(self, engine: AsyncEngine, database_url: str) -> None:
        database = make_url(database_url).database
        assert database is not None
        self._engine = engine
        self._database = database
        self._connects = 0
        event.listen(engine.sync_engine, "connect", self._on_connect)

    def _on_connect(self, _dbapi_connection: Any, _record: Any) -> None:
        self._connects += 1

    async def settled(self) -> int:
        """Close the engine's connections, wait until no backend is left in the
        database (each flushed its statistics as it exited), and read the counters."""
        await self._engine.dispose()
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        async with await psycopg.AsyncConnection.connect(
            postgres.dsn(postgres.admin_url()), autocommit=True
        ) as conn:
            if conn.info.dbname == self._database:
                raise RuntimeError("the counters must be read from another database")
            while True:
                cursor = await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                    (self._database,),
                )
                left = await cursor.fetchone()
                if left is not None and left[0] == 0:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"backends still connected to {self._database}")
                await asyncio.sleep(0.005)
            await conn.execute("SELECT pg_stat_clear_snapshot()")
            cursor = await conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                (self._database,),
            )
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    @contextlib.asynccontextmanager
    async def window(self) -> AsyncIterator[Window]:
        """Count the transactions of what the block does to the database; the result is
        in the yielded `Window` once the block has ended."""
        counted = Window()
        before = await self.settled()
        connects = self._connects
        yield counted
        counted.connections = self._connects - connects
        counted.transactions = await self.settled() - before
