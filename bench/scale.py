"""Part 3: the governed call on a database holding 10⁶ audit events and 10⁵ tokens,
against the same call on an empty one.

Both databases get the same demo sandbox and benchmark agents; the loaded one also gets,
straight from `generate_series` (no round trip per row), 10⁴ other agents holding the
10⁵ tokens (one in five revoked) and 10⁶ audit events spread over their chains (with
their chain heads), then `VACUUM ANALYZE` as autovacuum would eventually do. The loaded
hashes are random stand-ins: nothing verifies those chains here. The two gateways take
turns round after round, as in part 2.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import attrs
import psycopg
from psycopg import sql

from bench import load, postgres, servers, setup
from bench.governed_call import Latency, Sizes, measure_latency

_AGENTS = """
INSERT INTO agents (id, owner_user_id, owner_email, display_name, avatar_url, status,
                    created_at, updated_at)
SELECT md5('agent' || a)::uuid::text, 'owner-' || (a %% 1000),
       'owner' || (a %% 1000) || '@load.local', 'Load agent ' || a, NULL, 'active',
       now() - interval '90 days', now() - interval '90 days'
FROM generate_series(1, %(agents)s) AS a
"""
_TOKENS = """
INSERT INTO agent_tokens (id, agent_id, name, token_hash, status, expires_at, last_used_at,
                          created_at)
SELECT md5('token' || t)::uuid::text, md5('agent' || (1 + t %% %(agents)s))::uuid::text,
       'load ' || t, encode(sha256(('token' || t)::bytea), 'hex'),
       CASE WHEN t %% 5 = 0 THEN 'revoked' ELSE 'active' END,
       now() + interval '60 days', now() - interval '1 day', now() - interval '30 days'
FROM generate_series(1, %(tokens)s) AS t
"""
_EVENTS = """
INSERT INTO audit_events (id, chain_id, seq, agent_id, owner_user_id, actor_user_id,
                          event_type, operation, decision, reason, target, grant_versions,
                          metadata, created_at, prev_hash, hash)
SELECT md5('event' || a || ':' || s)::uuid::text, md5('agent' || a)::uuid::text, s,
       md5('agent' || a)::uuid::text, 'owner-' || (a %% 1000), NULL, 'tool_call',
       (ARRAY['create_issue', 'get_issue', 'search_issues', 'add_comment'])[1 + s %% 4],
       CASE WHEN s %% 10 = 0 THEN 'deny' ELSE 'allow' END,
       CASE WHEN s %% 10 = 0 THEN 'scope_missing' END,
       json_build_object('workspace_slug', 'load', 'project_id', md5('project' || a)::uuid::text),
       json_build_array(json_build_object('grant_id', md5('grant' || a)::uuid::text,
                                          'version', 1)),
       '{}'::json, now() - (%(per_agent)s - s) * interval '1 minute',
       encode(sha256(('event' || a || ':' || (s - 1))::bytea), 'hex'),
       encode(sha256(('event' || a || ':' || s)::bytea), 'hex')
FROM generate_series(1, %(agents)s) AS a, generate_series(1, %(per_agent)s) AS s
"""
_HEADS = """
INSERT INTO audit_chain_heads (chain_id, seq, last_hash)
SELECT md5('agent' || a)::uuid::text, %(per_agent)s,
       encode(sha256(('event' || a || ':' || %(per_agent)s)::bytea), 'hex')
FROM generate_series(1, %(agents)s) AS a
"""


@attrs.frozen
class Load:
    agents: int
    tokens: int
    events: int

    @property
    def per_agent(self) -> int:
        return self.events // self.agents


@attrs.frozen
class ScaleResult:
    load: Load
    load_seconds: float
    empty: Latency
    loaded: Latency
    rows: dict[str, int]  # what the loaded database holds, counted after loading


def fill(database_url: str, amount: Load) -> dict[str, int]:
    """Bulk rows, then statistics; returns the row counts of the loaded tables."""
    parameters = {
        "agents": amount.agents,
        "tokens": amount.tokens,
        "per_agent": amount.per_agent,
    }
    with psycopg.connect(postgres.dsn(database_url), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")  # a bulk load, not a governed write
        conn.execute("SET maintenance_work_mem = '256MB'")
        with conn.transaction():
            for statement in (_AGENTS, _TOKENS, _HEADS):
                conn.execute(statement, parameters)
            with _indexes_rebuilt_after(conn, "audit_events"):
                conn.execute(_EVENTS, parameters)
        conn.execute("VACUUM ANALYZE")
        counts = {}
        for table in ("agents", "agent_tokens", "audit_events", "audit_chain_heads"):
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            assert row is not None
            counts[table] = int(row[0])
    return counts


@contextlib.contextmanager
def _indexes_rebuilt_after(conn: psycopg.Connection[Any], table: str) -> Iterator[None]:
    """Drop the table's unique constraints and indexes, run the block, and build them
    again exactly as they were (twice as fast as inserting into three B-trees)."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY conname",
        (table,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
        (table,),
    ).fetchall()
    owned = {name for name, _ in constraints}
    plain = [(name, ddl) for name, ddl in indexes if name not in owned]
    ident = sql.Identifier(table)
    for name, _ in constraints:
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(ident, sql.Identifier(name))
        )
    for name, _ in plain:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    yield
    for name, definition in constraints:
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(ident, sql.Identifier(name))
            + sql.SQL(definition)  # as PostgreSQL itself printed it
        )
    for _, ddl in plain:
        conn.execute(sql.SQL(ddl))
    rebuilt = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s ORDER BY indexname",
        (table,),
    ).fetchall()
    if rebuilt != indexes:
        raise RuntimeError(f"the indexes of {table} did not come back the same")


async def run(amount: Load, sizes: Sizes) -> ScaleResult:
    async with (
        postgres.scratch_database("empty") as empty_db,
        postgres.scratch_database("loaded") as loaded_db,
    ):
        empty_agents = await setup.seed_gateway(empty_db, 1)
        loaded_agents = await setup.seed_gateway(loaded_db, 1)
        t0 = time.perf_counter()
        rows = fill(loaded_db, amount)
        load_seconds = time.perf_counter() - t0
        with servers.gateway(empty_db) as empty, servers.gateway(loaded_db) as loaded:
            latency = await measure_latency(
                {
                    "empty": _target(empty.url, empty_agents),
                    "loaded": _target(loaded.url, loaded_agents),
                },
                sizes,
            )
    return ScaleResult(amount, load_seconds, latency["empty"], latency["loaded"], rows)


def _target(url: str, agents: setup.Agents) -> load.Target:
    return load.Target(url, agents.tokens[0], agents.workspace_slug, agents.project_id)
