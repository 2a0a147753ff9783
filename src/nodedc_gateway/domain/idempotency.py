"""Idempotency (CONTRACT §7, after Stripe and the IETF Idempotency-Key draft).

A key is scoped to an agent (MCP) or an owner (internal API). The request fingerprint is
SHA-256 of the canonical JSON of operation and arguments, without the key. The first use
claims the key `in_flight`; completion stores the response for 24 h. A retry with the same
fingerprint replays it; other arguments are `idempotency_key_reused`; a retry while the
first still runs is `idempotency_in_flight`. An in-flight claim whose holder died expires
after a lease, so a crash never wedges a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.canonical import canonical_json, sha256_hex

IDEMPOTENCY_TTL = timedelta(hours=24)
IN_FLIGHT_LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


def idempotency_key(value: object, field: str = "idempotency_key") -> str:
    return validation.text(value, field, max_length=MAX_KEY_LENGTH)


def request_fingerprint(operation: str, arguments: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json({"operation": operation, "arguments": arguments}))


def agent_scope(agent_id: str) -> str:
    return f"agent:{agent_id}"


def owner_scope(owner_user_id: str) -> str:
    return f"owner:{owner_user_id}"


def external_id(scope: str, key: str) -> str:
    """The deterministic id a keyed write carries to Tasker, so a retry after a lost
    response finds the card instead of making a second one."""
    return "ndc-" + sha256_hex(f"{scope}\x00{key}")[:40]


class RecordStatus(StrEnum):
    IN_FLIGHT = "in_flight"
    COMPLETED = "completed"


@attrs.frozen
class StoredResponse:
    """What a completed request answered: a payload, or a replayable error's payload."""

    ok: bool
    body: Mapping[str, Any]


@attrs.frozen
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    operation: str
    status: RecordStatus
    response: StoredResponse | None
    created_at: datetime
    expires_at: datetime
    locked_until: datetime | None

    @classmethod
    def claim(
        cls, *, scope: str, key: str, fingerprint: str, operation: str, now: datetime
    ) -> IdempotencyRecord:
        return cls(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            operation=operation,
            status=RecordStatus.IN_FLIGHT,
            response=None,
            created_at=now,
            expires_at=now + IDEMPOTENCY_TTL,
            locked_until=now + IN_FLIGHT_LEASE,
        )

    def completed(self, response: StoredResponse) -> IdempotencyRecord:
        return attrs.evolve(
            self, status=RecordStatus.COMPLETED, response=response, locked_until=None
        )

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def is_abandoned(self, now: datetime) -> bool:
        return (
            self.status is RecordStatus.IN_FLIGHT
            and self.locked_until is not None
            and now >= self.locked_until
        )


class Verdict(StrEnum):
    PROCEED = "proceed"  # no live record: run the request (claiming or taking over the key)
    REPLAY = "replay"
    REUSED = "reused"
    IN_FLIGHT = "in_flight"


def judge(existing: IdempotencyRecord | None, fingerprint: str, now: datetime) -> Verdict:
    """What to do with a request, given the record already stored under its key."""
    if existing is None or existing.is_expired(now):
        return Verdict.PROCEED
    if existing.fingerprint != fingerprint:
        return Verdict.REUSED
    if existing.status is RecordStatus.COMPLETED:
        return Verdict.REPLAY
    if existing.is_abandoned(now):
        return Verdict.PROCEED
    return Verdict.IN_FLIGHT
