"""Serving an in-process stand-in to httpx, with faults on demand and a record of what left.

`StandInTransport` hands each request to a stand-in's async handler, the way a real
server would get it, and records it first. A `FaultPlan` can make a request fail the way
networks and servers do: refused before it arrives, dropped or timed out after the server
did the work (so the response is lost), a 5xx, or a 429 with `Retry-After`. httpx raises
the same exception types from its real transports. `FakeTime` is the clock, sleep and
jitter of the adapters under test, so backoff and breakers run without real waiting.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

import attrs
import httpx

Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


class FakeTime:
    """A monotonic clock that moves only when something sleeps (or a test says so)."""

    def __init__(self, start: float = 1_000.0, jitter: float = 0.5) -> None:
        self.now = start
        self.jitter = jitter
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def random(self) -> float:
        return self.jitter

    def advance(self, seconds: float) -> None:
        self.now += seconds


@attrs.frozen
class Sent:
    """One request as it left the adapter."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # decoded JSON, or None

    @classmethod
    def of(cls, request: httpx.Request) -> Sent:
        content = request.content
        return cls(
            method=request.method,
            path=request.url.path,
            query=dict(request.url.params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=json.loads(content) if content else None,
        )


class FaultKind(StrEnum):
    REFUSE = "refuse"  # connection refused: the server never saw the request
    DROP_AFTER = "drop_after"  # the server did the work; the connection died before the answer
    TIMEOUT_AFTER = "timeout_after"  # the server did the work; the answer came too late
    STATUS = "status"  # the server answered with an error status instead of doing the work
    THROTTLE = "throttle"  # 429 with Retry-After, the work not done


@attrs.frozen
class Fault:
    kind: FaultKind
    status: int = 503
    retry_after: int | None = None


REFUSE = Fault(FaultKind.REFUSE)
DROP_AFTER = Fault(FaultKind.DROP_AFTER)
TIMEOUT_AFTER = Fault(FaultKind.TIMEOUT_AFTER)


def status(code: int, retry_after: int | None = None) -> Fault:
    return Fault(FaultKind.STATUS, code, retry_after)


def throttle(retry_after: int | None) -> Fault:
    return Fault(FaultKind.THROTTLE, 429, retry_after)


@attrs.define
class _Planned:
    fault: Fault
    method: str | None
    path_contains: str | None
    times: int


class FaultPlan:
    """Faults to inject, in order, each for requests matching a method and path part."""

    def __init__(self) -> None:
        self._planned: list[_Planned] = []
        self.injected: list[tuple[Fault, Sent]] = []

    def add(
        self,
        fault: Fault,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        times: int = 1,
    ) -> FaultPlan:
        self._planned.append(_Planned(fault, method, path_contains, times))
        return self

    def always(self, fault: Fault, **match: Any) -> FaultPlan:
        return self.add(fault, times=1_000_000, **match)

    def clear(self) -> None:
        self._planned.clear()

    def take(self, sent: Sent) -> Fault | None:
        for planned in self._planned:
            if planned.method not in (None, sent.method):
                continue
            if planned.path_contains is not None and planned.path_contains not in sent.path:
                continue
            planned.times -= 1
            if planned.times <= 0:
                self._planned.remove(planned)
            return planned.fault
        return None


class EveryNth(FaultPlan):
    """A fault on every n-th request that is safe to repeat (a GET, or a write carrying an
    `external_id`), cycling through `faults`: a flaky but never dead service."""

    def __init__(self, n: int, faults: list[Fault]) -> None:
        super().__init__()
        self._n = n
        self._faults = faults
        self._seen = 0
        self._next = 0

    def take(self, sent: Sent) -> Fault | None:
        repeatable = sent.method == "GET" or (
            isinstance(sent.body, dict) and sent.body.get("external_id") is not None
        )
        if not repeatable:
            return None
        self._seen += 1
        if self._seen % self._n:
            return None
        fault = self._faults[self._next % len(self._faults)]
        self._next += 1
        return fault


class StandInTransport(httpx.AsyncBaseTransport):
    """Delivers requests to an in-process stand-in; records them; injects planned faults."""

    def __init__(self, handler: Handler, faults: FaultPlan | None = None) -> None:
        self._handler = handler
        self.faults = faults or FaultPlan()
        self.sent: list[Sent] = []
        self.up = True  # False: every request is refused, as if the server were switched off

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        sent = Sent.of(request)
        self.sent.append(sent)
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        fault = self.faults.take(sent)
        if fault is not None:
            self.faults.injected.append((fault, sent))
        if fault is None:
            return await self._handler(request)
        match fault.kind:
            case FaultKind.REFUSE:
                raise httpx.ConnectError("connection refused", request=request)
            case FaultKind.DROP_AFTER:
                await self._handler(request)
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response.", request=request
                )
            case FaultKind.TIMEOUT_AFTER:
                await self._handler(request)
                raise httpx.ReadTimeout("timed out", request=request)
            case FaultKind.STATUS | FaultKind.THROTTLE:
                headers = {"Content-Type": "application/json"}
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                return httpx.Response(
                    fault.status, headers=headers, json={"error": "injected fault"}
                )
        raise AssertionError(fault)
