"""Timeouts, bounded retries, Retry-After and the circuit breaker, on fake time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import attrs
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.adapters.http_resilience import (
    BreakerPolicy,
    BreakerState,
    ResilientSender,
    RetryPolicy,
    Timing,
)
from nodedc_gateway.domain.errors import TaskerUnavailable
from tests.support import stand_in

URL = "https://remote.test/thing"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@attrs.define
class Remote:
    """A remote service whose answers the test scripts, one per request."""

    answers: list[httpx.Response | Exception] = attrs.field(factory=list)
    received: list[httpx.Request] = attrs.field(factory=list)
    default: int = 200

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.received.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        return httpx.Response(self.default, json={"ok": True})


@attrs.define
class Rig:
    remote: Remote
    transport: stand_in.StandInTransport
    time: stand_in.FakeTime
    sender: ResilientSender

    async def get(self) -> httpx.Response:
        return await self.sender.send(httpx.Request("GET", URL), repeatable=True)

    async def post(self) -> httpx.Response:
        return await self.sender.send(httpx.Request("POST", URL, json={}), repeatable=False)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with build_rig() as built:
        yield built


@asynccontextmanager
async def build_rig(
    retry: RetryPolicy | None = None,
    breaker: BreakerPolicy | None = None,
    follow_redirects: bool = False,
) -> AsyncIterator[Rig]:
    remote = Remote()
    transport = stand_in.StandInTransport(remote.handle)
    time = stand_in.FakeTime()
    async with httpx.AsyncClient(transport=transport, follow_redirects=follow_redirects) as client:
        sender = ResilientSender(
            client,
            service="Remote",
            unavailable=TaskerUnavailable,
            timeout=httpx.Timeout(2.0),
            retry=retry or RetryPolicy(attempts=3, base_delay_s=0.2, max_delay_s=2.0),
            breaker=breaker or BreakerPolicy(failure_threshold=5, open_for_s=30.0),
            timing=Timing(time.monotonic, time.sleep, time.random),
            wall_clock=lambda: NOW,
        )
        yield Rig(remote, transport, time, sender)


def fail(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"error": "x"})


async def test_every_request_carries_a_timeout(rig: Rig) -> None:
    await rig.get()
    await rig.post()
    for request in rig.remote.received:
        assert request.extensions["timeout"] == httpx.Timeout(2.0).as_dict()


async def test_a_read_is_retried_with_jittered_backoff_until_it_succeeds(rig: Rig) -> None:
    rig.remote.answers += [fail(503), httpx.ConnectError("refused")]
    response = await rig.get()
    assert response.status_code == 200
    assert len(rig.remote.received) == 3
    # full jitter at 0.5 of the cap: 0.5 * 0.2, then 0.5 * 0.4
    assert rig.time.sleeps == pytest.approx([0.1, 0.2])


async def test_retries_are_bounded(rig: Rig) -> None:
    rig.remote.answers += [fail(502), fail(503), fail(504), fail(500)]
    with pytest.raises(TaskerUnavailable) as raised:
        await rig.get()
    assert len(rig.remote.received) == 3
    assert "retry later" in raised.value.message
    assert URL not in raised.value.message


@pytest.mark.parametrize(
    "failure",
    [
        fail(503),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ConnectError("refused"),
    ],
    ids=["5xx", "timeout", "dropped", "refused"],
)
async def test_a_write_without_a_key_is_never_repeated(
    rig: Rig, failure: httpx.Response | Exception
) -> None:
    rig.remote.answers.append(failure)
    with pytest.raises(TaskerUnavailable):
        await rig.post()
    assert len(rig.remote.received) == 1
    assert rig.time.sleeps == []


async def test_the_unavailable_error_does_not_chain_the_transport_error(rig: Rig) -> None:
    rig.remote.answers += [httpx.ReadTimeout("slow")]
    with pytest.raises(TaskerUnavailable) as raised:
        await rig.post()
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None
    assert "did not answer in time" in raised.value.message


async def test_a_client_error_is_an_answer_not_a_failure(rig: Rig) -> None:
    rig.remote.answers += [fail(404)]
    response = await rig.get()
    assert response.status_code == 404
    assert len(rig.remote.received) == 1


async def test_retry_after_is_honoured_within_bounds(rig: Rig) -> None:
    rig.remote.answers += [fail(429, **{"Retry-After": "3"})]
    response = await rig.get()
    assert response.status_code == 200
    assert rig.time.sleeps == [3.0]


async def test_retry_after_as_an_http_date(rig: Rig) -> None:
    later = format_datetime(NOW + timedelta(seconds=4), usegmt=True)
    rig.remote.answers += [fail(503, **{"Retry-After": later})]
    await rig.get()
    assert rig.time.sleeps == [4.0]


async def test_a_long_retry_after_fails_at_once_and_holds_every_call(rig: Rig) -> None:
    rig.remote.answers += [fail(429, **{"Retry-After": "120"})]
    with pytest.raises(TaskerUnavailable) as raised:
        await rig.get()
    assert "retry in 120 s" in raised.value.message
    assert rig.time.sleeps == []
    with pytest.raises(TaskerUnavailable):
        await rig.post()
    assert len(rig.remote.received) == 1  # the held call never left
    rig.time.advance(120)
    assert (await rig.post()).status_code == 200


async def test_an_absurd_retry_after_holds_calls_for_a_bounded_time(rig: Rig) -> None:
    rig.remote.answers += [fail(503, **{"Retry-After": "99999999"})]
    with pytest.raises(TaskerUnavailable) as raised:
        await rig.get()
    assert "retry in 300 s" in raised.value.message
    rig.time.advance(300)
    assert (await rig.get()).status_code == 200


async def test_a_redirect_is_never_followed_even_by_a_client_that_would() -> None:
    async with build_rig(follow_redirects=True) as rig:
        redirect = httpx.Response(302, headers={"Location": "https://elsewhere.test/"})
        rig.remote.answers.append(redirect)
        response = await rig.get()
        assert response.status_code == 302
        assert [str(r.url) for r in rig.remote.received] == [URL]


async def test_a_429_on_a_write_without_a_key_is_not_retried(rig: Rig) -> None:
    rig.remote.answers += [fail(429, **{"Retry-After": "1"})]
    with pytest.raises(TaskerUnavailable):
        await rig.post()
    assert len(rig.remote.received) == 1


async def test_the_breaker_opens_after_consecutive_failures_and_fails_fast() -> None:
    async with build_rig(retry=RetryPolicy(attempts=1)) as rig:
        rig.remote.default = 503
        for _ in range(5):
            with pytest.raises(TaskerUnavailable):
                await rig.get()
        assert rig.sender.breaker.state is BreakerState.OPEN
        sent = len(rig.remote.received)
        for _ in range(50):
            with pytest.raises(TaskerUnavailable) as raised:
                await rig.get()
        assert len(rig.remote.received) == sent  # nothing piled up on the remote
        assert "not calling it for 30 s" in raised.value.message


async def test_a_success_resets_the_failure_count() -> None:
    async with build_rig(retry=RetryPolicy(attempts=1)) as rig:
        for _ in range(3):
            for _ in range(4):
                rig.remote.answers.append(fail(500))
            for _ in range(4):
                with pytest.raises(TaskerUnavailable):
                    await rig.get()
            await rig.get()
        assert rig.sender.breaker.state is BreakerState.CLOSED


async def test_after_the_pause_one_trial_closes_or_reopens_the_breaker() -> None:
    async with build_rig(retry=RetryPolicy(attempts=1)) as rig:
        rig.remote.default = 503
        for _ in range(5):
            with pytest.raises(TaskerUnavailable):
                await rig.get()
        rig.time.advance(30)
        assert rig.sender.breaker.state is BreakerState.HALF_OPEN
        with pytest.raises(TaskerUnavailable):
            await rig.get()  # the trial fails: open again, for another full pause
        assert rig.sender.breaker.state is BreakerState.OPEN
        rig.time.advance(29)
        assert rig.sender.breaker.state is BreakerState.OPEN
        rig.time.advance(1)
        rig.remote.default = 200
        assert (await rig.get()).status_code == 200
        assert rig.sender.breaker.state is BreakerState.CLOSED


async def test_half_open_lets_only_one_trial_through() -> None:
    async with build_rig(retry=RetryPolicy(attempts=1)) as rig:
        rig.remote.default = 503
        for _ in range(5):
            with pytest.raises(TaskerUnavailable):
                await rig.get()
        rig.time.advance(30)
        release = asyncio.Event()
        rig.remote.default = 200

        async def slow(request: httpx.Request) -> httpx.Response:
            await release.wait()
            return httpx.Response(200)

        rig.transport._handler = slow
        trial = asyncio.create_task(rig.get())
        await asyncio.sleep(0)  # let the trial go out
        with pytest.raises(TaskerUnavailable):
            await rig.get()
        release.set()
        assert (await trial).status_code == 200
        assert (await rig.get()).status_code == 200


@given(
    retry=st.integers(min_value=0, max_value=30),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base=st.floats(min_value=0.001, max_value=5.0),
    cap=st.floats(min_value=0.001, max_value=60.0),
)
def test_backoff_stays_between_zero_and_its_cap(
    retry: int, jitter: float, base: float, cap: float
) -> None:
    policy = RetryPolicy(base_delay_s=base, max_delay_s=cap)
    delay = policy.backoff(retry, Timing(random=lambda: jitter))
    assert 0.0 <= delay <= min(cap, base * 2**retry)
