"""Shared rate-limit state: one atomic GCRA step per check."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy


class RateLimitStore(Protocol):
    async def check(self, key: str, policy: RatePolicy, now: datetime) -> RateDecision:
        """Run `gcra` for `key` at `now` and store the new state, atomically for all
        replicas sharing the store."""
        ...
