"""Purging stale idempotency records, pairing codes and OAuth state, through the ports
only."""

from __future__ import annotations

from datetime import timedelta

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.application.maintenance import PurgeReport, purge_expired
from nodedc_gateway.domain.idempotency import IDEMPOTENCY_TTL
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()


async def test_a_purge_deletes_what_expired_and_keeps_the_rest(
    backend: PersistenceUnderTest,
) -> None:
    agent = e.agent()
    fresh_code, old_code = e.pairing_code(agent.id), e.pairing_code(agent.id)
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.pairing_codes.add(old_code)
        await uow.idempotency.claim(e.claim("old"))
        await uow.oauth.add_code(e.oauth_code(agent.id))
        await uow.commit()
    clock = FixedClock(e.T0 + IDEMPOTENCY_TTL)
    async with backend.uow() as uow:
        fresh_code = e.pairing_code(agent.id, now=clock.now())
        await uow.pairing_codes.add(fresh_code)
        await uow.idempotency.claim(e.claim("fresh", now=clock.now()))
        await uow.commit()

    assert await purge_expired(backend.uow, clock) == PurgeReport(
        idempotency_records=1, pairing_codes=1, oauth_entries=1
    )
    async with backend.uow() as uow:
        assert await uow.pairing_codes.find_by_hash([old_code.code_hash]) is None
        assert await uow.pairing_codes.find_by_hash([fresh_code.code_hash]) == fresh_code
        assert await uow.idempotency.claim(e.claim("fresh")) is not None  # still held
    clock.advance(timedelta(seconds=1))
    assert await purge_expired(backend.uow, clock) == PurgeReport(0, 0)
