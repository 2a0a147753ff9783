"""Faults around a served gateway on PostgreSQL, seen as an agent sees them (MCP over HTTP)
and as Tasker and Launcher see them (the internal API):

- Tasker (the Plane adapter against the fault-injecting Plane stand-in) failing, slow,
  dropping connections or answering too late;
- a PostgreSQL connection killed in the middle of a request;
- Launcher down.

Every time: the contract's error, no duplicate card when the agent retries with its
idempotency key, every call in its agent's audit chain and every chain intact. These
are quick (the stand-ins run in process, backoff sleeps on a fake clock), so they run
in `make test`."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import attrs
import httpx
import psycopg
import pytest
from dependency_injector import providers
from sqlalchemy import event

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.http_resilience import Timing
from nodedc_gateway.adapters.launcher.http import HttpLauncher
from nodedc_gateway.adapters.persistence.sql import direct
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, seed_demo
from nodedc_gateway.application.audit_verification import verify_audit_chains
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.bootstrap import Gateway, build_container, resolve
from nodedc_gateway.entrypoints.http.app import create_app
from tests.support import fake_launcher, stand_in
from tests.support.databases import engine_dsn, migrated_postgres_url
from tests.support.fake_plane import API_KEY, FakePlane, PlaneSandbox
from tests.support.mcp import http_client
from tests.support.served import INTERNAL_TOKEN, gateway_settings, serve

pytestmark = pytest.mark.postgres


@attrs.define
class Rig:
    url: str
    container: Gateway
    plane: FakePlane
    tasker: stand_in.StandInTransport
    launcher: fake_launcher.FakeLauncher
    time: stand_in.FakeTime
    clock: FixedClock
    demo: DemoTasker
    admin: httpx.AsyncClient  # the internal API, as Tasker calls it

    @property
    def owner(self) -> str:
        return self.demo.alice.id

    async def agent_token(self) -> tuple[str, str]:
        base = f"/internal/v1/owners/{self.owner}/agents"
        agent = await self.admin.post(
            base, json={"display_name": "Agent", "owner_email": "alice@demo.local"}
        )
        assert agent.status_code == 201, agent.text
        agent_id = agent.json()["id"]
        scopes = ["project:read", "issue:read", "issue:create", "issue:label"]
        grant = await self.admin.post(
            f"{base}/{agent_id}/grants",
            json={"workspace_slug": "demo", "project_id": "DEMO", "scopes": scopes},
        )
        assert grant.status_code == 201, grant.text
        token = await self.admin.post(f"{base}/{agent_id}/tokens", json={"name": "faults"})
        return agent_id, token.json()["token"]

    async def chains_intact(self) -> int:
        """Every audit chain verifies; returns how many events they hold."""
        uow = await resolve(self.container.persistence.uow)
        events = 0
        async for check in verify_audit_chains(uow, batch_size=7):
            assert check.ok, check
            events += check.events
        return events

    async def audit(self, agent_id: str) -> list[dict[str, Any]]:
        response = await self.admin.get(
            f"/internal/v1/owners/{self.owner}/agents/{agent_id}/audit", params={"limit": "100"}
        )
        return list(response.json()["items"])


@contextlib.asynccontextmanager
async def rig() -> AsyncIterator[Rig]:
    clock = FixedClock()
    time = stand_in.FakeTime()
    plane = FakePlane(clock)
    sandbox = PlaneSandbox(plane)
    demo = await seed_demo(sandbox)
    launcher = fake_launcher.FakeLauncher(entitled={demo.alice.id})
    tasker = stand_in.StandInTransport(plane.handle)
    timing = Timing(time.monotonic, time.sleep, time.random)
    settings = gateway_settings(await migrated_postgres_url())
    container = build_container(settings)
    container.core.clock.override(providers.Object(clock))
    async with (
        httpx.AsyncClient(transport=tasker) as plane_client,
        httpx.AsyncClient(transport=launcher.transport) as launcher_client,
    ):
        container.tasker.backend.override(
            providers.Object(
                PlaneTasker(
                    base_url="https://plane.test",
                    api_key=SecretStr(API_KEY),
                    workspaces=sandbox.workspace_policies,
                    client=plane_client,
                    timing=timing,
                )
            )
        )
        container.launcher.backend.override(
            providers.Object(
                HttpLauncher(
                    base_url=fake_launcher.URL,
                    token=SecretStr(fake_launcher.TOKEN),
                    client=launcher_client,
                    timing=timing,
                )
            )
        )
        async with (
            serve(create_app(container)) as url,
            httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}, timeout=30
            ) as admin,
        ):
            yield Rig(url, container, plane, tasker, launcher, time, clock, demo, admin)


def create_args(key: str, name: str = "Ship it") -> dict[str, Any]:
    return {
        "workspace_slug": "demo",
        "project_id": "DEMO",
        "name": name,
        "labels": ["bug"],
        "idempotency_key": key,
    }


def error_code(result: Any) -> str | None:
    if not result.is_error:
        return None
    return str((result.structured_content or {}).get("error", {}).get("code"))


async def test_a_failing_tasker_is_unavailable_then_refused_fast_then_back() -> None:
    async with rig() as r:
        agent_id, token = await r.agent_token()
        r.tasker.faults.always(stand_in.status(503))  # Plane answers nothing but 503
        async with http_client(r.url, token) as client:
            failed = [
                await client.call_tool("create_issue", create_args(f"k{n}")) for n in range(2)
            ]
            sent_while_failing = len(r.tasker.sent)
            refused = await client.call_tool("create_issue", create_args("k9"))
            sent_while_open = len(r.tasker.sent) - sent_while_failing
            r.tasker.faults.clear()
            r.time.advance(31)  # the breaker's open period passes: one trial goes through
            recovered = await client.call_tool("create_issue", create_args("k9"))

        assert [error_code(result) for result in failed] == ["tasker_unavailable"] * 2
        assert error_code(refused) == "tasker_unavailable"
        # Five failures in a row opened the breaker: the next call did not reach Plane.
        assert sent_while_open == 0
        assert error_code(recovered) is None
        assert len(r.plane.issues) == 1
        audited = await r.audit(agent_id)
        failures = [e for e in audited if e["operation"] == "create_issue"]
        assert len(failures) == 4  # every call audited, the failures included
        assert await r.chains_intact() > 0


async def test_lost_answers_never_make_a_second_card() -> None:
    async with rig() as r:
        _, token = await r.agent_token()
        async with http_client(r.url, token) as client:
            # Plane writes the card, then every answer is lost (connection dropped, then
            # read timeouts), the adapter's own retries included.
            r.tasker.faults.add(stand_in.DROP_AFTER, method="POST", times=2)
            r.tasker.faults.add(stand_in.TIMEOUT_AFTER, method="POST", times=1)
            lost = await client.call_tool("create_issue", create_args("ship-1"))
            again = await client.call_tool("create_issue", create_args("ship-1"))
            replay = await client.call_tool("create_issue", create_args("ship-1"))

        assert error_code(lost) == "tasker_unavailable"
        assert error_code(again) is None
        assert len(r.plane.issues) == 1
        [card] = r.plane.issues.values()
        assert again.structured_content["issue"]["id"] == card["id"]
        assert again.structured_content["replayed"] is False  # unavailable is never stored
        assert replay.structured_content["replayed"] is True
        assert await r.chains_intact() > 0


async def test_reads_through_a_flaky_tasker_are_retried_quietly() -> None:
    async with rig() as r:
        _, token = await r.agent_token()
        r.tasker.faults = stand_in.EveryNth(
            2, [stand_in.REFUSE, stand_in.DROP_AFTER, stand_in.status(502)]
        )
        async with http_client(r.url, token) as client:
            results = [  # a search always asks Plane (project details are cached)
                await client.call_tool(
                    "search_issues", {"workspace_slug": "demo", "project_id": "DEMO"}
                )
                for _ in range(5)
            ]

        assert [error_code(result) for result in results] == [None] * 5
        assert r.tasker.faults.injected  # the faults did happen
        assert await r.chains_intact() > 0


async def test_a_slow_tasker_is_waited_for_and_slows_only_its_own_calls() -> None:
    async with rig() as r:
        _, token = await r.agent_token()
        quick = r.plane.handle
        held: list[httpx.Request] = []
        all_held, release = asyncio.Event(), asyncio.Event()

        async def slow(request: httpx.Request) -> httpx.Response:
            if request.method == "POST":
                # A busy Tasker: each write is held until the test lets it go (no clock).
                held.append(request)
                if len(held) == 3:
                    all_held.set()
                await release.wait()
            return await quick(request)

        r.tasker._handler = slow
        async with http_client(r.url, token) as writer, http_client(r.url, token) as reader:
            creates = asyncio.gather(
                *(writer.call_tool("create_issue", create_args(f"slow-{n}")) for n in range(3))
            )
            await asyncio.wait_for(all_held.wait(), timeout=60)
            # Every write is still waiting for Tasker: the read is answered all the same
            # (had it queued behind them, it would never be, and this would time out).
            read = await asyncio.wait_for(reader.call_tool("whoami", {}), timeout=60)
            assert not release.is_set()
            release.set()
            created = await creates

        assert error_code(read) is None
        assert [error_code(result) for result in created] == [None] * 3
        assert len(r.plane.issues) == 3
        assert await r.chains_intact() > 0


async def test_launcher_down_holds_for_the_grace_period_then_fails_closed() -> None:
    async with rig() as r:
        agent_id, token = await r.agent_token()
        create = {"display_name": "Another", "owner_email": "alice@demo.local"}
        agents = f"/internal/v1/owners/{r.owner}/agents"
        r.launcher.switch_off()
        async with http_client(r.url, token) as client:
            r.clock.advance(minutes=3)  # the last answer is stale, but within the grace
            within_grace = await client.call_tool("whoami", {})
            created_within_grace = await r.admin.post(agents, json=create)
            r.clock.advance(minutes=3)  # past the 5 min grace: fail closed
            closed = await client.call_tool("whoami", {})
            refused = await r.admin.post(agents, json=create)
            r.launcher.switch_on()
            r.time.advance(31)  # and past the breaker's open period
            back = await client.call_tool("whoami", {})

        assert error_code(within_grace) is None
        assert created_within_grace.status_code == 201
        # Refused, as the evaluator decides once the grace is over (`launcher_unavailable`,
        # the unknown entitlement, rather than `owner_not_entitled`, a known "no").
        assert error_code(closed) == "launcher_unavailable"
        # A human's action gets the unavailability itself, as a problem.
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "launcher_unavailable"
        assert error_code(back) is None
        denied = [e for e in await r.audit(agent_id) if e["reason"] == "launcher_unavailable"]
        assert len(denied) == 1
        assert await r.chains_intact() > 0


@contextlib.asynccontextmanager
async def kill_connection_at(r: Rig, table: str) -> AsyncIterator[dict[str, bool]]:
    """Terminates, from outside, the PostgreSQL backend about to run the next statement
    that inserts into `table` (alone, or inside a larger statement): the connection
    dies in the middle of the request's transaction."""
    async_engine = (await resolve(r.container.persistence.uow)).engine
    engine = async_engine.sync_engine
    dsn = engine_dsn(engine)
    armed = {"on": True, "fired": False}
    inserting = re.compile(rf"\bINSERT INTO {table}\b", re.IGNORECASE)

    def kill_backend(statement: str, connection: psycopg.AsyncConnection[Any]) -> None:
        if armed["on"] and inserting.search(statement):
            armed["on"] = False
            pid = connection.info.backend_pid
            with psycopg.connect(dsn, autocommit=True) as admin:
                row = admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()
            armed["fired"] = bool(row and row[0])  # the backend was there, and is gone

    def kill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        kill_backend(statement, conn.connection.driver_connection)

    # Through SQLAlchemy, or straight on the driver (`sql.direct`: the closing record).
    event.listen(engine, "before_cursor_execute", kill)
    direct.listen(async_engine, kill_backend)
    try:
        yield armed
    finally:
        event.remove(engine, "before_cursor_execute", kill)
        direct.unlisten(async_engine, kill_backend)


async def test_a_connection_killed_while_a_card_is_recorded() -> None:
    async with rig() as r:
        agent_id, token = await r.agent_token()
        async with http_client(r.url, token) as client:
            # Plane has made the card; PostgreSQL dies under the transaction that records
            # the audit event and the idempotent response.
            async with kill_connection_at(r, "audit_events") as kill:
                broken = await client.call_tool("create_issue", create_args("pg-1"))
            assert kill["fired"]
            retried = await client.call_tool("create_issue", create_args("pg-1"))
            other = await client.call_tool("create_issue", create_args("pg-2", "Next"))

        assert error_code(broken) == "internal_error"  # says to retry; nothing was recorded
        assert error_code(retried) is None
        assert error_code(other) is None
        assert len(r.plane.issues) == 2  # the retry found the card the lost attempt made
        created = [e for e in await r.audit(agent_id) if e["operation"] == "create_issue"]
        assert [e["decision"] for e in created] == ["allow", "allow"]
        assert await r.chains_intact() > 0


async def test_a_connection_killed_in_an_internal_call_leaves_nothing_half_done() -> None:
    async with rig() as r:
        headers = {"Idempotency-Key": "agent-1"}
        body = {"display_name": "Agent", "owner_email": "alice@demo.local"}
        path = f"/internal/v1/owners/{r.owner}/agents"
        async with kill_connection_at(r, "agents") as kill:
            broken = await r.admin.post(path, json=body, headers=headers)
        assert kill["fired"]
        retried = await r.admin.post(path, json=body, headers=headers)
        listed = await r.admin.get(path)

    assert broken.status_code == 500
    assert broken.headers["content-type"].startswith("application/problem+json")
    assert retried.status_code == 201
    assert [agent["id"] for agent in listed.json()["items"]] == [retried.json()["id"]]
