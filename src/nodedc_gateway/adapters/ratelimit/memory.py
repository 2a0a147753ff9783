"""In-process GCRA state: the embedded single-process default."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from nodedc_gateway.domain.canonical import to_microseconds
from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy, gcra

MAX_KEYS = 100_000


class MemoryRateLimitStore:
    def __init__(self) -> None:
        self._tat: dict[str, int] = {}

    async def check(self, key: str, policy: RatePolicy, now: datetime) -> RateDecision:
        now_us = to_microseconds(now)
        if len(self._tat) >= MAX_KEYS:  # forget keys whose buckets are full again
            self._tat = {k: t for k, t in self._tat.items() if t > now_us}
        decision = gcra(self._tat.get(key), now_us, policy)
        self._tat[key] = decision.tat_us  # no await in between: atomic in one event loop
        return decision


if TYPE_CHECKING:
    from nodedc_gateway.ports.ratelimit import RateLimitStore

    _conforms: RateLimitStore = MemoryRateLimitStore()
