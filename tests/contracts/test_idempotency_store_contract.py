"""IdempotencyStore contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import timedelta

import attrs

from nodedc_gateway.domain.idempotency import (
    IDEMPOTENCY_TTL,
    IN_FLIGHT_LEASE,
    RecordStatus,
    StoredResponse,
)
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()

BODY = {"issue": {"id": "i-1", "labels": [{"id": "l", "name": "bug"}], "n": 3}, "ok": None}


async def test_the_first_claim_wins_and_later_ones_see_it(backend: PersistenceUnderTest) -> None:
    record = e.claim()
    async with backend.uow() as uow:
        assert await uow.idempotency.claim(record) is None
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.idempotency.claim(e.claim(fingerprint="other")) == record
        # the same key in another scope is another key
        assert await uow.idempotency.claim(e.claim(scope="owner:o")) is None


async def test_a_completed_record_keeps_its_response(backend: PersistenceUnderTest) -> None:
    record = e.claim()
    failed = e.claim("key-2")
    async with backend.uow() as uow:
        await uow.idempotency.claim(record)
        await uow.idempotency.claim(failed)
        await uow.idempotency.complete(record.completed(StoredResponse(True, BODY)))
        error = {"code": "not_found", "message": "No issue DEMO-9 here."}
        await uow.idempotency.complete(failed.completed(StoredResponse(False, error)))
        await uow.commit()
    async with backend.uow() as uow:
        stored = await uow.idempotency.claim(e.claim())
        stored_failure = await uow.idempotency.claim(e.claim("key-2"))
    assert stored is not None
    assert stored.status is RecordStatus.COMPLETED
    assert stored.response == StoredResponse(True, BODY)
    assert stored.locked_until is None
    assert stored == record.completed(StoredResponse(True, BODY))
    assert stored_failure is not None
    assert stored_failure.response == StoredResponse(False, error)


async def test_taking_over_is_a_compare_and_swap(backend: PersistenceUnderTest) -> None:
    abandoned = e.claim()
    async with backend.uow() as uow:
        await uow.idempotency.claim(abandoned)
        await uow.commit()
    later = e.T0 + IN_FLIGHT_LEASE
    first = e.claim(now=later)
    second = e.claim(now=later + timedelta(microseconds=1))
    async with backend.uow() as uow:
        assert await uow.idempotency.take_over(abandoned, first)
        assert not await uow.idempotency.take_over(abandoned, second)  # it changed under us
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.idempotency.claim(e.claim()) == first
        completed = first.completed(StoredResponse(True, BODY))
        await uow.idempotency.complete(completed)
        assert not await uow.idempotency.take_over(first, second)  # completed meanwhile
        assert await uow.idempotency.claim(e.claim()) == completed


async def test_only_the_holder_releases_a_claim(backend: PersistenceUnderTest) -> None:
    old = e.claim()
    new = e.claim(now=e.T0 + IN_FLIGHT_LEASE)
    async with backend.uow() as uow:
        await uow.idempotency.claim(old)
        assert await uow.idempotency.take_over(old, new)
        await uow.idempotency.release(old)  # the old holder's release is stale: no effect
        assert await uow.idempotency.claim(e.claim()) == new
        await uow.idempotency.release(new)
        assert await uow.idempotency.claim(e.claim()) is None  # free again: claimed anew
        await uow.commit()


async def test_purging_deletes_only_expired_records(backend: PersistenceUnderTest) -> None:
    old, young = e.claim("old"), e.claim("young", now=e.T0 + timedelta(hours=1))
    async with backend.uow() as uow:
        await uow.idempotency.claim(old)
        await uow.idempotency.claim(young)
        await uow.commit()
    now = e.T0 + IDEMPOTENCY_TTL
    async with backend.uow() as uow:
        assert await uow.idempotency.purge(now) == 1
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.idempotency.claim(e.claim("old", now=now)) is None
        assert await uow.idempotency.claim(e.claim("young")) == young
        assert await uow.idempotency.purge(now) == 0


async def test_a_record_with_a_long_key_and_operation_fits(backend: PersistenceUnderTest) -> None:
    record = attrs.evolve(e.claim("k" * 255), operation="add_project_member")
    async with backend.uow() as uow:
        assert await uow.idempotency.claim(record) is None
        assert await uow.idempotency.claim(record) == record
