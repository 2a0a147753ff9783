"""GCRA (CONTRACT §8): safety (never more than burst + rate × t in a window of length t)
and liveness (an idle bucket admits its burst; a refusal's retry-after is honest)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
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


@given(policies, arrivals)
def test_a_decision_reports_the_state_it_leaves(policy: RatePolicy, times: list[int]) -> None:
    """`remaining` is exactly how many more fit right now; `reset_after_us` is how long the
    stored TAT runs ahead of now; a refusal keeps the TAT and has nothing remaining."""
    tat = None
    for now in times:
        decision = gcra(tat, now, policy)
        assert decision.reset_after_us == decision.tat_us - now
        if decision.allowed is True:
            assert type(decision.remaining) is int
            more, state = 0, decision.tat_us
            while (again := gcra(state, now, policy)).allowed:
                more, state = more + 1, again.tat_us
            assert more == decision.remaining
        else:
            assert decision.allowed is False
            assert decision.remaining == 0
            assert decision.tat_us == tat
        tat = decision.tat_us


@pytest.mark.parametrize(
    ("limit", "period_s", "burst"), [(0, 1, 1), (1, 0, 1), (1, 1, 0), (-1, 5, 5), (5, 5, -1)]
)
def test_a_policy_needs_every_number_at_least_one(limit: int, period_s: int, burst: int) -> None:
    with pytest.raises(ValidationFailed) as refused:
        RatePolicy(name="tool_calls", limit=limit, period_s=period_s, burst=burst)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("rate_limit.tool_calls", "limit, period and burst must all be at least 1")
    ]


def test_the_smallest_policy_is_valid() -> None:
    policy = RatePolicy(name="p", limit=1, period_s=1, burst=1)
    assert (policy.emission_us, policy.window_us) == (MICROS, MICROS)
