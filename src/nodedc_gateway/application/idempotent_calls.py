"""Idempotent calls (CONTRACT §7), for agents and owners alike: the key is claimed
`in_flight` by one self-committing statement before the operation runs, so a concurrent
retry sees it; a completed key replays, another fingerprint is refused; after a failure
the response is stored for replay, or the key is freed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from nodedc_gateway.domain.errors import GatewayError, IdempotencyInFlight, IdempotencyKeyReused
from nodedc_gateway.domain.idempotency import (
    IdempotencyRecord,
    StoredResponse,
    Verdict,
    judge,
    request_fingerprint,
)
from nodedc_gateway.domain.operations import Operation
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory

T = TypeVar("T")
CLAIM_ATTEMPTS = 3


async def claim_and_run(
    uows: UnitOfWorkFactory,
    scope: str,
    key: str | None,
    operation: Operation,
    arguments: Mapping[str, Any],
    now: datetime,
    body: Callable[[IdempotencyRecord | None], Awaitable[T]],
    on_refusal: Callable[[GatewayError], Awaitable[None]],
    on_replay: Callable[[IdempotencyRecord], Awaitable[T]],
) -> T:
    """Run `body` with the claimed record (None for a read or a call without a key), or
    replay the completed one, or refuse a reused or in-flight key."""
    if key is None or not operation.is_write:
        return await body(None)
    fingerprint = request_fingerprint(operation.name, arguments)
    record = IdempotencyRecord.claim(
        scope=scope, key=key, fingerprint=fingerprint, operation=operation.name, now=now
    )
    for _ in range(CLAIM_ATTEMPTS):
        claimed = False
        # Each step is one atomic statement (insert-if-absent, read, compare-and-swap),
        # so no transaction is needed around them: the claim costs one round trip.
        async with uows(autocommit=True) as uow:
            existing = await uow.idempotency.claim(record)
            verdict = Verdict.PROCEED if existing is None else judge(existing, fingerprint, now)
            if existing is None or (
                verdict is Verdict.PROCEED and await uow.idempotency.take_over(existing, record)
            ):
                await uow.commit()
                claimed = True
        # The claim's transaction is closed before the operation runs.
        if claimed:
            return await body(record)
        if verdict is Verdict.PROCEED:
            continue  # someone took the expired key over first: look again
        assert existing is not None
        if verdict is Verdict.REPLAY:
            return await on_replay(existing)
        error: GatewayError = (
            IdempotencyKeyReused() if verdict is Verdict.REUSED else IdempotencyInFlight()
        )
        await on_refusal(error)
        raise error
    raise IdempotencyInFlight()


async def store_or_release(
    uows: UnitOfWorkFactory, record: IdempotencyRecord, error: GatewayError
) -> None:
    """A failure a retry should see again is stored; any other frees the key."""
    if not error.replayable:
        await release(uows, record)
        return
    async with uows() as uow:
        await uow.idempotency.complete(record.completed(StoredResponse(False, error.as_payload())))
        await uow.commit()


async def release(uows: UnitOfWorkFactory, record: IdempotencyRecord) -> None:
    async with uows() as uow:
        await uow.idempotency.release(record)
        await uow.commit()
