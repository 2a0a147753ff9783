"""How the JSON routes read a body (issue 13): only JSON is read, a body nested too deep
never reaches the decoder, a key twice in one object is refused, and the public redeem
route spends its rate limit before it reads anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog

from tests.entrypoints.test_http_api import assert_problem
from tests.support.served import ServedGateway, served_gateway

JSON = {"content-type": "application/json"}
REDEEM = "/v1/pairing/redeem"


@pytest.fixture
async def gw() -> AsyncIterator[ServedGateway]:
    async with served_gateway() as gateway:
        yield gateway


def nested(levels: int) -> bytes:
    """About 2 KB: `{"code": [[[…]]]}` with `levels` arrays."""
    return b'{"code": ' + b"[" * levels + b"]" * levels + b"}"


def agent_body(**fields: Any) -> dict[str, Any]:
    return {"display_name": "Agent", "owner_email": "alice@demo.local", **fields}


async def test_a_deeply_nested_body_is_a_422_never_a_500_nor_a_logged_traceback(
    gw: ServedGateway,
) -> None:
    agents = f"{gw.owner_url()}/agents"
    with structlog.testing.capture_logs() as logged:
        async with httpx.AsyncClient(base_url=gw.url) as public:
            redeem = await public.post(REDEEM, content=nested(1000), headers=JSON)
        internal = await gw.client.post(agents, content=nested(1000), headers=JSON)
    for response in (redeem, internal):
        body = assert_problem(response, 422, "validation_failed")
        assert body["errors"] == [{"field": "body", "message": "JSON nested deeper than 32 levels"}]
    assert [e for e in logged if e.get("log_level") == "error"] == []


async def test_a_body_that_is_not_json_is_a_415(gw: ServedGateway) -> None:
    agents = f"{gw.owner_url()}/agents"
    raw = b'{"display_name": "Agent", "owner_email": "alice@demo.local"}'
    for headers in (
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "application/jsonp"},
        {},  # no Content-Type at all
    ):
        response = await gw.client.post(agents, content=raw, headers=headers)
        body = assert_problem(response, 415, "validation_failed")
        assert "application/json" in body["detail"]
    async with httpx.AsyncClient(base_url=gw.url) as public:
        refused = await public.post(
            REDEEM, content=b'{"code": "BCDF-GHJK"}', headers={"content-type": "text/plain"}
        )
    assert_problem(refused, 415, "validation_failed")
    for media_type in ("application/json; charset=utf-8", "Application/JSON", "application/x+json"):
        accepted = await gw.client.post(agents, content=raw, headers={"content-type": media_type})
        assert accepted.status_code == 201, (media_type, accepted.text)
    # A route whose body is optional still takes none, with no Content-Type.
    link = await gw.client.post(f"{gw.owner_url()}/console-links")
    assert link.status_code == 201, link.text


async def test_a_key_twice_in_one_object_is_refused_by_name(gw: ServedGateway) -> None:
    agents = f"{gw.owner_url()}/agents"
    twice = b'{"display_name": "Agent", "owner_email": "alice@demo.local", "display_name": "Admin"}'
    response = await gw.client.post(agents, content=twice, headers=JSON)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "display_name"
    assert "twice" in body["errors"][0]["message"]
    policy = f"/internal/v1/workspaces/demo/projects/DEMO/policy"
    nested_twice = b'{"card_rules": {"max_checkers": 5, "max_checkers": 50}}'
    response = await gw.client.put(policy, content=nested_twice, headers=JSON)
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "card_rules.max_checkers"
    assert (await gw.client.get(f"{gw.owner_url()}/agents")).json()["items"] == []


async def test_redeem_spends_its_budget_before_reading_the_body(gw: ServedGateway) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as public:
        refused = [
            (await public.post(REDEEM, content=nested(1000), headers=JSON)).status_code
            for _ in range(5)
        ] + [
            (
                await public.post(REDEEM, content=b"code=x", headers={"content-type": "text/plain"})
            ).status_code
            for _ in range(5)
        ]
        assert refused == [422] * 5 + [415] * 5
        # The budget (10 a minute) is spent: whatever the body, the answer is now 429.
        for content, headers in (
            (nested(1000), JSON),
            (b"code=x", {"content-type": "text/plain"}),
            (b'{"code": "BCDF-GHJK"}', JSON),
        ):
            limited = await public.post(REDEEM, content=content, headers=headers)
            assert_problem(limited, 429, "rate_limited")
            assert int(limited.headers["retry-after"]) >= 1
