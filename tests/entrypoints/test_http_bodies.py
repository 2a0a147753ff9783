"""How the JSON routes read a body (issue 13): only JSON is read, a body nested too deep
never reaches the decoder, a key twice in one object is refused, and the public redeem
route spends its rate limit before it reads anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.entrypoints.http.decoding import (
    MAX_JSON_BODY,
    MAX_JSON_DEPTH,
    BodyRefused,
    check_json_shape,
    is_json_media_type,
)
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
    policy = "/internal/v1/workspaces/demo/projects/DEMO/policy"
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


# --- the scan itself -------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(json_values, st.integers(min_value=0, max_value=6))
def test_the_scan_measures_the_depth_the_decoder_would_meet(value: Any, limit: int) -> None:
    # Strings full of brackets, quotes and escapes are text, not structure; a
    # dictionary has each key once, so only the depth can refuse it.
    body = msgspec.json.encode(value)
    if depth(value) > limit:
        with pytest.raises(BodyRefused, match="nested deeper"):
            check_json_shape(body, limit)
    else:
        check_json_shape(body, limit)


def test_the_limit_is_inclusive_and_the_largest_legitimate_body_is_far_below_it() -> None:
    check_json_shape(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    with pytest.raises(BodyRefused):
        check_json_shape(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    check_json_shape(b'{"card_rules": {"required_blocks": ["goal"]}}', max_depth=3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"a": 1, "a": 2}', "a"),
        (b'{"a": 1, "\\u0061": 2}', "a"),
        (b'{"x": {"a": 1, "b": {}, "a": 2}}', "x.a"),
        (b'[{"a": 1}, {"a": 1, "b": [1, {"c": 0, "c": 0}]}]', "[1].b[1].c"),
        (b'{"k\\"": 1, "k\\"" : 2}', 'k"'),
    ],
)
def test_a_key_twice_in_one_object_is_named_by_its_path(body: bytes, field: str) -> None:
    with pytest.raises(BodyRefused) as refused:
        check_json_shape(body)
    assert refused.value.field == field


def test_the_same_key_in_different_objects_or_as_a_value_is_fine() -> None:
    check_json_shape(b'[{"a": 1}, {"a": 2}, {"b": {"a": 3}, "a": "a"}, "a", "a"]')
    check_json_shape(b'{"a": ["a", "a"], "b": {"a": {"a": 0}}}')


def test_an_unterminated_string_is_scanned_in_one_pass() -> None:
    check_json_shape(b'"' + b'\\"' * 300_000)  # left for the decoder to call malformed
    check_json_shape(b'{"a": "\\')


def test_json_media_types() -> None:
    assert is_json_media_type("application/json")
    assert is_json_media_type("application/problem+json")
    assert not is_json_media_type("")
    assert not is_json_media_type("text/json")
    assert not is_json_media_type("application/jsonx")


async def test_a_body_that_is_not_an_object_is_a_422_even_where_the_body_is_optional(
    gw: ServedGateway,
) -> None:
    """`null` is not "no body": schemathesis found `-d null` accepted on console-links."""
    links = f"{gw.owner_url()}/console-links"
    for raw in (b"null", b"[]", b'"x"', b"1"):
        for url in (links, f"{gw.owner_url()}/agents"):
            response = await gw.client.post(url, content=raw, headers=JSON)
            body = assert_problem(response, 422, "validation_failed")
            assert body["errors"][0]["field"] == "body", (url, raw, body)
    assert (await gw.client.post(links, content=b"{}", headers=JSON)).status_code == 201


async def test_a_json_route_reads_no_more_than_64_kib(gw: ServedGateway) -> None:
    """The JSON API's bodies are small; a larger one is refused before it is scanned."""
    agents = f"{gw.owner_url()}/agents"
    padded = {"display_name": "Agent", "owner_email": "alice@demo.local"}
    big = msgspec.json.encode({**padded, "avatar_url": "x" * MAX_JSON_BODY})
    response = await gw.client.post(agents, content=big, headers=JSON)
    assert response.status_code == 413, response.text
    assert (await gw.client.post(agents, json=padded)).status_code == 201
