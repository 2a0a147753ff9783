"""Housekeeping wired to the configured stores: one purge (`nodedc-gateway purge`) and the
periodic purge a served gateway runs in its lifespan.

Every replica may run the periodic purge: each purge is a few `DELETE … WHERE expired`
statements, so replicas racing on the same rows only find fewer to delete. The first
round waits a random part of the interval, so replicas started together do not purge in
step.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs

from nodedc_gateway.application.maintenance import purge_expired
from nodedc_gateway.entrypoints.bootstrap import Gateway, resolve
from nodedc_gateway.entrypoints.logs import get_logger

log = get_logger("nodedc_gateway.maintenance")


@attrs.frozen
class PurgeCounts:
    idempotency_records: int
    pairing_codes: int
    rate_limit_keys: int
    console_entries: int = 0  # expired or signed-out console links and sessions
    oauth_entries: int = 0  # expired authorization codes, refresh tokens of dead families

    def __str__(self) -> str:
        console = f", {self.console_entries} console links and sessions"
        oauth = f", {self.oauth_entries} OAuth codes and refresh tokens"
        return (
            f"{self.idempotency_records} idempotency records, {self.pairing_codes} pairing "
            f"codes, {self.rate_limit_keys} idle rate-limit keys"
            + (console if self.console_entries else "")
            + (oauth if self.oauth_entries else "")
        )


async def purge_once(container: Gateway) -> PurgeCounts:
    """Delete what expired: idempotency records past 24 h, used or expired pairing codes,
    expired OAuth codes and refresh token families, and rate-limit state whose bucket is
    full again (it decides like no state at all)."""
    clock = container.core.clock()
    report = await purge_expired(await resolve(container.persistence.uow), clock)
    rate_limits = await resolve(container.persistence.rate_limits)
    # The in-process store forgets idle keys by itself; the SQL one is purged here.
    purge_rate_limits: Callable[[Any], Awaitable[int]] | None = getattr(rate_limits, "purge", None)
    keys = await purge_rate_limits(clock.now()) if purge_rate_limits is not None else 0
    console = await (await resolve(container.persistence.console_sessions)).purge(clock.now())
    return PurgeCounts(
        report.idempotency_records, report.pairing_codes, keys, console, report.oauth_entries
    )


async def purge_periodically(
    purge: Callable[[], Awaitable[PurgeCounts]],
    interval_s: float,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    first_delay_s: float | None = None,
) -> None:
    """Purge every `interval_s` until cancelled; a failed round is logged and the next
    one tries again (the database may be away for a moment)."""
    delay = random.uniform(0, interval_s) if first_delay_s is None else first_delay_s  # noqa: S311 - spreading replicas, not a secret
    while True:
        await sleep(delay)
        delay = interval_s
        try:
            counts = await purge()
        except Exception as error:
            log.warning("purge failed; retrying next round", error=type(error).__name__)
            continue
        log.info("purged expired records", **attrs.asdict(counts))


@contextlib.asynccontextmanager
async def periodic_purge(container: Gateway, interval_s: float) -> AsyncIterator[None]:
    """Runs `purge_periodically` for as long as the block (the app's lifespan) lasts."""
    if interval_s <= 0:
        yield
        return

    async def purge() -> PurgeCounts:
        return await purge_once(container)

    task = asyncio.create_task(purge_periodically(purge, interval_s), name="nodedc-purge")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
