"""What the numbers mean: the prose of the report, written around the run's own figures."""

from __future__ import annotations

from bench.report import (
    HTTP_P50_TARGET,
    P50_TARGET,
    SCALE_TARGET,
    TAIL_TARGET,
    THROUGHPUT_TARGET,
    TRANSACTIONS_TARGET,
    Run,
    fmt_mb,
    http_met,
    latency_ratios,
    transactions_met,
)
from bench.startup import (
    INITIALIZE_TARGET_S,
    RSS_TARGET_BYTES,
    SERVE_READY_TARGET_S,
    StartupResult,
)
from bench.stats import fmt_ms, fmt_ratio, fmt_us, ratio

#: The same harness on the code before any of this work (commit f92b5fb, 2026-11-22,
#: `make bench` on this machine): the starting point the changes are measured against.
BEFORE = {
    "round_trips": 39,
    "transactions": 6,
    "statements": 23,
    "bare_round_trips": 12,
    "p50_ratio": 2.86,
    "throughput_ratio": 0.45,
}

#: Where the round trips of a keyed governed create_issue went, step by step.
CHANGES = (
    ("pool pre-ping (`;` before every transaction) replaced by a local socket check", 6),
    ("authentication: one joined read (token, agent, grants) outside any transaction", 4),
    ("`create_issue` reads the project only when a name needs resolving", 6),
    ("audit event and chain head written by one statement", 1),
    ("idempotency claim as one self-committing statement", 2),
    ("caller read, rate limit and idempotency claim as one statement (`admit`)", 2),
    ("the closing record (event, head, stored response) as one compare-and-swap statement", 4),
    ("the sandbox's create answers with what it wrote; its key is looked up with the project", 4),
    (
        "the sandbox's create: the states read with the project, labels and members only "
        "when named, the number taken in the issue's INSERT",
        4,
    ),
)


def analysis(run: Run) -> list[str]:
    out = ["## What the figures say", ""]
    if run.call is not None:
        out += _round_trips(run)
        out += _latency(run)
    if run.grants is not None:
        out += _grants(run)
    if run.scale is not None:
        out += _scale(run)
    if run.startup is not None:
        out += _startup(run)
    if run.http is not None:
        out += _http(run)
    out += [
        "### Reading these numbers",
        "",
        "The machine is a shared two-core VM: the client, the server under test and "
        "PostgreSQL compete for the same cores, and other jobs come and go (see the load "
        "averages above). Every comparison is therefore made in the same run with the two "
        "sides taking turns in short rounds, and only the ratios are meant to carry over to "
        "another machine; expect them to move by about a tenth from run to run.",
    ]
    return out


def _round_trips(run: Run) -> list[str]:
    assert run.call is not None
    keyed, bare = run.call.round_trips_keyed, run.call.round_trips_bare
    lines = [
        "### Round trips: how few, and why not fewer",
        "",
        f"A keyed governed `create_issue` now costs **{keyed.round_trips:g} database round "
        f"trips** ({keyed.transactions:g} units of work, {keyed.statements:g} statements) "
        f"against the bare server's {bare.round_trips:g}: "
        f"{keyed.round_trips - bare.round_trips:g} for governance. Before this work it cost "
        f"{BEFORE['round_trips']} ({BEFORE['transactions']} transactions, "
        f"{BEFORE['statements']} statements) against {BEFORE['bare_round_trips']}. "
        "Where they went:",
        "",
        "| change | round trips saved |",
        "|---|---|",
        *(f"| {what} | {saved} |" for what, saved in CHANGES),
        "",
        "What is left is one round trip per thing the contract requires:",
        "",
        "- **admit**: one statement in autocommit: the indexed read of the token with "
        "its agent and active grants, the agent's GCRA bucket upserted in the database "
        "(shared by all replicas) and the idempotency key claimed `in_flight`, as "
        "data-modifying CTEs, committing without waiting for the WAL flush (the audit "
        "transaction that follows flushes it with itself; after a crash a bucket can at "
        "worst forget the last fraction of a second of spent budget, and a lost claim "
        "belongs to a call whose outcome its client never learnt, whose retry the "
        "Tasker-side external id keeps to one card, CONTRACT §7). Nothing is cached "
        "between calls, so a token, agent or grant revoked on any replica is refused on "
        "the very next call everywhere, by construction. A cache would still need a "
        "freshness check per call to keep that promise: a revision read costs the same "
        "round trip, and `LISTEN/NOTIFY` alone cannot keep it (a call reaching another "
        "replica between the revoking commit and the delivery of the notification would "
        "pass, and a dropped channel needs exactly this read as its fallback).",
        "- **the Tasker-side dedupe** costs no round trip, nor a read: the sandbox's "
        "unique (project, external id) refuses a second card, and only then is the first "
        "one read, to answer with it.",
        "- **the workspace's policy**: whether Codex agents are switched on in the "
        "workspace, read on every call, so switching the feature off stops every agent on "
        "its next call, on every replica. When the Tasker is the sandbox in the same "
        "database (as here) the admission statement reads it (a scalar subquery on the "
        "sandbox's workspaces), so it costs no round trip of its own; any other Tasker is "
        "asked for it in a short read of its own.",
        "- **record**: one autocommit statement writing the audit event, the chain's new "
        "head, the idempotent response (and `last_used_at` at most once a minute per "
        "token), committed synchronously: the event is linked in Python to the head this "
        "process last wrote, and the statement swaps the head only if it is still that one "
        "(a compare-and-swap; when another replica moved it, the head is read again, and "
        "after a second miss the locking transaction of before does it). The head is "
        "never locked for longer than this statement; the commit must be durable before "
        "the answer leaves.",
        "",
    ]
    return lines


def _latency(run: Run) -> list[str]:
    assert run.call is not None
    call = run.call
    p50 = ratio(call.gateway.latency.p50_s, call.bare.latency.p50_s)
    rate = ratio(call.gateway.calls_per_s, call.bare.calls_per_s)
    cpu = ratio(call.gateway.cpu_per_call_s, call.bare.cpu_per_call_s)
    extra = call.gateway.latency.p50_s - call.bare.latency.p50_s
    keyed, bare_trips = call.round_trips_keyed, call.round_trips_bare
    read_p50 = ratio(call.gateway.read_latency.p50_s, call.bare.read_latency.p50_s)
    tail = call.gateway.loaded_latency.tail

    def verdict(met: bool) -> str:
        return "met" if met else "missed"

    work = call.work
    return [
        "### Latency and throughput against the bare server",
        "",
        f"Before this work the governed call took {BEFORE['p50_ratio']}× the bare p50 and "
        f"made {BEFORE['throughput_ratio']}× its calls per second (8 clients, one agent "
        f"each); now, on PostgreSQL, the write takes {fmt_ratio(p50, P50_TARGET)} (target "
        f"≤ {P50_TARGET}×: {verdict(p50 <= P50_TARGET)}), the read "
        f"{fmt_ratio(read_p50, P50_TARGET)} (target ≤ {P50_TARGET}×: "
        f"{verdict(read_p50 <= P50_TARGET)}), and {call.clients} clients on one agent make "
        f"{fmt_ratio(rate, THROUGHPUT_TARGET)} the bare server's calls per second (target "
        f"≥ {THROUGHPUT_TARGET}×: {verdict(rate >= THROUGHPUT_TARGET)}) with a p99 "
        f"{tail:.2f}× their p50 (target "
        f"≤ {TAIL_TARGET:g}×: {verdict(tail <= TAIL_TARGET)}; the bare server's "
        f"{call.bare.loaded_latency.tail:.2f}×). At the median the governed write spends "
        f"{fmt_ms(extra)} more; the gateway process burns {cpu:.2f}× the bare server's CPU "
        f"per call ({fmt_ms(call.gateway.cpu_per_call_s)} against "
        f"{fmt_ms(call.bare.cpu_per_call_s)}), and throughput follows that ratio, since "
        "with several clients both servers are CPU-bound. Both share one queue: creates in "
        "one project take the sandbox's project row lock for their sequence number. It was "
        "taken by the create's first statement and held through about twelve round trips, "
        "and PostgreSQL does not serve a long queue of waiters on a row lock in order: the "
        "latency under load was bimodal (a p99 21.7× the p50 on 2026-12-05). The lock is "
        "now taken by the `UPDATE` that takes the number, after every read, and held only "
        "through the inserts and the commit; the bare server, doing the same write, gained "
        "the same way, so its calls per second rose with it. The row's queue itself was "
        "still served out of order: timed inside the gateway under this load "
        "(2026-12-06), the sandbox's write was 90 ms at the median and 379 ms at the p99, "
        "while the admission and the record stayed at a few milliseconds. So this "
        "process's creates in one project now take the row in turn (`adapters/turns.py`, "
        "an asyncio lock per project, first come first served): a create's turn ends as "
        "soon as its `UPDATE` has the row, so at most one of them waits on the row, and "
        "it goes ahead in the database the moment the one before commits. In an A/B run "
        "of the same load the gateway's p99 went from 3.84× to 2.13× its p50, at 7 % "
        "more calls per second; the bare server, on the same sandbox code, gains alike.",
        "",
        _against_one_insert(run),
        "",
        f"PostgreSQL counts {work['keyed'].transactions:g} transactions for a keyed "
        f"governed write, {work['unkeyed'].transactions:g} without a key and "
        f"{work['read'].transactions:g} for a governed read, against "
        f"{work['bare'].transactions:g} and {work['bare_read'].transactions:g} for the "
        "bare write and read. Of those, the sandbox Tasker's own (the write or the "
        "reads) are "
        + ", ".join(f"{work[kind].tasker_transactions:g}" for kind in ("keyed", "unkeyed", "read"))
        + " and the gateway's "
        + ", ".join(f"{work[kind].own_transactions:g}" for kind in ("keyed", "unkeyed", "read"))
        + f" (target ≤ {TRANSACTIONS_TARGET} plus the Tasker's own: "
        + ", ".join(
            f"{name} {verdict(transactions_met(call, kind))}"
            for name, kind in (("keyed", "keyed"), ("unkeyed", "unkeyed"), ("read", "read"))
        )
        + "): one to admit the call (the caller read, its budget spent and its key claimed "
        "in one statement) and one to record it (the audit event with the stored "
        "response); "
        + (
            "the libpq trace of the engine's connections finds the same counts."
            if all(w.transactions == w.trips.transactions for w in work.values())
            else "the libpq trace of the engine's connections finds different counts "
            "(see part 2): something not on the traced connections ran in the database."
        ),
        "",
        "What limits both is the fixed cost of each exchange with the database, not the "
        "work of governance. On this VM a system call that writes to a socket costs about "
        "0.2 ms of CPU (profiled: libpq's send of one statement), so every round trip costs "
        "0.3–0.5 ms of CPU and wall time once SQLAlchemy's async layer and psycopg are "
        "added, and a synchronous commit another 0.2–0.5 ms for its WAL flush; grant "
        "evaluation, hashing the audit event, the fingerprint and the access log are a few "
        "hundred microseconds in all. The bare server spends most of its own time the same "
        f"way (its write is {bare_trips.round_trips:g} round trips). The governed call makes "
        f"{keyed.round_trips - bare_trips.round_trips:g} round trips and "
        f"{keyed.transactions - bare_trips.transactions:g} transactions more, but no "
        "synchronous commit more: the gateway's sandbox commits its create without "
        "waiting for the flush, which the record's synchronous commit then does for both "
        "(as for the admission's claim and budget). About a millisecond of the difference "
        "is those exchanges. The rest is CPU "
        "in the gateway's process, spread thin. The two wide statements (the admission's "
        "CTEs, the record's four tables) run straight on a pooled connection's psycopg "
        "connection, compiled once (`sql/direct.py`): through SQLAlchemy's execution "
        "layers the admission cost about 0.7–0.8 ms of CPU in process, on the driver "
        "about 0.3 ms. Such a connection is kept out of the pool, idle in autocommit, for "
        "the next direct statement: taking it from the pool and giving it back were two "
        "hops through SQLAlchemy's greenlet bridge, measured in process at about 60 µs of "
        "a 195 µs `SELECT 1` (2026-12-06), and now cost about 6 µs. What is left in the "
        "profile (py-spy under load, 2026-12-06) is the Litestar app and middleware "
        "around the MCP endpoint, the access log line (about 60 µs with its redaction), "
        "the audit event's hash and the endpoint reading the request before the SDK reads "
        "it again; both servers hand the SDK's dispatch the raw arguments, unvalidated "
        "by it. The exchanges could drop further only at a price not paid here: one "
        "pooled connection held for a whole request (more connections held while Tasker "
        "answers), the sandbox's write in the transaction that records the call (the "
        "record would then wait on the project row lock), or an audit commit that does "
        "not wait for the flush (refused: an answered call must have its audit event on "
        "disk). The workspace's policy, once a transaction of its own, is now read by "
        "the admission statement.",
        "",
        "Under load the two cores are shared by the server, PostgreSQL and the bench's "
        "own 16 clients, so what the database does for each call counts as well. On "
        "2026-12-07 (`pg_stat_statements` and `/proc/stat` during bursts, a record of that "
        "day): the whole machine spent about 8.3 ms of CPU per governed call against "
        "5.5 ms per bare one, PostgreSQL's share 1.7 ms against 0.8 ms. Most of that "
        "difference was a plan: the gateway's create read the project joined to the card "
        "already under its external id, PostgreSQL cached a generic plan for it while the "
        "cards table was small, and with two indexes tied at one row it took the one on "
        "(project, created_at), filtering every card of the project, 59-840 buffers and "
        "136-314 µs a call where the bare server's unkeyed read took 4 and 40 µs. The "
        "lookup is gone (the unique (project, external id) refuses a repeat, and only "
        "then is the first card read), and the read is the bare server's: about 8.0 ms "
        "for the whole machine. And a pool keeping 5 connections closed and reopened one "
        "every ~40 calls under this load, each a fresh backend with cold caches and "
        "unprepared statements: PostgreSQL engines now keep 10 of their 15 "
        "(`engine.POSTGRES_POOL`), for the bare server too.",
        "",
        "Tried on 2026-12-07 and not kept (gateway against gateway in alternating bursts "
        "and blocks, each on its own database; a record of that day). With the record not "
        "written at all, the bound of anything done to it, the gateway made 0.77× the bare "
        "server's calls per second and its write took 1.43× the bare p50. The record joined "
        "to the sandbox's write transaction, its statement sent with the COMMIT in one "
        "round trip (psycopg's pipeline mode): one round trip and one transaction fewer per "
        "write, but the project's row lock was then held through the record, and the "
        "pipeline cost more CPU than the round trip it saved: 16 clients made 304 calls/s "
        "against 357, and one client's p50 was 3.77 ms against 3.58 ms. Group commit of an "
        "agent's records (one writer per chain, each statement writing every record queued "
        "meanwhile): with the chain's turn the records had waited about 28 ms each behind "
        "turns held about 2 ms, yet without it 976 of 989 statements wrote a single record "
        "and the calls per second did not move (320 against 315): the wait only moved to "
        "the project's queue. Under this load both servers are CPU-bound, and the ratio of "
        "calls per second follows the machine's CPU per call.",
        "",
        "Where that CPU goes, measured again on a second machine of the same kind the same "
        "day (a record of that day). Under 16 clients, from `/proc` during the bursts: the "
        "gateway's process 2.94 ms per call against the bare server's 1.65 ms, PostgreSQL "
        "0.57 against 0.13 ms, the bench's clients 1.62 against 1.51 ms; 5.1 ms of the "
        "machine's CPU per governed call against 3.3 ms per bare one, 305 calls/s against "
        "480 (0.64×), where 0.67× needs about 4.9 ms. One call at a time, with `cProfile` "
        "switched on in each server after its warm-up, the governed write made 4,924 Python "
        "function calls against the bare server's 3,004, and the difference is spread over "
        "some fifty places, none above a few per cent of the gateway's time: psycopg "
        "sending its two statements and reading their rows, the access line, the HTTP "
        "layers around the MCP app (request id, metrics, Litestar's routing), the caller's "
        "rows made into objects, the pipeline's steps, JSON. What is left is the cost of "
        "governing in Python, not one step to remove. The access line since skips the "
        "standard library's logging (44.5 µs a line, now 28.2 µs). A loopback round trip "
        "costs about 40 µs of CPU at both ends together on this machine, so the two the "
        "gateway adds are cheap in CPU; in a sampling profile they look larger, the sender "
        "being descheduled as it wakes PostgreSQL on two cores. Relaxing the one "
        "synchronous commit a governed call keeps (the record's; `synchronous_commit=off` "
        "on all the gateway's connections, only to measure it: the audit event must be on "
        "disk before the answer leaves) bought nothing that held: in one run PostgreSQL's "
        "CPU per call fell from 0.60 to 0.29 ms and the calls per second rose 8 %, in the "
        "next the CPU was 0.22 against 0.21 ms and the calls per second within the noise.",
        "",
        "Timed inside the gateway later that day (one call in flight, PostgreSQL, a mark at "
        "each step, medians of 800 calls; a record of that day): from send to answer the "
        "admission's statement took about 0.5 ms and the record's about 0.7 ms, of which "
        "PostgreSQL's WAL flush was about 0.45 ms (`pg_stat_wal`, sync time per sync; "
        "`pg_test_fsync` gives 80 µs for a lone 8 kB write, not what the server sees) "
        "and the statement's execution under 0.1 ms (`log_min_duration_statement`); the "
        "bare write pays the same flush once. So the admission's statement is now sent "
        "before the SDK reads the request, and the database answers it while the SDK "
        "parses and validates (`mcp/endpoint.py`; nothing runs, and nothing is answered, "
        "before the admission is known): the tool started 0.1-0.4 ms sooner, and in "
        "interleaved runs against the commit before it the write's p50 ratio fell by "
        "0.00-0.09, about 2 % on average; under load it changes nothing, the CPU being the "
        "same. Likewise, on PostgreSQL a call served alone has its record written while "
        "the SDK makes the answer (about 0.23 ms after the tool returns), which leaves "
        "only once the record is on disk: the ratio moved by -0.055 to +0.01 in four such "
        "runs. With other calls in flight the record is awaited in line: they keep the "
        "loop busy meanwhile anyway, and deferring it under 16 clients cost 2-3 % of the "
        "calls per second (its own task on every call). On SQLite "
        "that record is a transaction on a thread of its own, and run beside the SDK's "
        "work it made the write slower (+0.04 and +0.08 in two runs), so there it is "
        "awaited as before. Under 16 clients the cyclic collector, at Python's default "
        "threshold, ran 127 young collections per 1,000 calls and took 78 µs of each "
        "call's CPU; `serve` "
        "now spaces them 10,000 allocations apart (2 per 1,000 calls, 8 µs). How far "
        "single runs move: two identical gateways, side by side in alternating bursts, "
        "differed by up to 4 % in calls per second, about the distance between this "
        "figure and its target.",
        "",
        "Two changes to the stack, not to governance, measured on 2026-12-07 on a third "
        "machine of the same kind and not kept (16 clients, the servers in alternating "
        "3-second bursts, 14-16 rounds, medians of the rounds' paired ratios; a record of "
        'that day). uvloop as the event loop (the issue names "a faster event loop"): '
        "the gateway made 1-2 % more calls per second on 4-6 % less CPU per call, but the "
        "bare server, given it too (it runs `serve`'s uvicorn options, as it does the C HTTP "
        "parser), gained 8 % on 14 % less CPU, so in the same run the ratio with both on "
        "uvloop was 0.669 against 0.709 with neither. And the MCP SDK's check of "
        "`Mcp-Param-*` headers, which walks the called tool's input schema twice on every "
        "call, is a no-op for tools that declare no `x-mcp-header` (none of ours does): "
        "skipping it saved 3.5 % of the gateway's CPU per call, and would save the bare "
        "server, which hands the SDK the same schemas, as much; it needs a private method of "
        "`MCPServer` overridden. On that machine the same load swung from round to round "
        "between 4.3 and 7.3 ms of the gateway's CPU per call, and the ratio between runs "
        "from 0.63 to 0.71.",
        "",
        "Measured again that evening on a fourth machine of the same kind (16 clients, "
        "alternating bursts; a record of that day). The gateway's process spent 4.92 ms of "
        "user and 0.58 ms of system CPU per call against the bare server's 2.83 and 0.39 "
        "ms: the difference is Python, not the kernel. Counted by `strace -c` over a burst "
        "it made 78 system calls per call against 54, and each is cheap there (8 random "
        "bytes 0.8 µs, an epoll registration and its removal 2.8 µs). Serving `/mcp` from "
        "the request-id middleware straight to the endpoint, around Litestar's router and "
        "exception middleware, gave nothing: 4.85 against 4.71 ms of CPU per call and 178 "
        "against 183 calls/s in the same run, so it was not kept. On that machine the same "
        "code made 0.60, 0.66, 0.69 and 0.71 of the bare server's calls per second in four "
        "runs before the one reported here.",
        "",
        "On 2026-12-07, later, on a fifth machine of the same kind: the bench's own clients "
        "had cost more CPU per call on whichever server's sessions were opened second (the "
        "gateway's). Opened one after another in one task, each session's task group "
        "nested in those before it, and the SDK's tasks walked the whole chain of cancel "
        "scopes at every checkpoint: 208 scopes per call for the gateway's sessions against "
        "77 for the bare server's, and 77 against 208 with the order swapped (`cProfile` in "
        "the bench's process). Each session is now held by a task of its own, 4 scopes per "
        "call for both, and the clients' CPU per call fell by about a third for both "
        "servers. It did not help the ratio: with less of the machine going to the "
        "clients, the calls per second follow the servers' own CPU per call more closely, "
        "and three runs then gave 0.64, 0.66 and 0.63 (the gateway's process 3.05-3.49 ms "
        "per call against 1.73-1.98 ms, PostgreSQL 0.27-0.50 ms against 0.05-0.08 ms).",
        "",
        "The baseline is also the cheapest Tasker there is: the sandbox, in the same "
        "PostgreSQL. A real Tasker or Plane answers a write over the network in several "
        "milliseconds, so the same absolute overhead is a much smaller ratio in "
        "production.",
        "",
    ]


def _against_one_insert(run: Run) -> str:
    """Issue 15's latency ratios on both databases, the one-INSERT server's among them."""
    assert run.call is not None
    on = {db: latency_ratios(lat) for db, lat in run.call.latencies.items()}

    def said(db: str, name: str) -> str:
        value, target = on[db][name]
        return f"{value:.2f}× (target ≤ {target:g}×: {'met' if value <= target else 'missed'})"

    one = run.call.latencies["PostgreSQL"].one_insert
    return (
        "The one-INSERT server is the floor of a write through this stack: the same SDK, "
        "transport and engine, one transaction of one statement (on PostgreSQL `BEGIN`, "
        f"the INSERT and `COMMIT`), {fmt_ms(one.p50_s)} at the median on PostgreSQL; the "
        f"governed write's p50 is {said('PostgreSQL', 'one insert')} its p50. With every "
        "server on its own SQLite file, the governed write's p50 is "
        f"{said('SQLite', 'write')} the bare write's and {said('SQLite', 'one insert')} "
        f"the one INSERT's, and the governed read's {said('SQLite', 'read')} the bare "
        "read's. On SQLite no statement crosses a socket and a commit in WAL mode with "
        "`synchronous=NORMAL` waits for no flush; through aiosqlite each statement is "
        "instead two or three hand-overs to the connection's own thread and back (about "
        "0.45 ms a statement with SQLAlchemy's layers, measured in process), and those "
        "were most of the gateway's time there. So the admission and the closing record "
        "each run as one write transaction in one hand-over to a thread of their own "
        "(`direct.write_transaction`); the sandbox Tasker, shared with the bare server, "
        "still goes through aiosqlite statement by statement, which is why the one "
        "INSERT, three hand-overs in all, stays far below both."
    )


def _grants(run: Run) -> list[str]:
    assert run.grants is not None
    sizes = run.grants.sizes
    first, last = sizes[0], sizes[-1]
    return [
        "### Grant evaluation",
        "",
        f"A decision costs the same at {last.grants:,} grants as at {first.grants:,} "
        f"({fmt_us(last.ours_s)} against {fmt_us(first.ours_s)}): `GrantIndex` keys the "
        "agent's merged grants by (workspace, project), so a decision is two dictionary "
        "lookups and a set difference. Cedar evaluates every policy of the set, so its time "
        f"grows with the grants ({ratio(last.cedar_s, first.cedar_s):.0f}× from "
        f"{first.grants:,} to {last.grants:,}); each call also crosses into Rust and back "
        "as JSON (requests and context in, decisions and diagnostics out). Building the "
        "index is "
        f"linear ({fmt_ms(last.index_build_s)} for {last.grants:,} grants): it happens once "
        "per authenticated request, which is nothing for the handful of grants an agent "
        "normally holds; agents with thousands of grants would want it cached by grant "
        "versions.",
        "",
    ]


def _scale(run: Run) -> list[str]:
    assert run.scale is not None
    s = run.scale
    p50 = ratio(s.loaded.p50_s, s.empty.p50_s)
    verdict = "met" if p50 <= SCALE_TARGET else "missed"
    return [
        "### Scale",
        "",
        f"{s.load.events:,} audit events and {s.load.tokens:,} tokens change the governed "
        f"call's median by {p50:.2f}× (target ≤ {SCALE_TARGET}×: {verdict}). Every statement of "
        "the call reaches rows by a unique index or a primary key (the token by its hash, "
        "the chain head by its id, the event by (chain, seq), the idempotency key by "
        "(scope, key), the rate-limit bucket by its key): B-tree depth grows with the "
        "logarithm of the table, and nothing scans.",
        "",
    ]


#: The code before the lazy imports (commit 3b8032a) against after them (ce44063), both
#: started alternately in one run on this machine (load average 3-6), medians of 6-8
#: starts, the range over two such runs: what the changes bought, whatever the load.
def _startup(run: Run) -> list[str]:
    assert run.startup is not None
    s = run.startup
    verdicts = {
        name: "met" if met else "missed"
        for name, met in (
            ("ready", s.ready_met),
            ("rss", s.rss_met),
            ("initialize", s.initialize_met),
        )
    }
    return [
        "### Start-up",
        "",
        f"The stdio connector answers `initialize` {fmt_ms(s.stdio.p50_s)} after it starts "
        f"(target ≤ {INITIALIZE_TARGET_S * 1e3:g} ms: {verdicts['initialize']}), "
        f"{ratio(s.stdio.p50_s, s.floor.p50_s):.1f}× the start of a Python that does "
        "nothing: it answers the handshake itself, having imported, besides the standard "
        "library, only `click`, `attrs`, the connector and `SecretStr` (the domain package "
        "imports its other rules only when asked for them), and imports the MCP SDK "
        "afterwards (a test checks what is imported when the answer leaves).",
        "",
        f"`serve` is ready in {fmt_ms(s.serve.p50_s)} (target ≤ {SERVE_READY_TARGET_S:g} s: "
        f"{verdicts['ready']}), {ratio(s.serve.p50_s, s.bare.p50_s):.2f}× the bare server, "
        f"holding {fmt_mb(s.serve.rss_p50)} (target ≤ {fmt_mb(RSS_TARGET_BYTES)}: "
        f"{verdicts['rss']}; the bare server {fmt_mb(s.bare.rss_p50)}). Both are almost "
        "all imports: the MCP SDK alone (its protocol types as pydantic models, two protocol "
        "versions) takes about 55 MB and the largest share of the time, SQLAlchemy with its ORM "
        "about 18 MB, and the bare server pays both. The gateway adds Litestar, structlog, "
        "dependency-injector, its own modules and the registration of its routes. It loads "
        "neither rich (which structlog and the MCP SDK's server import for console output the "
        "gateway never makes) nor Werkzeug (which dependency-injector imports for Flask), "
        "`entrypoints.libraries` hiding them while those are imported (on 2026-12-07, two "
        "startup runs on one machine, before and after: 118 MB then 113 MB at ready; the bare "
        "server, which imports the gateway's MCP module, 109 then 106 MB). Nor does it "
        "load psycopg on SQLite, Alembic when the database is already current (the revision"
        " is read directly), PostgreSQL's SQLAlchemy dialect on SQLite, the adapters of backends it"
        " is not configured for, nor Jinja before the console renders its first page "
        "(`console.web.LazyJinja`; on 2026-12-07, 120 MB and then 118 MB at ready, in two startup "
        "runs on one machine). (When that landed, on 2026-12-05, the code before and after started "
        "in turns in one run: resident memory went from 143 MB to 124 MB, the time to ready to "
        "0.74-0.96× and the connector's answer to 0.35-0.67× of what they were; a record of that "
        "day, not measured by this run.) It also starts with the cyclic collector's full "
        "collections held back, freezing what start-up made before it listens "
        "(`cli._sparing_the_collector`): left alone, the collector walked every object start-up had"
        " made so far in each full collection. (On 2026-12-07, before and after in one startup run "
        "on a quiet machine: 1476 ms and 1394 ms, 1.28× and 1.21× the bare server, the same 120 MB;"
        " with the collector off altogether it was about 0.1 s faster still, but kept about 2 MB of"
        " start-up's garbage for good. A record of that day, not measured by this run.)"
        + _bare_start(s),
        "",
        "These are measured in the development environment, which also holds test tools "
        "the production image has none of. Start-up times are absolute and so move with the "
        "machine's load far more than the ratios: on this shared two-core VM a bare "
        "`python -c pass` itself varies by several times from run to run.",
        "",
    ]


def _bare_start(s: StartupResult) -> str:
    """Why the start-up target may be out of reach: said only when it is, in this run."""
    if s.bare.p50_s <= SERVE_READY_TARGET_S:
        return ""
    return (
        f" The bare server itself takes more than the {SERVE_READY_TARGET_S:g} s target in this "
        "run: importing the MCP SDK (with its client, which its package imports) takes most of "
        "that, and the gateway cannot start faster than the SDK it serves."
    )


def _http(run: Run) -> list[str]:
    assert run.http is not None
    http = run.http
    gateway, direct = http.gateway, http.bare
    extra_requests = gateway.upstream.requests_per_call - direct.upstream.requests_per_call
    policy = gateway.upstream.request_s.get("workspace_policy")
    policy_note = (
        f"the upstream answers that read in {fmt_ms(policy)} (median, its own time; the "
        "loopback exchange on top); the rest is the gateway's own work: "
        if policy is not None
        else "the gateway's own work: "
    )
    return [
        "### The production shape: the HTTP Tasker",
        "",
        f"On its HTTP Tasker backend the governed `create_issue` takes "
        f"{fmt_ms(gateway.latency.p50_s)} at the median against "
        f"{fmt_ms(direct.latency.p50_s)} for a direct MCP call making the same create "
        f"request: {http.p50_ratio:.2f}× (target ≤ {HTTP_P50_TARGET:g}×: "
        f"{'met' if http_met(http) else 'missed'}); the gateway adds "
        f"{fmt_ms(http.added_s)}. It makes {extra_requests:g} upstream "
        f"request{'' if extra_requests == 1 else 's'} more per call (the workspace's "
        "policy, read on every call so that switching agents off in Tasker bites at "
        f"once); {policy_note}authentication, the rate limit and the "
        "idempotency claim in one database statement, the audit event with the stored "
        "response in one transaction (part 2 counts them), and its own HTTP and MCP "
        f"layers. Its process burns {fmt_ms(gateway.cpu_per_call_s)} of CPU per call "
        f"against the direct server's {fmt_ms(direct.cpu_per_call_s)}.",
        "",
        f"The upstream here is the cheapest there is ({fmt_ms(direct.upstream.per_call_s)} "
        "of its own time per create, in memory, over loopback), so the gateway's fixed "
        "cost weighs as much as it ever will: against a real Tasker, whose write goes "
        "to its database (and whose policy read is a real read too), the same "
        "absolute overhead is a smaller ratio.",
        "",
    ]
