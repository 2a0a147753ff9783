"""A bounded loopback load: many agents, each calling one MCP tool back to back for a
while, every outcome counted. Raw JSON-RPC over one pooled HTTP client (the SDK's client
per agent would cost the load generator more than the gateway)."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import attrs
import httpx

from tests.support.served import INTERNAL_TOKEN

MCP_HEADERS = {
    "Accept": "application/json, text/event-stream",
    "Content-Type": "application/json",
    "MCP-Protocol-Version": "2025-06-18",
}


@attrs.define
class AgentTally:
    agent_id: str
    token: str
    admitted: int = 0
    limited: int = 0
    other: Counter[str] = attrs.field(factory=Counter)
    first_sent: float | None = None
    last_answered: float | None = None


async def make_agents(
    url: str, owner: str, count: int, scopes: list[str] | None = None
) -> list[AgentTally]:
    """`count` agents of `owner`, each with a grant on demo/DEMO and a token."""
    headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    base = f"{url}/internal/v1/owners/{owner}/agents"
    limits = httpx.Limits(max_connections=20)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:

        async def one(n: int) -> AgentTally:
            body = {"display_name": f"Load agent {n}", "owner_email": "alice@demo.local"}
            agent = (await client.post(base, json=body)).json()
            grant = {
                "workspace_slug": "demo",
                "project_id": "DEMO",
                "scopes": scopes or ["project:read", "issue:read"],
            }
            created = await client.post(f"{base}/{agent['id']}/grants", json=grant)
            assert created.status_code == 201, created.text
            token = await client.post(f"{base}/{agent['id']}/tokens", json={"name": "load"})
            assert token.status_code == 201, token.text
            return AgentTally(agent["id"], token.json()["token"])

        return list(await asyncio.gather(*(one(n) for n in range(count))))


def outcome(response: httpx.Response) -> str:
    """`ok`, `rate_limited`, or what else happened (an HTTP status or an error code)."""
    if response.status_code != 200:
        return f"http {response.status_code}"
    result = json.loads(response.content).get("result", {})
    if not result.get("isError"):
        return "ok"
    error = (result.get("structuredContent") or {}).get("error", {})
    return str(error.get("code", "tool error"))


async def hammer(
    url: str,
    agents: list[AgentTally],
    tool: str,
    arguments: dict[str, Any],
    seconds: float,
    in_flight: int = 1,
) -> None:
    """Every agent calls `tool` back to back (`in_flight` calls at a time) until
    `seconds` have passed since the start; tallies land on the agents."""
    limits = httpx.Limits(max_connections=len(agents) * in_flight, max_keepalive_connections=None)
    call = {"name": tool, "arguments": arguments}
    payload = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call})
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        deadline = time.monotonic() + seconds

        async def worker(agent: AgentTally) -> None:
            headers = {**MCP_HEADERS, "Authorization": f"Bearer {agent.token}"}
            while time.monotonic() < deadline:
                sent = time.monotonic()
                if agent.first_sent is None:
                    agent.first_sent = sent
                try:
                    response = await client.post("/mcp", content=payload, headers=headers)
                    seen = outcome(response)
                except httpx.HTTPError as error:
                    seen = type(error).__name__
                agent.last_answered = time.monotonic()
                if seen == "ok":
                    agent.admitted += 1
                elif seen == "rate_limited":
                    agent.limited += 1
                else:
                    agent.other[seen] += 1

        await asyncio.gather(*(worker(agent) for agent in agents for _ in range(in_flight)))
