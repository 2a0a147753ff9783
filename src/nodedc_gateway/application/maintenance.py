"""Housekeeping the server runs periodically and `nodedc-gateway` offers as a command."""

from __future__ import annotations

import attrs

from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory


@attrs.frozen
class PurgeReport:
    """How many stale records one purge deleted."""

    idempotency_records: int
    pairing_codes: int
    oauth_entries: int = 0  # authorization codes and refresh tokens


async def purge_expired(uow_factory: UnitOfWorkFactory, clock: Clock) -> PurgeReport:
    """Delete idempotency records past their 24 h, pairing codes that expired or were used
    or revoked, expired OAuth authorization codes and refresh token families whose every
    token expired; nothing else reads them once they are stale."""
    now = clock.now()
    async with uow_factory() as uow:
        records = await uow.idempotency.purge(now)
        codes = await uow.pairing_codes.purge(now)
        oauth = await uow.oauth.purge(now)
        await uow.commit()
    return PurgeReport(idempotency_records=records, pairing_codes=codes, oauth_entries=oauth)
