"""Counting database round trips exactly, from libpq's own protocol trace.

Every connection an engine opens is traced (`PQtrace`) to a file of its own. A round
trip is one exchange that ends with the server's `ReadyForQuery`: a simple `Query`
(BEGIN, COMMIT, the pool's pre-ping `SELECT 1`) or an extended-protocol
Parse/Bind/Describe/Execute/Sync. Statements are attributed to a step by the tables they
touch, and BEGIN/COMMIT/ROLLBACK and pings to the transaction they open or close, so the
report says which step of a governed call costs which round trips.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs
from psycopg import pq
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

#: The step of the sandbox Tasker's own statements (the rest are the gateway's).
SANDBOX_STEP = "Tasker (sandbox)"
#: The step a statement belongs to, by verb and table (first match wins).
_STEPS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE | re.DOTALL), step)
    for pattern, step in (
        (r"^\s*UPDATE\s+agent_tokens\b", "token last_used_at"),
        (r"\bagent_tokens\b.*\brate_limits\b", "admit (caller, budget, claim)"),
        (r"\b(agent_tokens|agents|grants)\b", "authenticate"),
        (r"\brate_limits\b", "rate limit"),
        (r"\baudit_(events|chain_heads)\b", "audit"),
        (r"\bidempotency_keys\b", "idempotency"),
        (r"\bsandbox_\w+", SANDBOX_STEP),
    )
)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_MESSAGE_START = re.compile(r"^[FB]\t\d+\t")
#: What SQLAlchemy's pool pre-ping sends (`;` on PostgreSQL with psycopg).
PINGS = frozenset({";", "SELECT 1"})


def step_of(sql: str) -> str:
    for pattern, step in _STEPS:
        if pattern.search(sql):
            return step
    return "other"


@attrs.frozen
class RoundTrip:
    kind: str  # ping | begin | commit | rollback | statement
    sql: str = ""


@attrs.define
class Transaction:
    """Round trips that belong together: an optional ping, then BEGIN … COMMIT, or one
    autocommit statement."""

    trips: list[RoundTrip] = attrs.field(factory=list)
    open: bool = False  # BEGIN seen, not yet ended

    @property
    def statements(self) -> list[str]:
        return [t.sql for t in self.trips if t.kind == "statement"]

    @property
    def label(self) -> str:
        steps: dict[str, None] = {}
        for sql in self.statements:
            steps[step_of(sql)] = None
        return " + ".join(steps) or "(no statement)"


@attrs.frozen
class StepCount:
    label: str
    transactions: float
    statements: float
    round_trips: float


@attrs.frozen
class RoundTripReport:
    calls: int
    steps: tuple[StepCount, ...]

    @property
    def round_trips(self) -> float:
        return sum(step.round_trips for step in self.steps)

    @property
    def statements(self) -> float:
        return sum(step.statements for step in self.steps)

    @property
    def transactions(self) -> float:
        return sum(step.transactions for step in self.steps)


def parse_trace(lines: Iterable[str], names: dict[str, str]) -> list[RoundTrip]:
    """Round trips from one connection's trace lines. `names` maps prepared-statement
    names to their SQL and is updated from the Parse messages seen."""
    trips: list[RoundTrip] = []
    pending: list[str] = []  # SQL sent since the last ReadyForQuery
    for line in _messages(lines):
        parts = line.split("\t", 3)
        if len(parts) < 3:
            continue
        direction, message = parts[0], parts[2]
        payload = parts[3] if len(parts) > 3 else ""
        if direction == "F" and message == "Query":
            quoted = _QUOTED.findall(payload)
            pending.append(quoted[0] if quoted else payload)
        elif direction == "F" and message == "Parse":
            name, sql = [*_QUOTED.findall(payload), "", ""][:2]
            if name:
                names[name] = sql
            pending.append(sql)
        elif direction == "F" and message == "Bind":
            quoted = _QUOTED.findall(payload)
            statement = quoted[1] if len(quoted) > 1 else ""
            if statement and not any(p for p in pending):  # a prepared statement, reused
                pending.append(names.get(statement, statement))
        elif direction == "B" and message == "ReadyForQuery":
            trips.append(_classify(next((p for p in pending if p), "")))
            pending = []
    return trips


def _messages(lines: Iterable[str]) -> Iterable[str]:
    """Whole messages: SQL text spans lines, a message starts with its direction."""
    message: str | None = None
    for line in lines:
        if _MESSAGE_START.match(line):
            if message is not None:
                yield message
            message = line
        elif message is not None:
            message += "\n" + line
    if message is not None:
        yield message


def _classify(sql: str) -> RoundTrip:
    word = sql.strip().split(None, 1)[0].upper() if sql.strip() else ""
    if sql.strip().upper() in PINGS:
        return RoundTrip("ping", sql)
    if word in ("BEGIN", "COMMIT", "ROLLBACK"):
        return RoundTrip(word.lower(), sql)
    return RoundTrip("statement", sql)


def transactions(trips: Iterable[RoundTrip]) -> list[Transaction]:
    grouped: list[Transaction] = []
    current: Transaction | None = None
    for trip in trips:
        if trip.kind == "ping" or current is None or (trip.kind == "begin" and current.open):
            current = Transaction()
            grouped.append(current)
        current.trips.append(trip)
        if trip.kind == "begin":
            current.open = True
        elif trip.kind in ("commit", "rollback") or (trip.kind == "statement" and not current.open):
            current.open = False
            current = None
    return grouped


class RoundTripTracer:
    """Traces every connection `engine` opens from now on; `start()` and `stop()` bound
    the window whose round trips `report()` counts."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="nodedc_bench_trace_"))
        self._connections: list[tuple[Any, Path, int, int]] = []  # pgconn, file, fd, start
        self._tracing = True
        event.listen(engine.sync_engine, "connect", self._on_connect)

    def _on_connect(self, dbapi_connection: Any, _record: Any) -> None:
        pgconn = dbapi_connection.driver_connection.pgconn
        path = self._dir / f"connection-{len(self._connections)}.trace"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        pgconn.trace(fd)
        pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        self._connections.append((pgconn, path, fd, 0))

    def _flush(self) -> None:
        """Write out what libpq buffered (untrace flushes), then trace on."""
        for pgconn, _, fd, _ in self._connections:
            if pgconn.status == pq.ConnStatus.OK:
                pgconn.untrace()
                pgconn.trace(fd)
                pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)

    def start(self) -> None:
        self._flush()
        self._connections = [
            (pgconn, path, fd, path.stat().st_size) for pgconn, path, fd, _ in self._connections
        ]

    def report(self, calls: int) -> RoundTripReport:
        """Per call: the transactions, statements and round trips of each step since
        `start()`."""
        self._flush()
        counts: Counter[tuple[str, str]] = Counter()
        for _, path, _, start in self._connections:
            data = path.read_bytes()
            names: dict[str, str] = {}
            before, window = data[:start], data[start:]
            parse_trace(before.decode(errors="replace").splitlines(), names)  # prepared SQL
            trips = parse_trace(window.decode(errors="replace").splitlines(), names)
            for tx in transactions(trips):
                counts[(tx.label, "transactions")] += 1
                counts[(tx.label, "statements")] += len(tx.statements)
                counts[(tx.label, "round_trips")] += len(tx.trips)
        labels = dict.fromkeys(label for label, _ in counts)
        return RoundTripReport(
            calls,
            tuple(
                StepCount(
                    label,
                    counts[(label, "transactions")] / calls,
                    counts[(label, "statements")] / calls,
                    counts[(label, "round_trips")] / calls,
                )
                for label in labels
            ),
        )

    def close(self) -> None:
        for pgconn, _, fd, _ in self._connections:
            if pgconn.status == pq.ConnStatus.OK:
                pgconn.untrace()
            os.close(fd)
        self._connections = []
        shutil.rmtree(self._dir, ignore_errors=True)
