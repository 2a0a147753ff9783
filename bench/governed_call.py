"""Part 2: `create_issue` and `get_issue` through the whole gateway against the bare MCP
server, and the write against the one-INSERT server (`bench.bare_server --one-insert`).

Each runs as its own process on 127.0.0.1, each on its own database, and is driven by
the same official `mcp` client from this process. Latency is measured one call at a
time, for the write and for the read, on PostgreSQL and then again with every server on
its own SQLite file; throughput (PostgreSQL) with several clients at once, all of them
one agent on the gateway (one token, a session each). The servers take turns, round
after round, so a change in the machine's load hits all. What a call costs the database
is counted separately (PostgreSQL), on the same code served in this process: round trips
from libpq's protocol trace, transactions from PostgreSQL's own counters.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs

from bench import load, postgres, servers, setup
from bench.bare_server import build_server
from bench.round_trips import SANDBOX_STEP, RoundTripReport, RoundTripTracer
from bench.stats import median, percentile
from bench.transactions import TransactionCounter
from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.persistence.sql.migrate import upgrade
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.entrypoints.bootstrap import build_container, resolve
from nodedc_gateway.entrypoints.http.app import create_app
from nodedc_gateway.entrypoints.logs import configure_logging


@attrs.frozen
class Sizes:
    rounds: int  # latency rounds, servers taking turns
    calls_per_round: int
    clients: int  # concurrent clients for throughput (one agent on the gateway)
    bursts: int  # throughput rounds, servers taking turns
    seconds_per_round: float
    counted_calls: int  # calls whose round trips and transactions are counted


@attrs.frozen
class Latency:
    p50_s: float
    p99_s: float
    calls: int

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        return cls(median(samples), percentile(samples, 0.99), len(samples))

    @property
    def tail(self) -> float:
        """p99 / p50."""
        return self.p99_s / self.p50_s if self.p50_s else 0.0


@attrs.frozen
class Latencies:
    """One call in flight, on one kind of database: each server's write, and the reads."""

    gateway: Latency  # governed create_issue
    gateway_read: Latency  # governed get_issue
    bare: Latency  # the bare server's sandbox write
    bare_read: Latency  # the bare server's sandbox read
    one_insert: Latency  # the one-INSERT server's create_issue

    @classmethod
    def of(cls, found: dict[str, Latency]) -> Latencies:
        """From `measure_latency` over the targets of `latency_targets`."""
        return cls(
            found["gateway"],
            found["gateway read"],
            found["bare"],
            found["bare read"],
            found["one insert"],
        )


#: The databases latency is measured on, in the report's order.
DATABASES = ("PostgreSQL", "SQLite")


@attrs.frozen
class ServerResult:
    latency: Latency  # create_issue, one call in flight
    read_latency: Latency  # get_issue, one call in flight
    calls_per_s: float  # create_issue, every client at once
    loaded_latency: Latency  # create_issue, every client at once
    cpu_per_call_s: float  # the server process's CPU time per call, during throughput


@attrs.frozen
class Throughput:
    calls_per_s: float
    cpu_per_call_s: float
    latency: Latency


@attrs.frozen
class DatabaseWork:
    """What one kind of call costs the database, per call."""

    trips: RoundTripReport  # from libpq's trace
    transactions: float  # from pg_stat_database: (T(2N) - T(N)) / N, least of two each
    windows: tuple[int, ...]  # transactions counted in windows of N, 2N, N, 2N calls
    connections: int  # connections the pool opened in each window
    calls: int  # N

    @property
    def tasker_transactions(self) -> float:
        """The sandbox Tasker's own (its statements touch only `sandbox_*` tables), from
        the trace: PostgreSQL's counters cannot tell whose a transaction was."""
        return sum(s.transactions for s in self.trips.steps if s.label == SANDBOX_STEP)

    @property
    def own_transactions(self) -> float:
        """The server's own: PostgreSQL's count less the sandbox Tasker's."""
        return self.transactions - self.tasker_transactions


#: The kinds of call whose database work is counted, in the report's order.
WORK = {
    "keyed": "governed `create_issue`, with an idempotency key",
    "unkeyed": "governed `create_issue`, without one",
    "read": "governed `get_issue`",
    "bare": "bare `create_issue`",
    "bare_read": "bare `get_issue`",
}


@attrs.frozen
class GovernedCallResult:
    bare: ServerResult
    gateway: ServerResult
    clients: int
    work: dict[str, DatabaseWork]  # by the keys of WORK
    latencies: dict[str, Latencies]  # by the names of DATABASES

    @property
    def round_trips_keyed(self) -> RoundTripReport:
        return self.work["keyed"].trips

    @property
    def round_trips_unkeyed(self) -> RoundTripReport:
        return self.work["unkeyed"].trips

    @property
    def round_trips_bare(self) -> RoundTripReport:
        return self.work["bare"].trips


async def measure_latency(targets: dict[str, load.Target], sizes: Sizes) -> dict[str, Latency]:
    """Sequential calls on one warm session per target, the targets taking turns in
    blocks of `calls_per_round` (order alternating), so drifts in load hit all alike."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    names = list(targets)
    async with load.sessions([targets[name] for name in names]) as opened:
        session = dict(zip(names, opened, strict=True))
        for round_ in range(sizes.rounds):
            for name in names if round_ % 2 == 0 else reversed(names):
                samples[name] += await load.timed(session[name], sizes.calls_per_round)
    return {name: Latency.of(found) for name, found in samples.items()}


async def measure_throughput(
    targets: dict[str, list[load.Target]], served: dict[str, servers.Served], sizes: Sizes
) -> dict[str, Throughput]:
    """Calls per second with every client of a server calling at once, the servers
    taking turns (order alternating); the latency of those calls; and the server's own
    CPU time per call meanwhile (what bounds throughput, and what the machine's load
    disturbs least)."""
    calls = dict.fromkeys(targets, 0)
    seconds = dict.fromkeys(targets, 0.0)
    cpu = dict.fromkeys(targets, 0.0)
    samples: dict[str, list[float]] = {name: [] for name in targets}
    names = list(targets)
    async with contextlib.AsyncExitStack() as stack:
        opened = {
            name: await stack.enter_async_context(load.sessions(targets[name], warmup=3))
            for name in names
        }
        for round_ in range(sizes.bursts):
            for name in names if round_ % 2 == 0 else reversed(names):
                before = served[name].cpu_seconds()
                burst = await load.burst(opened[name], sizes.seconds_per_round)
                cpu[name] += served[name].cpu_seconds() - before
                calls[name] += burst.calls
                seconds[name] += burst.seconds
                samples[name] += burst.samples
    return {
        name: Throughput(
            calls[name] / seconds[name],
            cpu[name] / max(calls[name], 1),
            Latency.of(samples[name]),
        )
        for name in names
    }


def latency_targets(
    gateway: str, bare: str, one_insert: str, agents: setup.Agents, sandbox: setup.Sandbox
) -> dict[str, load.Target]:
    """The five (server, tool) pairs timed one call at a time, by the servers' URLs; the
    one-INSERT server is given the bare server's project (it writes its id in its row)."""
    governed = load.Target(gateway, agents.tokens[0], agents.workspace_slug, agents.project_id)
    bare_write = load.Target(bare, None, sandbox.workspace_slug, sandbox.project_id)
    return {
        "bare": bare_write,
        "gateway": governed,
        "one insert": attrs.evolve(bare_write, url=one_insert),
        "bare read": bare_write.reading(sandbox.issue_id),
        "gateway read": governed.reading(agents.issue_id),
    }


async def sqlite_latency(sizes: Sizes) -> Latencies:
    """The same latency rounds with every server on its own SQLite file (made and
    migrated here, the sandbox's and the gateway's schema alike; the one-INSERT server
    creates its table itself), seeded as on PostgreSQL."""
    with tempfile.TemporaryDirectory(prefix="nodedc_bench_sqlite_") as directory:
        url = {
            name: f"sqlite+aiosqlite:///{Path(directory) / f'{name}.db'}"
            for name in ("gateway", "bare", "insert")
        }
        await upgrade(url["gateway"])
        await upgrade(url["bare"])
        agents = await setup.seed_gateway(url["gateway"], 1)
        sandbox = await setup.seed_bare(url["bare"])
        with (
            servers.gateway(url["gateway"]) as gateway,
            servers.bare(url["bare"]) as bare,
            servers.bare(url["insert"], one_insert=True) as one_insert,
        ):
            targets = latency_targets(gateway.url, bare.url, one_insert.url, agents, sandbox)
            return Latencies.of(await measure_latency(targets, sizes))


def quiet_logs(container: Any) -> None:
    """The in-process gateway logs like the served one, into nothing."""
    configure_logging(container.core.redactor(), stream=io.StringIO())


@attrs.frozen
class Counted:
    """A server served in this process, with what counts its database work."""

    url: str
    tracer: RoundTripTracer
    counter: TransactionCounter


@contextlib.asynccontextmanager
async def traced_gateway(database_url: str) -> AsyncIterator[Counted]:
    container = build_container(setup.gateway_settings(database_url))
    quiet_logs(container)
    app = create_app(container)
    async with servers.in_process(app) as url:
        engine = (await resolve(container.persistence.uow)).engine
        tracer = RoundTripTracer(engine)
        counter = TransactionCounter(engine, database_url)
        await engine.dispose()  # every connection from here on is traced
        try:
            yield Counted(url, tracer, counter)
        finally:
            tracer.close()


@contextlib.asynccontextmanager
async def traced_bare(database_url: str) -> AsyncIterator[Counted]:
    engine = create_engine(database_url)
    tracer = RoundTripTracer(engine)
    counter = TransactionCounter(engine, database_url)
    tasker = SqlSandboxTasker(engine, UUIDv7Generator(), SystemClock())
    app = build_server(tasker).streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True
    )
    try:
        async with servers.in_process(app) as url:
            yield Counted(url, tracer, counter)
    finally:
        tracer.close()
        await engine.dispose()


async def count_work(target: load.Target, counted: Counted, calls: int) -> DatabaseWork:
    """On one session, after a warm-up: `calls` calls whose round trips are traced (the
    pool warm, as in service), then windows of `calls`, twice `calls`, `calls` and
    twice `calls` calls counted by `pg_stat_database`, each starting from an empty pool
    (see bench.transactions): the extra calls of a long window cost what one call costs.
    Each size is counted twice and the smaller kept: anything else that ran in the
    database can only have added."""
    sizes = (calls, 2 * calls, calls, 2 * calls)
    async with load.sessions([target], warmup=10) as (session,):
        counted.tracer.start()
        await load.timed(session, calls)
        trips = counted.tracer.report(calls)
        windows = []
        for size in sizes:
            async with counted.counter.window() as window:
                await load.timed(session, size)
            windows.append(window)
    opened = {w.connections for w in windows}
    if len(opened) != 1:
        raise RuntimeError(f"the windows opened different numbers of connections: {opened}")
    short = min(w.transactions for w, size in zip(windows, sizes, strict=True) if size == calls)
    long = min(w.transactions for w, size in zip(windows, sizes, strict=True) if size != calls)
    return DatabaseWork(
        trips,
        (long - short) / calls,
        tuple(w.transactions for w in windows),
        opened.pop(),
        calls,
    )


async def run(sizes: Sizes) -> GovernedCallResult:
    async with (
        postgres.scratch_database("gateway") as gateway_db,
        postgres.scratch_database("bare") as bare_db,
        postgres.scratch_database("insert", migrated=False) as insert_db,
    ):
        agents = await setup.seed_gateway(gateway_db, 1)
        sandbox = await setup.seed_bare(bare_db)
        token = agents.tokens[0]

        def governed(url: str, *, keyed: bool = True) -> load.Target:
            return load.Target(url, token, agents.workspace_slug, agents.project_id, keyed)

        def bare_target(url: str) -> load.Target:
            return load.Target(url, None, sandbox.workspace_slug, sandbox.project_id)

        work: dict[str, DatabaseWork] = {}
        calls = sizes.counted_calls
        async with traced_gateway(gateway_db) as counted:
            work["keyed"] = await count_work(governed(counted.url), counted, calls)
            unkeyed = governed(counted.url, keyed=False)
            work["unkeyed"] = await count_work(unkeyed, counted, calls)
            read = governed(counted.url).reading(agents.issue_id)
            work["read"] = await count_work(read, counted, calls)
        async with traced_bare(bare_db) as counted:
            work["bare"] = await count_work(bare_target(counted.url), counted, calls)
            bare_read = bare_target(counted.url).reading(sandbox.issue_id)
            work["bare_read"] = await count_work(bare_read, counted, calls)

        with (
            servers.gateway(gateway_db) as gateway,
            servers.bare(bare_db) as bare_server,
            servers.bare(insert_db, one_insert=True) as insert_server,
        ):
            bare = bare_target(bare_server.url)
            gateway_target = governed(gateway.url)
            targets = latency_targets(
                gateway.url, bare_server.url, insert_server.url, agents, sandbox
            )
            latency = await measure_latency(targets, sizes)
            rates = await measure_throughput(
                {"bare": [bare] * sizes.clients, "gateway": [gateway_target] * sizes.clients},
                {"bare": bare_server, "gateway": gateway},
                sizes,
            )

    on_sqlite = await sqlite_latency(sizes)

    def result(name: str) -> ServerResult:
        rate = rates[name]
        return ServerResult(
            latency[name],
            latency[f"{name} read"],
            rate.calls_per_s,
            rate.latency,
            rate.cpu_per_call_s,
        )

    return GovernedCallResult(
        bare=result("bare"),
        gateway=result("gateway"),
        clients=sizes.clients,
        work=work,
        latencies={"PostgreSQL": Latencies.of(latency), "SQLite": on_sqlite},
    )
