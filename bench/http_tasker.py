"""Part 5: the production shape. Governed `create_issue` through the gateway on its HTTP
Tasker backend against a direct MCP call of the same upstream work.

Three processes on 127.0.0.1: the upstream (`bench.upstream`, a small in-memory Tasker
answering the internal adapter's contract), the gateway (`nodedc-gateway serve` on
PostgreSQL, `TASKER_BACKEND=tasker` pointing at the upstream) and the bare MCP server
(`bench.bare_server --tasker`, whose `create_issue` is `HttpTasker.create_issue` on the
same upstream: the request the gateway sends to create the card, and nothing else). Both
servers write into the same upstream and are driven by the same `mcp` client from this
process, one call in flight, taking turns in blocks (order alternating). Between blocks
the upstream hands over and forgets the time it spent on each request, so each side's
requests, and what they cost the upstream, are known exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import httpx

from bench import load, postgres, servers, setup
from bench.governed_call import Latency
from bench.stats import median
from bench.upstream import TIMINGS_PATH


@attrs.frozen
class Sizes:
    rounds: int  # blocks per server, the servers taking turns
    calls_per_round: int


@attrs.frozen
class UpstreamWork:
    """What one server's timed calls asked of the upstream."""

    calls: int
    requests: Mapping[str, int]  # by operation (the upstream's handler)
    request_s: Mapping[str, float]  # median time in the upstream per request, by operation
    total_s: float  # the upstream's time on all of them

    @property
    def requests_per_call(self) -> float:
        return sum(self.requests.values()) / self.calls

    @property
    def per_call_s(self) -> float:
        """The upstream's own time per call (a mean: requests are not tied to calls)."""
        return self.total_s / self.calls

    def shown(self) -> str:
        """`workspace_policy 1, create_issue 1` (requests per call, by operation)."""
        return ", ".join(f"{op} {n / self.calls:g}" for op, n in sorted(self.requests.items()))


@attrs.frozen
class Side:
    latency: Latency  # create_issue, one call in flight
    upstream: UpstreamWork
    cpu_per_call_s: float  # the server process's CPU time per call, meanwhile


@attrs.frozen
class HttpTaskerResult:
    gateway: Side
    bare: Side

    @property
    def p50_ratio(self) -> float:
        return self.gateway.latency.p50_s / self.bare.latency.p50_s

    @property
    def added_s(self) -> float:
        """What the gateway adds at the median."""
        return self.gateway.latency.p50_s - self.bare.latency.p50_s


async def drain(http: httpx.AsyncClient, upstream_url: str) -> dict[str, list[float]]:
    """The upstream's time per request since the last drain, by operation (then forgotten)."""
    response = await http.post(upstream_url + TIMINGS_PATH)
    response.raise_for_status()
    timings: dict[str, list[float]] = response.json()
    return timings


def _work(calls: int, timings: Mapping[str, list[float]]) -> UpstreamWork:
    if "refused" in timings:
        raise RuntimeError(f"the upstream refused {len(timings['refused'])} requests")
    return UpstreamWork(
        calls,
        {op: len(times) for op, times in timings.items()},
        {op: median(times) for op, times in timings.items()},
        sum(sum(times) for times in timings.values()),
    )


async def measure(
    targets: Mapping[str, load.Target],
    served: Mapping[str, servers.Served],
    upstream_url: str,
    sizes: Sizes,
) -> dict[str, Side]:
    """Sequential calls on one warm session per server, the servers taking turns in
    blocks of `calls_per_round` (order alternating); around each block the upstream's
    timings are drained and the server's CPU time read, so both are the block's own."""
    names = list(targets)
    samples: dict[str, list[float]] = {name: [] for name in names}
    timings: dict[str, dict[str, list[float]]] = {name: {} for name in names}
    cpu = dict.fromkeys(names, 0.0)
    async with (
        httpx.AsyncClient() as http,
        load.sessions([targets[name] for name in names]) as opened,
    ):
        session = dict(zip(names, opened, strict=True))
        await drain(http, upstream_url)  # the warm-up's requests
        for round_ in range(sizes.rounds):
            for name in names if round_ % 2 == 0 else reversed(names):
                before = served[name].cpu_seconds()
                samples[name] += await load.timed(session[name], sizes.calls_per_round)
                cpu[name] += served[name].cpu_seconds() - before
                for op, times in (await drain(http, upstream_url)).items():
                    timings[name].setdefault(op, []).extend(times)
    return {
        name: Side(
            Latency.of(samples[name]),
            _work(len(samples[name]), timings[name]),
            cpu[name] / len(samples[name]),
        )
        for name in names
    }


async def run(sizes: Sizes) -> HttpTaskerResult:
    with servers.upstream() as upstream:
        async with postgres.scratch_database("http_gateway") as gateway_db:
            agents = await setup.seed_http_gateway(gateway_db, upstream.url)
            with (
                servers.gateway(gateway_db, upstream.url) as gateway,
                servers.bare_http(upstream.url) as bare,
            ):
                where = (agents.workspace_slug, agents.project_id)
                sides = await measure(
                    {
                        "gateway": load.Target(gateway.url, agents.tokens[0], *where),
                        "bare": load.Target(bare.url, None, *where),
                    },
                    {"gateway": gateway, "bare": bare},
                    upstream.url,
                    sizes,
                )
    return HttpTaskerResult(gateway=sides["gateway"], bare=sides["bare"])
