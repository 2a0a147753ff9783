"""Calling a remote service over HTTP without hanging on it or hammering it.

One piece of code for every outbound HTTP adapter (Plane, Tasker's internal adapter,
Launcher): a timeout on every request; bounded retries with full jitter, only for requests
the caller marks as safe to repeat (reads, and writes carrying an external id the remote
side deduplicates on); `Retry-After` honoured within a bound; and a circuit breaker, so a
remote that keeps failing is refused at once for a while instead of collecting a queue of
doomed requests. Time, sleeping and randomness are injected, so tests never really wait.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

import attrs
import httpx

from nodedc_gateway.domain.errors import GatewayError

#: Statuses that say "the service is not well right now" (and so count against it).
_FAILING = frozenset({500, 502, 503, 504})
_TOO_MANY_REQUESTS = 429


@attrs.frozen
class Timing:
    """Where time comes from: a monotonic clock in seconds, a sleep, and a source of
    uniform random numbers in [0, 1) for jitter."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.SystemRandom().random


@attrs.frozen
class RetryPolicy:
    """How often and how patiently a repeatable request is tried.

    `attempts` counts the first try. Backoff before retry n (from 0) is uniform in
    [0, min(max_delay_s, base_delay_s * 2**n)] ("full jitter"). A `Retry-After` longer
    than `max_retry_after_s` is not waited for: the call fails and the breaker holds
    every call until that moment, but never longer than `max_hold_s`.
    """

    attempts: int = attrs.field(default=3, validator=attrs.validators.in_(range(1, 11)))
    base_delay_s: float = 0.2
    max_delay_s: float = 2.0
    max_retry_after_s: float = 5.0
    max_hold_s: float = 300.0

    def backoff(self, retry: int, timing: Timing) -> float:
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0**retry)
        return timing.random() * ceiling


@attrs.frozen
class BreakerPolicy:
    """`failure_threshold` consecutive failures open the breaker for `open_for_s`; then one
    trial request is let through (half-open) and its outcome closes or reopens it."""

    failure_threshold: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    open_for_s: float = 30.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one remote service and refuses calls while open."""

    def __init__(self, policy: BreakerPolicy, monotonic: Callable[[], float]) -> None:
        self._policy = policy
        self._monotonic = monotonic
        self._failures = 0
        self._open_until: float | None = None  # None: closed
        self._probing = False

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state.value}, failures={self._failures})"

    @property
    def state(self) -> BreakerState:
        if self._open_until is None:
            return BreakerState.CLOSED
        if self._monotonic() < self._open_until:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def retry_in(self) -> float:
        """Seconds until the breaker lets a trial request through (0 when it would now)."""
        if self._open_until is None:
            return 0.0
        return max(0.0, self._open_until - self._monotonic())

    def try_acquire(self) -> bool:
        """Whether a request may go out now; in half-open, only one trial at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN or self._probing:
            return False
        self._probing = True
        return True

    def record_success(self) -> None:
        self._failures = 0
        self._open_until = None
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self._policy.failure_threshold:
            self._open(self._monotonic() + self._policy.open_for_s)

    def release(self) -> None:
        """A trial request ended without telling whether the service is well."""
        self._probing = False

    def hold_until(self, moment: float) -> None:
        """Refuse every call until `moment` (the remote asked us to wait that long)."""
        self._open(max(moment, self._open_until or moment))

    def _open(self, until: float) -> None:
        self._open_until = until
        self._probing = False


def retry_after_seconds(response: httpx.Response, now: Callable[[], datetime]) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent
    or unreadable."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now()).total_seconds())


class ResilientSender:
    """Sends requests of one adapter to one remote service.

    Returns the response for every answer the service gave (2xx, 3xx, 4xx other than 429);
    raises the `unavailable` error, without details of the request, when the service did
    not answer usefully: a timeout, a refused or dropped connection, a 5xx, a 429, or an
    open breaker. Only `repeatable` requests are ever sent more than once.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        service: str,
        unavailable: Callable[[str], GatewayError],
        timeout: httpx.Timeout,
        retry: RetryPolicy | None = None,
        breaker: BreakerPolicy | None = None,
        timing: Timing | None = None,
        wall_clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._service = service
        self._unavailable = unavailable
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._timing = timing or Timing()
        self._breaker = CircuitBreaker(breaker or BreakerPolicy(), self._timing.monotonic)
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"ResilientSender(service={self._service!r}, breaker={self._breaker!r})"

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    @property
    def timeout(self) -> httpx.Timeout:
        return self._timeout

    async def send(self, request: httpx.Request, *, repeatable: bool) -> httpx.Response:
        request.extensions["timeout"] = self._timeout.as_dict()
        attempts = self._retry.attempts if repeatable else 1
        for attempt in range(attempts):
            if not self._breaker.try_acquire():
                raise self._unavailable(
                    f"{self._service} is failing; the gateway is not calling it for "
                    f"{max(1, round(self._breaker.retry_in()))} s. Retry later."
                )
            outcome = await self._attempt(request)
            if isinstance(outcome, httpx.Response):
                return outcome
            wait = None if outcome.wait is None else min(outcome.wait, self._retry.max_hold_s)
            too_long = wait is not None and wait > self._retry.max_retry_after_s
            if attempt == attempts - 1 or too_long:
                if wait is not None:
                    self._breaker.hold_until(self._timing.monotonic() + wait)
                    raise self._unavailable(f"{outcome.problem}; retry in {max(1, round(wait))} s.")
                raise self._unavailable(f"{outcome.problem}; retry later.")
            await self._timing.sleep(
                self._retry.backoff(attempt, self._timing) if wait is None else wait
            )
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def _attempt(self, request: httpx.Request) -> httpx.Response | _Failure:
        """One try: the response if the service answered, else what went wrong."""
        try:
            # never follow a redirect: it could carry the credentials somewhere else
            response = await self._client.send(request, follow_redirects=False)
        except httpx.TimeoutException:
            self._breaker.record_failure()
            return _Failure(f"{self._service} did not answer in time")
        except httpx.RequestError:
            self._breaker.record_failure()
            return _Failure(f"{self._service} could not be reached or dropped the connection")
        status = response.status_code
        if status == _TOO_MANY_REQUESTS:
            self._breaker.release()  # alive, but asking us to slow down
            return _Failure(
                f"{self._service} is rate limiting the gateway",
                retry_after_seconds(response, self._wall_clock),
            )
        if status in _FAILING:
            self._breaker.record_failure()
            return _Failure(
                f"{self._service} answered {status}",
                retry_after_seconds(response, self._wall_clock),
            )
        self._breaker.record_success()
        return response


@attrs.frozen
class _Failure:
    problem: str
    wait: float | None = None  # what the service asked for in Retry-After
