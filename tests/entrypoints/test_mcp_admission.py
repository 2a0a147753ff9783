"""The `/mcp` endpoint admits a `tools/call` while the SDK reads it: the admission's round
trip to the database overlaps the SDK's parsing and validation. What must not change with
that is proved here against a stand-in pipeline and SDK app, each defence on its own:
nothing is answered before the admission is known, a token it refuses gets the 401
challenge and never the SDK's answer, any other failure reaches the application as before,
and a claim whose call never ran is freed."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from nodedc_gateway.domain.errors import Unauthenticated
from nodedc_gateway.domain.tokens import TOKEN_RANDOM_LENGTH, mint_token
from nodedc_gateway.entrypoints.mcp import server
from nodedc_gateway.entrypoints.mcp.endpoint import McpEndpoint

TOKEN = mint_token("a" * TOKEN_RANDOM_LENGTH).reveal()
CHALLENGE = 'Bearer realm="test", resource_metadata="http://test/.well-known/x"'
TICKET: Any = SimpleNamespace(caller=SimpleNamespace(name="the admitted agent"))
SDK_BODY = b'{"jsonrpc":"2.0","id":1,"result":{}}'
AGAIN_BODY = b'{"jsonrpc":"2.0","id":1,"result":{"isError":true}}'
REQUEST_BODY = b'{"jsonrpc":"2.0","id":1,"method":"tools/call"}'
#: Only reached when the endpoint waits for the admission before the SDK runs (the defect
#: the first test catches), which would otherwise hang: never a timing assumption.
DEADLOCK_S = 30


class _Pipeline:
    """Admits only once the SDK has started reading the request (`sdk_started`)."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.sdk_started = asyncio.Event()
        self.admitted = 0
        self.abandoned: list[Any] = []

    async def admit(self, token: Any, action: Any, operation: Any) -> Any:
        self.admitted += 1
        await self.sdk_started.wait()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    async def authenticate(self, token: Any, operation: Any) -> Any:
        raise AssertionError("a tools/call is admitted, not only authenticated")

    async def abandon(self, admitted: Any) -> None:
        self.abandoned.append(admitted)


class _Sdk:
    """Stands in for the SDK's app: signals that it runs, then (as the tool does) waits for
    the caller, takes the call when `takes` (handing over `closing` as the call's closing
    record, when given), and answers 200. Asked again after a failed closing record, it
    answers `AGAIN_BODY` (as the tool answers `internal_error` then)."""

    def __init__(
        self, pipeline: _Pipeline, *, takes: bool, closing: asyncio.Future[None] | None = None
    ) -> None:
        self._pipeline = pipeline
        self._takes = takes
        self._closing = closing
        self.callers: list[Any] = []
        self.bodies: list[bytes] = []
        self.answering = asyncio.Event()  # set just before the (first) answer is sent

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self._pipeline.sdk_started.set()
        self.bodies.append((await receive())["body"])
        pending = server._ADMITTED.get()
        assert pending is not None
        if pending.closing_failed:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": AGAIN_BODY})
            return
        try:
            self.callers.append(await pending.caller())
            if self._takes:
                assert pending.take("whoami") is TICKET
                pending.closing = self._closing
        except Exception:  # noqa: S110 - the tool answers with an error the endpoint drops
            pass
        self.answering.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": SDK_BODY})


class _Endpoint(McpEndpoint):
    def _tool_call(self, body: bytes | None) -> tuple[str, Any]:
        return "whoami", SimpleNamespace()


async def _serve(
    pipeline: _Pipeline,
    *,
    takes: bool = True,
    token: str = TOKEN,
    closing: asyncio.Future[None] | None = None,
    write_after_answer: bool = False,
) -> tuple[list[dict[str, Any]], _Sdk]:
    sdk = _Sdk(pipeline, takes=takes, closing=closing)
    if write_after_answer:  # the record is written once the SDK is sending its answer
        assert closing is not None

        async def write() -> None:
            await sdk.answering.wait()
            closing.set_result(None)

        writer = asyncio.ensure_future(write())
    services: Any = SimpleNamespace(pipeline=pipeline)
    endpoint = _Endpoint(sdk, lambda: services, CHALLENGE)
    sent: list[dict[str, Any]] = []
    requests = [{"type": "http.request", "body": REQUEST_BODY, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return requests.pop(0) if requests else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if closing is not None:
            message = {**message, "closing_done": closing.done()}
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }
    await asyncio.wait_for(endpoint(scope, receive, send), DEADLOCK_S)
    if write_after_answer:
        await writer
    return sent, sdk


async def test_the_sdk_reads_the_request_while_the_admission_runs_and_the_tool_gets_it() -> None:
    pipeline = _Pipeline(TICKET)
    sent, sdk = await _serve(pipeline)
    assert [m.get("status") for m in sent] == [200, None]
    assert sent[1]["body"] == SDK_BODY
    assert sdk.callers == [TICKET.caller]
    assert pipeline.abandoned == []  # the call ran: its claim is the tool's


async def test_a_call_the_sdk_answers_without_running_frees_its_claim() -> None:
    pipeline = _Pipeline(TICKET)
    sent, _ = await _serve(pipeline, takes=False)
    assert sent[0]["status"] == 200
    assert pipeline.abandoned == [TICKET]


async def test_a_refused_token_gets_the_challenge_and_never_the_sdk_answer() -> None:
    pipeline = _Pipeline(Unauthenticated())
    sent, sdk = await _serve(pipeline)
    assert sdk.callers == []  # the tool never got an agent
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 401
    headers = dict(sent[0]["headers"])
    assert headers[b"www-authenticate"] == CHALLENGE.encode()
    assert b"unauthenticated" in sent[1]["body"]
    assert SDK_BODY not in [m.get("body") for m in sent]
    assert pipeline.abandoned == []  # nothing was claimed


async def test_any_other_admission_failure_reaches_the_application_with_nothing_sent() -> None:
    pipeline = _Pipeline(RuntimeError("the database went away"))
    with pytest.raises(RuntimeError, match="database went away"):
        await _serve(pipeline)
    assert pipeline.abandoned == []


async def test_a_malformed_token_is_refused_before_any_admission() -> None:
    pipeline = _Pipeline(TICKET)
    sent, sdk = await _serve(pipeline, token="ndca_" + "a" * 10)
    assert sent[0]["status"] == 401
    assert pipeline.admitted == 0
    assert sdk.callers == []


async def test_the_answer_leaves_only_once_the_closing_record_is_written() -> None:
    pipeline = _Pipeline(TICKET)
    closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    sent, sdk = await _serve(pipeline, closing=closing, write_after_answer=True)
    assert [m.get("status") for m in sent] == [200, None]
    assert all(m["closing_done"] for m in sent)
    assert sent[1]["body"] == SDK_BODY
    assert len(sdk.bodies) == 1


async def test_a_closing_record_that_fails_has_the_sdk_answer_the_request_again() -> None:
    pipeline = _Pipeline(TICKET)
    closing: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    closing.set_exception(ConnectionError("the database went away"))
    sent, sdk = await _serve(pipeline, closing=closing)
    assert [m.get("body") for m in sent] == [None, AGAIN_BODY]  # the first answer dropped
    assert sdk.bodies == [REQUEST_BODY, REQUEST_BODY]  # the same request, read again
    assert pipeline.abandoned == []  # the call ran: its key is the record's to free


async def test_a_call_defers_its_record_only_when_no_other_call_is_in_flight() -> None:
    """Alone, the record is written while the SDK makes the answer; beside another call
    the loop is busy with that one meanwhile, and the record is awaited in line."""
    pipeline = _Pipeline(TICKET)
    pipeline.sdk_started.set()  # admissions answer at once
    second_seen = asyncio.Event()
    defers: list[bool] = []

    async def sdk(scope: Any, receive: Any, send: Any) -> None:
        pending = server._ADMITTED.get()
        assert pending is not None
        defers.append(pending.defer)
        if len(defers) == 1:
            await second_seen.wait()  # the first is still in flight
        else:
            second_seen.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": SDK_BODY})

    services: Any = SimpleNamespace(pipeline=pipeline)
    endpoint = _Endpoint(sdk, lambda: services, CHALLENGE)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode())],
    }

    async def request() -> None:
        sent: list[Any] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": REQUEST_BODY, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await endpoint(scope, receive, send)

    await asyncio.wait_for(asyncio.gather(request(), request()), DEADLOCK_S)
    await asyncio.wait_for(request(), DEADLOCK_S)  # alone again
    assert defers == [True, False, True]
