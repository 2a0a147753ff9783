"""Spending rate-limit budgets: the one check behind every limit the application applies
(agent calls, pairing redeem, OAuth consent and registration, console links)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from nodedc_gateway.domain.errors import RateLimited
from nodedc_gateway.domain.ratelimit import RateDecision, RatePolicy
from nodedc_gateway.ports.ratelimit import RateLimitStore


async def spend(
    store: RateLimitStore, budgets: Iterable[tuple[str, RatePolicy]], now: datetime
) -> None:
    """Spend one unit of each `(key, policy)` budget in turn; the first one already spent
    refuses the request with `RateLimited` (the later ones are left untouched)."""
    for key, policy in budgets:
        decision = await store.check(key, policy, now)
        if not decision.allowed:
            raise rate_limited(decision, policy)


def rate_limited(decision: RateDecision, policy: RatePolicy) -> RateLimited:
    """The refusal of a check `policy` did not admit."""
    return RateLimited(
        decision.retry_after_us / 1_000_000, policy.name, policy.limit, policy.period_s
    )
