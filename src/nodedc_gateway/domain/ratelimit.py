"""GCRA rate limiting (CONTRACT §8): the generic cell rate algorithm, in integer microseconds.

State per key is one number, the theoretical arrival time (TAT). A request is admitted
when the new TAT stays within `burst` emission intervals of now. Whatever the arrival
pattern, no window of length t admits more than `burst + rate × t` requests.
"""

from __future__ import annotations

import attrs

from nodedc_gateway.domain.errors import ValidationFailed

MICROS = 1_000_000


@attrs.frozen
class RatePolicy:
    """`limit` requests per `period_s` seconds, with up to `burst` at once."""

    name: str
    limit: int
    period_s: int
    burst: int

    def __attrs_post_init__(self) -> None:
        if self.limit < 1 or self.period_s < 1 or self.burst < 1:
            raise ValidationFailed.field(
                f"rate_limit.{self.name}", "limit, period and burst must all be at least 1"
            )

    @property
    def emission_us(self) -> int:
        """Microseconds between requests at the sustained rate, rounded up (never faster)."""
        return -(-self.period_s * MICROS // self.limit)

    @property
    def window_us(self) -> int:
        """How far the TAT may run ahead of now: `burst` emission intervals."""
        return self.burst * self.emission_us


@attrs.frozen
class RateDecision:
    allowed: bool
    tat_us: int  # the state to store (unchanged when refused)
    retry_after_us: int  # 0 when allowed
    remaining: int  # requests still admissible right now
    reset_after_us: int  # until the bucket is full again


def gcra(tat_us: int | None, now_us: int, policy: RatePolicy) -> RateDecision:
    """Admit or refuse one request at `now_us`, given the stored TAT (None: never seen)."""
    interval = policy.emission_us
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = tat + interval
    allow_at = new_tat - policy.window_us
    if now_us < allow_at:
        return RateDecision(
            allowed=False,
            tat_us=tat,
            retry_after_us=allow_at - now_us,
            remaining=0,
            reset_after_us=tat - now_us,
        )
    return RateDecision(
        allowed=True,
        tat_us=new_tat,
        retry_after_us=0,
        remaining=(now_us - allow_at) // interval,
        reset_after_us=new_tat - now_us,
    )


def agent_budget_key(agent_id: str, policy: RatePolicy) -> str:
    """The key an agent's calls spend `policy` under (every replica spends the same one;
    the SQL admission builds the same string in its statement)."""
    return f"agent:{agent_id}:{policy.name}"
