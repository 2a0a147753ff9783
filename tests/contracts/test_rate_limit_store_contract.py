"""RateLimitStore contract: every backend computes exactly `domain.ratelimit.gcra`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nodedc_gateway.domain.canonical import to_microseconds
from nodedc_gateway.domain.ratelimit import RatePolicy, gcra
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()

POLICY = RatePolicy("writes", limit=120, period_s=60, burst=3)


async def test_a_burst_is_admitted_then_the_sustained_rate(backend: PersistenceUnderTest) -> None:
    store = backend.rate_limits
    decisions = [await store.check("agent:a:writes", POLICY, e.T0) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    refused = decisions[-1]
    assert refused.retry_after_us == POLICY.emission_us
    assert not (await store.check("agent:a:writes", POLICY, e.T0)).allowed
    again = e.T0 + timedelta(microseconds=refused.retry_after_us)
    assert (await store.check("agent:a:writes", POLICY, again)).allowed
    assert not (await store.check("agent:a:writes", POLICY, again)).allowed


async def test_keys_have_separate_budgets(backend: PersistenceUnderTest) -> None:
    store = backend.rate_limits
    for _ in range(3):
        assert (await store.check("agent:a:writes", POLICY, e.T0)).allowed
    assert not (await store.check("agent:a:writes", POLICY, e.T0)).allowed
    assert (await store.check("agent:b:writes", POLICY, e.T0)).allowed
    assert (await store.check("agent:a:reads", POLICY, e.T0)).allowed


policies = st.builds(
    RatePolicy,
    name=st.just("p"),
    limit=st.integers(1, 10_000),
    period_s=st.integers(1, 3_600),
    burst=st.integers(1, 6),
)
# Gaps in µs between arrivals: often none (a burst), sometimes long (the bucket refills).
# Small bursts and short sequences reach every branch (refusals included) cheaply.
gaps = st.lists(
    st.one_of(st.just(0), st.integers(0, 2_000_000), st.integers(0, 10**10)),
    min_size=1,
    max_size=8,
)
key_counter = iter(range(10**9))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, arrivals=gaps)
async def test_every_backend_decides_exactly_like_gcra(
    backend: PersistenceUnderTest, policy: RatePolicy, arrivals: list[int]
) -> None:
    key = f"prop:{next(key_counter)}"  # a fresh key per example: the store is shared
    state: int | None = None
    now = e.T0
    for gap in arrivals:
        now += timedelta(microseconds=gap)
        expected = gcra(state, to_microseconds(now), policy)
        actual: Any = await backend.rate_limits.check(key, policy, now)
        assert actual == expected
        state = expected.tat_us
