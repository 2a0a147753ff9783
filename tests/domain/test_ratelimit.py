"""GCRA (CONTRACT §8): safety (never more than burst + rate × t in a window of length t)
and liveness (an idle bucket admits its burst; a refusal's retry-after is honest)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.ratelimit import MICROS, RatePolicy, gcra

policies = st.builds(
    RatePolicy,
    name=st.just("p"),
    limit=st.integers(1, 50),
    period_s=st.integers(1, 120),
    burst=st.integers(1, 20),
)
arrivals = st.lists(st.integers(0, 30 * MICROS), max_size=120).map(sorted)


def run(policy: RatePolicy, times: list[int]) -> list[int]:
    tat, admitted = None, []
    for now in times:
        decision = gcra(tat, now, policy)
        tat = decision.tat_us
        if decision.allowed:
            admitted.append(now)
    return admitted


@given(policies, arrivals)
def test_no_window_admits_more_than_burst_plus_rate_times_length(
    policy: RatePolicy, times: list[int]
) -> None:
    admitted = run(policy, times)
    period_us = policy.period_s * MICROS
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            count, length = j - i + 1, admitted[j] - start
            # count <= burst + limit * length / period, in exact integers
            assert (count - policy.burst) * period_us <= policy.limit * length


@given(policies, st.integers(0, 10**12))
def test_an_idle_bucket_admits_a_whole_burst(policy: RatePolicy, start: int) -> None:
    assert len(run(policy, [start] * (policy.burst + 3))) == policy.burst


@given(policies, arrivals)
def test_retry_after_is_exactly_when_the_next_request_fits(
    policy: RatePolicy, times: list[int]
) -> None:
    tat = None
    for now in times:
        decision = gcra(tat, now, policy)
        if not decision.allowed:
            assert decision.retry_after_us > 0
            assert gcra(tat, now + decision.retry_after_us, policy).allowed
            assert not gcra(tat, now + decision.retry_after_us - 1, policy).allowed
        else:
            assert decision.retry_after_us == 0
            assert 0 <= decision.remaining < policy.burst
        tat = decision.tat_us
