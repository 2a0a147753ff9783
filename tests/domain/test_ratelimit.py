"""GCRA (CONTRACT §8): safety (never more than burst + rate × t in a window of length t)
and liveness (an idle bucket admits its burst; a refusal's retry-after is honest)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.ratelimit import MICROS, RatePolicy, agent_budget_key, gcra

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


@given(policies)
def test_two_requests_are_never_closer_than_the_rate_rounded_up(policy: RatePolicy) -> None:
    """Guards the rounding up of `emission_us` (ratelimit.py:35): with a burst of one, the
    next request waits the whole period / limit, never a microsecond less."""
    one = RatePolicy("p", policy.limit, policy.period_s, 1)
    first = gcra(None, 0, one)
    wait = -(-one.period_s * MICROS // one.limit)
    assert not gcra(first.tat_us, wait - 1, one).allowed
    assert gcra(first.tat_us, wait, one).allowed


@given(policies, st.integers(1, 50))
def test_knocking_while_refused_does_not_push_the_retry_back(
    policy: RatePolicy, knocks: int
) -> None:
    """Guards `tat_us=tat` on a refusal (ratelimit.py:61) and its `reset_after_us`
    (ratelimit.py:64): refused requests leave the state as it was, so the first
    retry-after stays true however often a client knocks meanwhile."""
    tat = run_to_full(policy)
    refused = gcra(tat, 0, policy)
    assert not refused.allowed
    assert refused.tat_us == tat
    assert refused.reset_after_us == tat
    state = tat
    for knock in range(knocks):
        state = gcra(state, min(knock, refused.retry_after_us - 1), policy).tat_us
    assert gcra(state, refused.retry_after_us, policy).allowed


def run_to_full(policy: RatePolicy) -> int:
    """The TAT after a whole burst at instant 0: the next request at 0 is refused."""
    tat = None
    for _ in range(policy.burst):
        tat = gcra(tat, 0, policy).tat_us
    assert tat is not None
    return tat


@pytest.mark.parametrize("field", ["limit", "period_s", "burst"])
@pytest.mark.parametrize("value", [0, -1])
def test_a_policy_that_admits_nothing_is_refused(field: str, value: int) -> None:
    """Guards each operand of the check in `RatePolicy.__attrs_post_init__`
    (ratelimit.py:27): a zero limit, period or burst is a configuration error."""
    values = {"limit": 5, "period_s": 60, "burst": 2, field: value}
    with pytest.raises(ValidationFailed):
        RatePolicy("p", **values)


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


def test_an_agents_budget_key_is_the_one_the_sql_admission_builds() -> None:
    """`agent:<agent id>:<policy name>`: one bucket per agent and budget, the same string
    the SQL admission concatenates in its statement (its contract suite checks both
    spend the same bucket)."""
    writes, reads = RatePolicy("writes", 1, 1, 1), RatePolicy("reads", 1, 1, 1)
    assert agent_budget_key("a-1", writes) == "agent:a-1:writes"
    assert agent_budget_key("a-1", reads) != agent_budget_key("a-2", reads)
