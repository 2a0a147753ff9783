"""Purging: the `nodedc-gateway purge` command on a real database, and the periodic purge
a served gateway runs in its lifespan."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from nodedc_gateway.adapters.persistence.sql import SqlUnitOfWorkFactory
from nodedc_gateway.adapters.ratelimit.sql import SqlRateLimitStore
from nodedc_gateway.domain.oauth import REFRESH_TOKEN_TTL
from nodedc_gateway.domain.pairing import normalize_pairing_code
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.entrypoints.bootstrap import resolve
from nodedc_gateway.entrypoints.cli import main
from nodedc_gateway.entrypoints.maintenance import PurgeCounts, purge_periodically
from nodedc_gateway.entrypoints.settings import PREFIX
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e
from tests.support.served import INTERNAL_TOKEN, PEPPER, gateway_settings, served_gateway

backend = backend_fixture(("sqlite", "postgres"))


async def test_the_purge_command_deletes_only_what_expired(
    backend: PersistenceUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.pairing_codes.add(e.pairing_code(agent.id, now=long_ago))
        await uow.pairing_codes.add(e.pairing_code(agent.id, now=datetime.now(UTC)))
        await uow.idempotency.claim(e.claim("old", now=long_ago))
        await uow.idempotency.claim(e.claim("fresh", now=datetime.now(UTC)))
        await uow.oauth.add_code(e.oauth_code(agent.id, now=long_ago))
        await uow.oauth.add_code(e.oauth_code(agent.id, now=datetime.now(UTC)))
        dead_family = long_ago - REFRESH_TOKEN_TTL  # its last token expired three days ago
        await uow.oauth.add_refresh(e.refresh_token(agent.id, e.new_id(), now=dead_family))
        await uow.oauth.add_refresh(e.refresh_token(agent.id, e.new_id(), now=long_ago))
        await uow.commit()
    assert isinstance(backend.uow, SqlUnitOfWorkFactory)
    assert isinstance(backend.rate_limits, SqlRateLimitStore)
    hourly = RatePolicy("writes", 1, 3600, 1)  # one call fills the bucket for an hour
    await backend.rate_limits.check("agent:idle:writes", hourly, long_ago)
    await backend.rate_limits.check("agent:busy:writes", hourly, datetime.now(UTC))
    assert backend.url is not None

    env = {
        PREFIX + "DATABASE_URL": backend.url,
        PREFIX + "INTERNAL_TOKEN": INTERNAL_TOKEN,
        PREFIX + "TOKEN_PEPPER": PEPPER,
    }
    runner = CliRunner()
    first = await asyncio.to_thread(runner.invoke, main, ["purge"], env=env)
    again = await asyncio.to_thread(runner.invoke, main, ["purge"], env=env)

    assert first.exit_code == 0, first.output
    assert first.stdout == (
        "purged 1 idempotency records, 1 pairing codes, 1 idle rate-limit keys, "
        "2 OAuth codes and refresh tokens\n"
    )
    assert again.stdout == (
        "purged 0 idempotency records, 0 pairing codes, 0 idle rate-limit keys\n"
    )


async def test_a_failed_round_does_not_stop_the_periodic_purge() -> None:
    slept: list[float] = []
    rounds = 0

    async def purge() -> PurgeCounts:
        nonlocal rounds
        rounds += 1
        if rounds == 2:
            raise ConnectionError("the database went away for a moment")
        if rounds == 4:
            raise asyncio.CancelledError  # the app shuts down
        return PurgeCounts(1, 2, 3)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(asyncio.CancelledError):
        await purge_periodically(purge, 60, sleep=sleep, first_delay_s=7)

    assert slept == [7, 60, 60, 60]
    assert rounds == 4


async def test_a_served_gateway_purges_in_its_lifespan() -> None:
    async with served_gateway(gateway_settings(purge_interval_s=1)) as gateway:
        agent = await gateway.create_agent()
        response = await gateway.client.post(
            f"{gateway.owner_url()}/agents/{agent['id']}/pairing-codes"
        )
        assert response.status_code == 201
        code_hash = gateway.container.core.hasher().hash(
            normalize_pairing_code(response.json()["code"])
        )
        uow_factory = await resolve(gateway.container.persistence.uow)
        oauth_code = e.oauth_code(agent["id"], now=gateway.clock.now())
        async with uow_factory() as uow:
            await uow.oauth.add_code(oauth_code)
            await uow.commit()
        gateway.clock.advance(minutes=11)  # the codes' 10 and 5 minutes are over

        # The first round comes within one interval (1 s); a busy machine may take longer,
        # and waiting costs only when the purge is late, so the bound is generous.
        for _ in range(1200):
            async with uow_factory() as uow:
                if await uow.pairing_codes.find_by_hash([code_hash]) is None:
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the expired pairing code was not purged within 60 s")
        async with uow_factory() as uow:  # the same round, the same unit of work
            assert await uow.oauth.find_code([oauth_code.code_hash]) is None
