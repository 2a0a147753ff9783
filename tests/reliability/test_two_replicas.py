"""Two gateway processes on one PostgreSQL, as two replicas behind a load balancer: what
one replica knows, the other knows, because all of it lives in the database.

- One idempotency key sent to both at once gives one card; afterwards both replay it.
- The rate-limit budget is the agent's, not the replica's: calls spread over both are
  admitted as a single GCRA would admit them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from nodedc_gateway.domain.canonical import parse_timestamp, to_microseconds
from tests.reliability.figures import Figure
from tests.reliability.load import MCP_HEADERS, outcome
from tests.reliability.test_load import audit_events, gcra_admitted
from tests.support.databases import create_postgres_database
from tests.support.processes import demo, gateway_environment, serving

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

PER_MINUTE, BURST = 60, 5  # reads: a burst of 5, then one a second


def tool_call(name: str, arguments: dict[str, Any]) -> bytes:
    call = {"name": name, "arguments": arguments}
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}).encode()


async def call(
    client: httpx.AsyncClient, url: str, token: str, name: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(
        f"{url}/mcp",
        content=tool_call(name, arguments),
        headers={**MCP_HEADERS, "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def cards_named(database: str, name: str) -> int:
    with psycopg.connect(database.replace("+psycopg", "")) as connection:
        row = connection.execute(
            "SELECT count(*) FROM sandbox_issues WHERE name = %s", [name]
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_two_replicas_share_idempotency_and_rate_limits(
    tmp_path: Path, figures: Figure
) -> None:
    database = create_postgres_database()
    env = gateway_environment(
        tmp_path, database, read_limit_per_minute=str(PER_MINUTE), read_burst=str(BURST)
    )
    info = await asyncio.to_thread(demo, env, tmp_path)  # migrates and seeds, once
    token, owner, agent_id = info["agent_token"], info["owner_user_id"], info["agent_id"]
    with serving(env, tmp_path, "replica-a") as a, serving(env, tmp_path, "replica-b") as b:
        async with httpx.AsyncClient(timeout=60) as client:
            # One key, ten tries at once, alternating between the replicas.
            args = {
                "workspace_slug": "demo",
                "project_id": "DEMO",
                "name": "Exactly once",
                "idempotency_key": "two-replicas-1",
            }
            raced = await asyncio.gather(
                *(call(client, (a, b)[n % 2].url, token, "create_issue", args) for n in range(10))
            )
            settled = [await call(client, r.url, token, "create_issue", args) for r in (a, b)]

            # Reads spread over both replicas: 40 at once, then one every 0.2 s for 4 s
            # (pacing the load, not timing the test).
            reads = await asyncio.gather(
                *(call(client, (a, b)[n % 2].url, token, "whoami", {}) for n in range(40))
            )
            for n in range(20):
                reads.append(await call(client, (a, b)[n % 2].url, token, "whoami", {}))
                await asyncio.sleep(0.2)
            trail = await audit_events(a.url, owner, agent_id)
        logs = a.output() + b.output()

    assert cards_named(database, "Exactly once") == 1
    created = {r["structuredContent"]["issue"]["id"] for r in raced if not r.get("isError")}
    assert len(created) == 1, (raced, settled)  # every success is that one card
    in_flight = [r for r in raced if r.get("isError")]
    assert all(
        r["structuredContent"]["error"]["code"] == "idempotency_in_flight" for r in in_flight
    )
    assert [r["structuredContent"]["replayed"] for r in settled] == [True, True]
    assert {r["structuredContent"]["issue"]["id"] for r in settled} == created

    outcomes = [_outcome(r) for r in reads]
    assert set(outcomes) <= {"ok", "rate_limited"}
    admitted = outcomes.count("ok")
    instants = [to_microseconds(parse_timestamp(e["created_at"])) for e in trail]
    budget = gcra_admitted(instants, PER_MINUTE, BURST)
    figures(
        f"two replicas: {len(in_flight)} of 10 raced calls in flight, {len(created)} card made; "
        f"{admitted} of {len(reads)} reads admitted, GCRA budget {budget}"
    )
    assert admitted == budget
    assert admitted < len(reads)  # the shared budget ran out: two replicas did not double it
    assert "Traceback" not in logs


def _outcome(result: dict[str, Any]) -> str:
    response = httpx.Response(200, json={"result": result})
    return outcome(response)
