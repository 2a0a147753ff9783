"""Issue 15's first acceptance, held by a test: a governed call costs the gateway two
database transactions, writes and reads alike — one to admit it (the caller read, its
budget spent, its idempotency key claimed) and one to record it (the audit event, the
stored response) — plus the sandbox Tasker's own work, on SQLite and PostgreSQL. The
sandbox being in the same database, the workspace's policy is read with the admission,
not asked of the sandbox in a transaction of its own.
`make bench` counts the same on PostgreSQL from the server's own statistics."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nodedc_gateway.entrypoints.bootstrap import resolve
from tests.contracts.persistence_backends import backend_params
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url
from tests.support.mcp import http_client, structured
from tests.support.served import ServedGateway, gateway_settings, served_gateway
from tests.support.transactions import SANDBOX_TABLE, TransactionLog

CALLS = 5
_AUDIT = re.compile(r"\baudit_(events|chain_heads)\b")


@pytest.fixture(params=backend_params(("sqlite", "postgres")))
async def served(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[ServedGateway, TransactionLog]]:
    if request.param == "sqlite":
        url = await migrated_sqlite_url(tmp_path)
    else:
        url = await migrated_postgres_url()
    async with served_gateway(gateway_settings(database_url=url)) as gateway:
        engine = (await resolve(gateway.container.persistence.uow)).engine
        log = TransactionLog(engine)
        try:
            yield gateway, log
        finally:
            log.close()


async def test_a_governed_call_is_two_gateway_transactions(
    served: tuple[ServedGateway, TransactionLog],
) -> None:
    gateway, log = served
    agent = await gateway.create_agent()
    await gateway.grant(agent["id"])
    token = await gateway.token(agent["id"])
    demo = {"workspace_slug": "demo", "project_id": "DEMO"}
    counted: dict[str, tuple[int, int]] = {}
    async with http_client(gateway.url, token) as client:
        first = structured(await client.call_tool("create_issue", {**demo, "name": "Warm"}))
        issue = {"workspace_slug": "demo", "issue": first["issue"]["id"]}
        await client.call_tool("get_issue", issue)
        calls = {
            "keyed write": lambda n: ("create_issue", {**demo, "name": "K", "idempotency_key": n}),
            "write": lambda n: ("create_issue", {**demo, "name": "U"}),
            "read": lambda n: ("get_issue", issue),
        }
        for label, call in calls.items():
            log.clear()
            for n in range(CALLS):
                name, arguments = call(f"key-{n}")
                result = await client.call_tool(name, arguments)
                assert not result.is_error, result
            counted[label] = (len(log.gateways()), len(log.taskers()))
            asked = [tx for tx in log.taskers() if _asks_policy_alone(tx)]
            assert asked == [], (label, asked)  # the admission read it

    for label, (gateways, _taskers) in counted.items():
        assert gateways == 2 * CALLS, (label, log.gateways())


def _asks_policy_alone(transaction: list[str]) -> bool:
    """A transaction of the sandbox's that reads nothing but workspaces: the policy asked
    for in a round trip of its own (what the admission reads beside the caller instead)."""
    return all(set(SANDBOX_TABLE.findall(s)) == {"sandbox_workspaces"} for s in transaction)


async def test_the_chains_head_is_held_for_the_events_insert_alone(
    served: tuple[ServedGateway, TransactionLog],
) -> None:
    """The audit event is a call's last write: from the moment its chain's head is locked
    (PostgreSQL: the row; SQLite: the first audit statement) until the commit, the
    transaction writes nothing else, so one agent's concurrent calls queue on the head
    for no longer than its insert."""
    gateway, log = served
    agent = await gateway.create_agent()
    await gateway.grant(agent["id"])
    token = await gateway.token(agent["id"])
    demo = {"workspace_slug": "demo", "project_id": "DEMO"}
    async with http_client(gateway.url, token) as client:
        for n in range(3):
            arguments = {**demo, "name": "K", "idempotency_key": f"key-{n}"}
            assert not (await client.call_tool("create_issue", arguments)).is_error
        # A refusal (no such project) and a replay end the same way.
        await client.call_tool("create_issue", {**demo, "project_id": "NOPE", "name": "x"})
        await client.call_tool("create_issue", {**demo, "name": "K", "idempotency_key": "key-0"})
    audited = [tx for tx in log.gateways() if any(_AUDIT.search(s) for s in tx)]
    assert len(audited) >= 5
    for tx in audited:
        first = next(i for i, s in enumerate(tx) if _AUDIT.search(s))
        assert all(_AUDIT.search(s) for s in tx[first:]), tx
