"""Part 2: `create_issue` through the whole gateway against the bare MCP server.

Both run as their own process on 127.0.0.1, each on its own PostgreSQL database, and are
driven by the same official `mcp` client from this process. Latency is measured one call
at a time; throughput with several clients at once (one agent each on the gateway).
The two servers take turns, round after round, so a change in the machine's load hits
both alike. The database round trips of a governed call are counted separately, on the
same code served in this process, from libpq's protocol trace.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import attrs

from bench import load, postgres, servers, setup
from bench.bare_server import build_server
from bench.round_trips import RoundTripReport, RoundTripTracer
from bench.stats import median, percentile
from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.persistence.sql import create_engine
from nodedc_gateway.adapters.tasker.sandbox import SqlSandboxTasker
from nodedc_gateway.entrypoints.bootstrap import build_container, resolve
from nodedc_gateway.entrypoints.http import create_app
from nodedc_gateway.entrypoints.logs import configure_logging


@attrs.frozen
class Sizes:
    rounds: int  # latency rounds, servers taking turns
    calls_per_round: int
    clients: int  # concurrent clients for throughput
    bursts: int  # throughput rounds, servers taking turns
    seconds_per_round: float
    counted_calls: int  # calls whose round trips are counted


@attrs.frozen
class Latency:
    p50_s: float
    p99_s: float
    calls: int

    @classmethod
    def of(cls, samples: list[float]) -> Latency:
        return cls(median(samples), percentile(samples, 0.99), len(samples))


@attrs.frozen
class ServerResult:
    latency: Latency
    calls_per_s: float
    cpu_per_call_s: float  # the server process's CPU time per call, during throughput


@attrs.frozen
class Throughput:
    calls_per_s: float
    cpu_per_call_s: float


@attrs.frozen
class GovernedCallResult:
    bare: ServerResult
    gateway: ServerResult
    clients: int
    round_trips_keyed: RoundTripReport
    round_trips_unkeyed: RoundTripReport
    round_trips_bare: RoundTripReport


async def measure_latency(targets: dict[str, load.Target], sizes: Sizes) -> dict[str, Latency]:
    """Sequential calls on one warm session per server, the servers taking turns in
    blocks of `calls_per_round` (order alternating), so drifts in load hit both."""
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
    taking turns (order alternating), and the server's own CPU time per call meanwhile
    (what bounds throughput, and what the machine's load disturbs least)."""
    calls = dict.fromkeys(targets, 0)
    seconds = dict.fromkeys(targets, 0.0)
    cpu = dict.fromkeys(targets, 0.0)
    names = list(targets)
    async with contextlib.AsyncExitStack() as stack:
        opened = {
            name: await stack.enter_async_context(load.sessions(targets[name], warmup=3))
            for name in names
        }
        for round_ in range(sizes.bursts):
            for name in names if round_ % 2 == 0 else reversed(names):
                before = served[name].cpu_seconds()
                done, elapsed = await load.burst(opened[name], sizes.seconds_per_round)
                cpu[name] += served[name].cpu_seconds() - before
                calls[name] += done
                seconds[name] += elapsed
    return {
        name: Throughput(calls[name] / seconds[name], cpu[name] / max(calls[name], 1))
        for name in names
    }


def quiet_logs(container: Any) -> None:
    """The in-process gateway logs like the served one, into nothing."""
    configure_logging(container.core.redactor(), stream=io.StringIO())


@contextlib.asynccontextmanager
async def traced_gateway(database_url: str) -> AsyncIterator[tuple[str, RoundTripTracer]]:
    container = build_container(setup.gateway_settings(database_url))
    quiet_logs(container)
    app = create_app(container)
    async with servers.in_process(app) as url:
        engine = (await resolve(container.persistence.uow)).engine
        tracer = RoundTripTracer(engine)
        await engine.dispose()  # every connection from here on is traced
        try:
            yield url, tracer
        finally:
            tracer.close()


@contextlib.asynccontextmanager
async def traced_bare(database_url: str) -> AsyncIterator[tuple[str, RoundTripTracer]]:
    engine = create_engine(database_url)
    tracer = RoundTripTracer(engine)
    tasker = SqlSandboxTasker(engine, UUIDv7Generator(), SystemClock())
    app = build_server(tasker).streamable_http_app(
        streamable_http_path="/mcp", stateless_http=True, json_response=True
    )
    try:
        async with servers.in_process(app) as url:
            yield url, tracer
    finally:
        tracer.close()
        await engine.dispose()


async def count_round_trips(
    target: load.Target, tracer: RoundTripTracer, calls: int
) -> RoundTripReport:
    await load.sequential(target, calls, warmup=10, on_warm=tracer.start)
    return tracer.report(calls)


async def run(sizes: Sizes) -> GovernedCallResult:
    async with (
        postgres.scratch_database("gateway") as gateway_db,
        postgres.scratch_database("bare") as bare_db,
    ):
        agents = await setup.seed_gateway(gateway_db, sizes.clients)
        workspace, bare_project = await setup.seed_bare(bare_db)

        def governed(url: str, token: str, *, keyed: bool = True) -> load.Target:
            return load.Target(url, token, agents.workspace_slug, agents.project_id, keyed)

        async with traced_gateway(gateway_db) as (url, tracer):
            keyed = await count_round_trips(
                governed(url, agents.tokens[0]), tracer, sizes.counted_calls
            )
            unkeyed = await count_round_trips(
                governed(url, agents.tokens[0], keyed=False), tracer, sizes.counted_calls
            )
        async with traced_bare(bare_db) as (url, tracer):
            bare_trips = await count_round_trips(
                load.Target(url, None, workspace, bare_project), tracer, sizes.counted_calls
            )

        with servers.gateway(gateway_db) as gateway, servers.bare(bare_db) as bare_server:
            bare = load.Target(bare_server.url, None, workspace, bare_project)
            latency = await measure_latency(
                {"bare": bare, "gateway": governed(gateway.url, agents.tokens[0])}, sizes
            )
            rates = await measure_throughput(
                {
                    "bare": [bare] * sizes.clients,
                    "gateway": [governed(gateway.url, token) for token in agents.tokens],
                },
                {"bare": bare_server, "gateway": gateway},
                sizes,
            )
    return GovernedCallResult(
        bare=ServerResult(latency["bare"], rates["bare"].calls_per_s, rates["bare"].cpu_per_call_s),
        gateway=ServerResult(
            latency["gateway"], rates["gateway"].calls_per_s, rates["gateway"].cpu_per_call_s
        ),
        clients=sizes.clients,
        round_trips_keyed=keyed,
        round_trips_unkeyed=unkeyed,
        round_trips_bare=bare_trips,
    )
