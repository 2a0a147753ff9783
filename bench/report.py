"""Printing the results as ratios, and writing `docs/benchmarks.md`."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from bench.governed_call import GovernedCallResult
from bench.grant_evaluation import GrantEvaluationResult
from bench.machine import Machine
from bench.round_trips import RoundTripReport
from bench.scale import ScaleResult
from bench.startup import (
    INITIALIZE_TARGET_S,
    RSS_TARGET_BYTES,
    SERVE_READY_TARGET_S,
    StartupResult,
)
from bench.stats import fmt_ms, fmt_ratio, fmt_us, ratio

DECISION_TARGET_S = 5e-6
FLAT_TARGET = 1.5  # ours@largest / ours@smallest: "flat" within noise
P50_TARGET = 1.5
THROUGHPUT_TARGET = 0.67
SCALE_TARGET = 1.2


@attrs.frozen
class Row:
    part: str
    what: str
    ours: str
    baseline: str
    ratio: float
    target: str
    met: bool | None  # None: reported, no target


@attrs.frozen
class Run:
    machine: Machine
    command: str
    date: str
    quick: bool
    load_before: str
    load_after: str
    grants: GrantEvaluationResult | None
    call: GovernedCallResult | None
    scale: ScaleResult | None
    startup: StartupResult | None = None


def fmt_mb(size: float) -> str:
    return f"{size / 2**20:.0f} MB"


def rows(run: Run) -> list[Row]:
    found: list[Row] = []
    if run.grants is not None:
        sizes = run.grants.sizes
        for size in sizes:
            found.append(
                Row(
                    "1",
                    f"grant decision, median, {size.grants:,} grants",
                    fmt_us(size.ours_s),
                    f"Cedar {fmt_us(size.cedar_s)}",
                    ratio(size.ours_s, size.cedar_s),
                    "≤ 5 µs",
                    size.ours_s <= DECISION_TARGET_S,
                )
            )
        first, last = sizes[0], sizes[-1]
        found.append(
            Row(
                "1",
                f"flat: ours at {last.grants:,} grants / at {first.grants:,}",
                fmt_us(last.ours_s),
                fmt_us(first.ours_s),
                ratio(last.ours_s, first.ours_s),
                f"≤ {FLAT_TARGET}× (flat)",
                ratio(last.ours_s, first.ours_s) <= FLAT_TARGET,
            )
        )
        found.append(
            Row(
                "1",
                f"Cedar at {last.grants:,} grants / at {first.grants:,}",
                fmt_us(last.cedar_s),
                fmt_us(first.cedar_s),
                ratio(last.cedar_s, first.cedar_s),
                "(for comparison)",
                None,
            )
        )
    if run.call is not None:
        gateway, bare = run.call.gateway, run.call.bare
        found += [
            Row(
                "2",
                "governed `create_issue`, p50",
                fmt_ms(gateway.latency.p50_s),
                f"bare {fmt_ms(bare.latency.p50_s)}",
                ratio(gateway.latency.p50_s, bare.latency.p50_s),
                f"≤ {P50_TARGET}×",
                ratio(gateway.latency.p50_s, bare.latency.p50_s) <= P50_TARGET,
            ),
            Row(
                "2",
                "governed `create_issue`, p99",
                fmt_ms(gateway.latency.p99_s),
                f"bare {fmt_ms(bare.latency.p99_s)}",
                ratio(gateway.latency.p99_s, bare.latency.p99_s),
                "—",
                None,
            ),
            Row(
                "2",
                f"governed `create_issue`, calls/s ({run.call.clients} clients)",
                f"{gateway.calls_per_s:.1f}/s",
                f"bare {bare.calls_per_s:.1f}/s",
                ratio(gateway.calls_per_s, bare.calls_per_s),
                f"≥ {THROUGHPUT_TARGET}×",
                ratio(gateway.calls_per_s, bare.calls_per_s) >= THROUGHPUT_TARGET,
            ),
            Row(
                "2",
                "server CPU time per call (during the throughput runs)",
                fmt_ms(gateway.cpu_per_call_s),
                f"bare {fmt_ms(bare.cpu_per_call_s)}",
                ratio(gateway.cpu_per_call_s, bare.cpu_per_call_s),
                "—",
                None,
            ),
            Row(
                "2",
                "database round trips per call (with an idempotency key)",
                f"{run.call.round_trips_keyed.round_trips:g}",
                f"bare {run.call.round_trips_bare.round_trips:g}",
                ratio(
                    run.call.round_trips_keyed.round_trips, run.call.round_trips_bare.round_trips
                ),
                "—",
                None,
            ),
        ]
    if run.scale is not None:
        s = run.scale
        found += [
            Row(
                "3",
                "governed call p50, 10⁶ audit events + 10⁵ tokens vs empty"
                if not run.quick
                else f"governed call p50, {s.load.events:,} events + {s.load.tokens:,} tokens",
                fmt_ms(s.loaded.p50_s),
                f"empty {fmt_ms(s.empty.p50_s)}",
                ratio(s.loaded.p50_s, s.empty.p50_s),
                f"≤ {SCALE_TARGET}×",
                ratio(s.loaded.p50_s, s.empty.p50_s) <= SCALE_TARGET,
            ),
            Row(
                "3",
                "same, p99",
                fmt_ms(s.loaded.p99_s),
                f"empty {fmt_ms(s.empty.p99_s)}",
                ratio(s.loaded.p99_s, s.empty.p99_s),
                "—",
                None,
            ),
        ]
    if run.startup is not None:
        found += _startup_rows(run.startup)
    return found


def _startup_rows(s: StartupResult) -> list[Row]:
    return [
        Row(
            "4",
            "`serve` ready (SQLite, a restart), median",
            fmt_ms(s.serve.p50_s),
            f"bare {fmt_ms(s.bare.p50_s)}",
            ratio(s.serve.p50_s, s.bare.p50_s),
            f"≤ {SERVE_READY_TARGET_S:g} s",
            s.ready_met,
        ),
        Row(
            "4",
            "`serve` ready, p90",
            fmt_ms(s.serve.p90_s),
            f"bare {fmt_ms(s.bare.p90_s)}",
            ratio(s.serve.p90_s, s.bare.p90_s),
            "—",
            None,
        ),
        Row(
            "4",
            "`serve` resident memory at ready, median",
            fmt_mb(s.serve.rss_p50),
            f"bare {fmt_mb(s.bare.rss_p50)}",
            ratio(s.serve.rss_p50, s.bare.rss_p50),
            f"≤ {fmt_mb(RSS_TARGET_BYTES)}",
            s.rss_met,
        ),
        Row(
            "4",
            "`stdio` answers `initialize`, median",
            fmt_ms(s.stdio.p50_s),
            f"`python -c pass` {fmt_ms(s.floor.p50_s)}",
            ratio(s.stdio.p50_s, s.floor.p50_s),
            f"≤ {INITIALIZE_TARGET_S * 1e3:g} ms",
            s.initialize_met,
        ),
        Row(
            "4",
            "`stdio` answers `initialize`, p90",
            fmt_ms(s.stdio.p90_s),
            f"`python -c pass` {fmt_ms(s.floor.p90_s)}",
            ratio(s.stdio.p90_s, s.floor.p90_s),
            "—",
            None,
        ),
        Row(
            "4",
            "`nodedc-gateway --help`, median",
            fmt_ms(s.help.p50_s),
            f"`python -c pass` {fmt_ms(s.floor.p50_s)}",
            ratio(s.help.p50_s, s.floor.p50_s),
            "—",
            None,
        ),
    ]


def _met(row: Row) -> str:
    return "—" if row.met is None else ("met" if row.met else "**missed**")


def console(run: Run) -> str:
    lines = []
    for row in rows(run):
        verdict = "" if row.met is None else ("  target met" if row.met else "  TARGET MISSED")
        lines.append(
            f"[{row.part}] {row.what}: {fmt_ratio(row.ratio)}  "
            f"({row.ours} vs {row.baseline}; target {row.target}){verdict}"
        )
    return "\n".join(lines)


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return lines


def _round_trip_table(report: RoundTripReport) -> list[str]:
    body = [
        [
            step.label,
            f"{step.transactions:g}",
            f"{step.statements:g}",
            f"{step.round_trips:g}",
        ]
        for step in report.steps
    ]
    body.append(
        [
            "**total**",
            f"**{report.transactions:g}**",
            f"**{report.statements:g}**",
            f"**{report.round_trips:g}**",
        ]
    )
    return _table(["step", "transactions", "statements", "round trips"], body)


def markdown(run: Run, analysis: Sequence[str]) -> str:
    out = [
        "# Benchmarks",
        "",
        "Generated by the benchmark itself; do not edit by hand. Every figure is a ratio to "
        "a baseline measured in the same run, on the same machine.",
        "",
        f"- Command: `{run.command}`",
        f"- Date: {run.date}",
        *run.machine.lines(),
        f"- Load average (1, 5, 15 min) before / after: {run.load_before} / {run.load_after} "
        "(the machine is shared; the servers under comparison take turns, round by round, "
        "so a change in load hits both)",
        "",
        "## Results",
        "",
    ]
    if run.quick:
        out += [
            "> **Smoke run (`--quick`)**: tiny sizes, too few samples for the figures to mean "
            "anything. Run `make bench` for the real numbers.",
            "",
        ]
    out += _table(
        ["part", "measurement", "ours", "baseline", "ratio", "target", ""],
        [
            [r.part, r.what, r.ours, r.baseline, fmt_ratio(r.ratio), r.target, _met(r)]
            for r in rows(run)
        ],
    )
    if run.grants is not None:
        out += [
            "",
            "## 1. Grant evaluation",
            "",
            "A full decision (reason, missing scopes, grant versions) for `create_issue` with a "
            "random set of its optional fields, on a fixed mix of targets (60 % a granted "
            "project, 20 % another project of a granted workspace, 20 % a workspace with no "
            "grant), for one agent holding N grants with random scope sets, one in 50 "
            "workspace-level. Ours: `evaluate_grants` over the agent's `GrantIndex`. Cedar: "
            "`cedarpy.is_authorized_batch` on a pre-parsed `PolicySet` (one `permit` per grant "
            "with `@id(grant@version)`, plus a `forbid` for the human-only scopes) and "
            "pre-parsed `Entities`, one request per required scope, the determining policies "
            "giving the grant versions. Both engines must agree on the first 100 requests of "
            "the mix before anything is timed. Each call is timed on its own with "
            f"`perf_counter_ns` (its own overhead, {run.grants.timer_overhead_s * 1e9:.0f} ns, "
            "subtracted). Ours is timed in 20 rounds, the grant counts taking turns within "
            "each, so a burst of load on the machine hits every count alike.",
            "",
        ]
        out += _table(
            [
                "grants",
                "ours median",
                "ours p99",
                "Cedar median",
                "Cedar p99",
                "ours / Cedar",
                "build GrantIndex",
                "parse Cedar policies + entities",
                "samples (ours / Cedar)",
            ],
            [
                [
                    f"{s.grants:,}",
                    fmt_us(s.ours_s),
                    fmt_us(s.ours_p99_s),
                    fmt_us(s.cedar_s),
                    fmt_us(s.cedar_p99_s),
                    fmt_ratio(ratio(s.ours_s, s.cedar_s)),
                    fmt_ms(s.index_build_s),
                    fmt_ms(s.cedar_parse_s),
                    f"{s.samples_ours:,} / {s.samples_cedar:,}",
                ]
                for s in run.grants.sizes
            ],
        )
    if run.call is not None:
        call = run.call
        out += [
            "",
            "## 2. Governed call",
            "",
            "`create_issue` (a name, a project UUID, a fresh `idempotency_key`) from the official "
            '`mcp` client (Streamable HTTP, protocol negotiated by `mode="auto"`) to:',
            "",
            "- **gateway**: `nodedc-gateway serve` (uvicorn, one process) on PostgreSQL with "
            "the sandbox Tasker: bearer authentication, rate limit, idempotency, grant "
            "evaluation, the sandbox write, the audit event, access log and metrics;",
            "- **bare**: `bench/bare_server.py`, an `MCPServer` with the same stateless JSON "
            "transport and the same tool definition (the gateway's own `create_issue` spec), "
            "whose tool calls `SqlSandboxTasker.create_issue` on its own PostgreSQL database "
            "and nothing else.",
            "",
            f"Latency: one call in flight, {call.gateway.latency.calls:,} calls per server. "
            f"Throughput: {call.clients} clients at once (one agent each on the gateway), "
            "calls back to back; meanwhile the server process's own CPU time (user + system, "
            "from `/proc`) per call.",
            "",
        ]
        out += _table(
            ["server", "p50", "p99", "calls/s", "server CPU per call"],
            [
                [
                    name,
                    fmt_ms(result.latency.p50_s),
                    fmt_ms(result.latency.p99_s),
                    f"{result.calls_per_s:.1f}",
                    fmt_ms(result.cpu_per_call_s),
                ]
                for name, result in (("bare", call.bare), ("gateway", call.gateway))
            ]
            + [
                [
                    "gateway / bare",
                    fmt_ratio(ratio(call.gateway.latency.p50_s, call.bare.latency.p50_s)),
                    fmt_ratio(ratio(call.gateway.latency.p99_s, call.bare.latency.p99_s)),
                    fmt_ratio(ratio(call.gateway.calls_per_s, call.bare.calls_per_s)),
                    fmt_ratio(ratio(call.gateway.cpu_per_call_s, call.bare.cpu_per_call_s)),
                ]
            ],
        )
        out += [
            "",
            "### Database round trips per call",
            "",
            "Counted from libpq's protocol trace (`PQtrace`) of every connection the server's "
            "engine opened, over calls made one at a time after a warm-up: a round trip is "
            "one exchange ending in the server's `ReadyForQuery` (a statement, `BEGIN`, "
            "`COMMIT`, `ROLLBACK`, a pool pre-ping). Steps are named by the tables their "
            "statements touch.",
            "",
            "Governed, with an idempotency key:",
            "",
            *_round_trip_table(call.round_trips_keyed),
            "",
            "Governed, without an idempotency key:",
            "",
            *_round_trip_table(call.round_trips_unkeyed),
            "",
            "Bare server:",
            "",
            *_round_trip_table(call.round_trips_bare),
        ]
    if run.scale is not None:
        s = run.scale
        out += [
            "",
            "## 3. Scale",
            "",
            f"The governed call (as in part 2, {s.loaded.calls:,} calls each) on a database "
            f"holding {s.rows.get('audit_events', 0):,} audit events over "
            f"{s.rows.get('audit_chain_heads', 0):,} chains and "
            f"{s.rows.get('agent_tokens', 0):,} tokens of {s.rows.get('agents', 0):,} agents "
            f"(loaded in {s.load_seconds:.1f} s by `INSERT … SELECT generate_series`, then "
            "`VACUUM ANALYZE`), against the same call on an empty database; the two gateways "
            "take turns.",
            "",
        ]
        out += _table(
            ["database", "p50", "p99"],
            [
                ["empty", fmt_ms(s.empty.p50_s), fmt_ms(s.empty.p99_s)],
                ["loaded", fmt_ms(s.loaded.p50_s), fmt_ms(s.loaded.p99_s)],
                [
                    "loaded / empty",
                    fmt_ratio(ratio(s.loaded.p50_s, s.empty.p50_s)),
                    fmt_ratio(ratio(s.loaded.p99_s, s.empty.p99_s)),
                ],
            ],
        )
    if run.startup is not None:
        out += _startup_section(run.startup)
    out += ["", *analysis]
    return "\n".join(out).rstrip() + "\n"


def _startup_section(s: StartupResult) -> list[str]:
    out = [
        "",
        "## 4. Start-up",
        "",
        "Each process is started from this one with `subprocess.Popen` and timed from just "
        "before the start; every kind is started "
        f"{s.rounds} times, ours and its baseline taking turns (order alternating), so a "
        "change in the machine's load hits both.",
        "",
        "- **`serve`**: `nodedc-gateway serve` on the embedded default (local mode, SQLite "
        "in its working directory, nothing configured), until `HEAD /health/live` answers "
        "(polled every 5 ms over a fresh connection); its resident memory is `VmRSS` from "
        "`/proc/<pid>/status` at that moment. Baseline: `bench/bare_server.py` (the "
        "bare MCP server of part 2) on its own SQLite file, started the same way, until "
        "`HEAD /mcp` answers. Each has its own scratch directory and one untimed start "
        "first (the gateway creates and migrates its database then), so every timed start "
        "is a restart, as after a deploy.",
        "- **`stdio`**: the connector as Codex starts it (`nodedc-gateway stdio`, the token "
        "and the gateway's URL in its environment; the gateway is never reached), an "
        "`initialize` request written on its stdin right after the start, until the "
        "answer's line arrives on its stdout. Baseline: `python -c pass` run to its exit, "
        "the floor of any Python process on this machine.",
        "- **`--help`**: `nodedc-gateway --help` to its exit, against the same floor.",
        "",
        "Targets (issue 15) are absolute: `serve` ready ≤ 1 s, ≤ 120 MB resident at "
        "ready, `initialize` answered ≤ 200 ms after the process starts.",
        "",
    ]
    out += _table(
        ["process", "median", "p90", "resident at ready (median)"],
        [
            ["`serve`", fmt_ms(s.serve.p50_s), fmt_ms(s.serve.p90_s), fmt_mb(s.serve.rss_p50)],
            ["bare server", fmt_ms(s.bare.p50_s), fmt_ms(s.bare.p90_s), fmt_mb(s.bare.rss_p50)],
            ["`stdio` → `initialize` answer", fmt_ms(s.stdio.p50_s), fmt_ms(s.stdio.p90_s), "—"],
            ["`--help`", fmt_ms(s.help.p50_s), fmt_ms(s.help.p90_s), "—"],
            ["`python -c pass`", fmt_ms(s.floor.p50_s), fmt_ms(s.floor.p90_s), "—"],
        ],
    )
    return out
