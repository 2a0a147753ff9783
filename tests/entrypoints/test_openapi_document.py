"""What schemathesis found (tests/reliability/test_openapi_fuzz.py), pinned as quick
examples: the document states the problem responses, the security and the strict
bodies; OPTIONS and 405 name every method; an out-of-range timestamp is a 422; and, as
properties, the patterns the document states are the domain's own rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.canonical import parse_timestamp
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.pairing import normalize_pairing_code
from nodedc_gateway.entrypoints.http import bodies
from tests.support.served import ServedGateway, served_gateway


@pytest.fixture
async def gw() -> AsyncIterator[ServedGateway]:
    async with served_gateway() as gateway:
        yield gateway


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "patch", "delete")
    ]


async def test_every_internal_operation_documents_its_problems(gw: ServedGateway) -> None:
    document = (await gw.client.get("/schema/openapi.json")).json()
    internal = [op for op in operations(document) if op[1].startswith("/internal/")]
    assert len(internal) >= 16
    for method, path, operation in internal:
        responses = operation["responses"]
        assert {"401", "403", "404", "409", "422", "503"} <= set(responses), (method, path)
        assert "400" not in responses  # decoding errors are 422 problems here
        problem = responses["404"]["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/ProblemOut"}
        assert operation["security"] == [{"internalToken": []}]
    for _, _, operation in operations(document):
        assert "400" not in operation["responses"]


async def test_every_operation_that_takes_a_body_documents_the_415(gw: ServedGateway) -> None:
    document = (await gw.client.get("/schema/openapi.json")).json()
    with_body = [
        (method, path, operation)
        for method, path, operation in operations(document)
        if "requestBody" in operation and path.startswith(("/internal/", "/v1/"))
    ]
    assert {path for _, path, _ in with_body} >= {
        "/v1/pairing/redeem",
        "/internal/v1/owners/{owner_user_id}/agents",
        "/internal/v1/owners/{owner_user_id}/console-links",
    }
    for method, path, operation in with_body:
        unsupported = operation["responses"].get("415")
        assert unsupported is not None, (method, path)
        problem = unsupported["content"]["application/problem+json"]["schema"]
        assert problem == {"$ref": "#/components/schemas/ProblemOut"}
    for _, _, operation in operations(document):
        if "requestBody" not in operation:
            assert "415" not in operation["responses"]


async def test_request_bodies_refuse_unknown_fields_in_the_document(gw: ServedGateway) -> None:
    document = (await gw.client.get("/schema/openapi.json")).json()
    schemas = document["components"]["schemas"]
    bodies = [name for name in schemas if name.endswith("Body")]
    assert "CreateAgentBody" in bodies
    for name in bodies:
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["UpdateAgentBody"]["minProperties"] == 1
    assert "issue:create" in schemas["CreateGrantBody"]["properties"]["scopes"]["items"]["enum"]


async def test_options_and_405_name_every_method(gw: ServedGateway) -> None:
    agents = f"{gw.owner_url()}/agents"
    options = await gw.client.options(agents)
    assert options.status_code == 204
    assert options.headers["allow"] == "GET, OPTIONS, POST"
    async with httpx.AsyncClient(base_url=gw.url) as public:
        refused = await public.request("TRACE", "/health/live")
    assert refused.status_code == 405
    assert sorted(refused.headers["allow"].split(", ")) == ["GET", "OPTIONS"]


async def test_an_audit_filter_out_of_range_is_a_422_not_a_500(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    response = await gw.client.get(
        f"{gw.owner_url()}/agents/{agent['id']}/audit",
        params={"since": "0001-01-01T00:00:00+01:00"},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "since"


def test_rfc_3339_allows_lower_case_t_and_z() -> None:
    assert parse_timestamp("2026-11-22t12:00:00z") == parse_timestamp("2026-11-22T12:00:00Z")
    with pytest.raises(ValueError, match="out of range"):
        parse_timestamp("9999-12-31T23:59:59-01:00")


# What the document states as patterns must be exactly what the domain accepts, or
# schemathesis (and any client generated from the document) is told something false.
_CHARS = st.sampled_from(
    [chr(c) for c in range(0x80)] + ["\x85", "\xa0", "\u1680", "\u200b", "\u3000", "é", "😀"]
)


def _accepts(check: Any, value: str) -> bool:
    try:
        check(value)
    except ValidationFailed:
        return False
    return True


@given(st.text(_CHARS, max_size=8))
def test_the_text_pattern_is_the_domains_text_rule(value: str) -> None:
    documented = re.fullmatch(bodies.TEXT_PATTERN, value) is not None
    assert documented == _accepts(lambda v: validation.text(v, "f", max_length=100), value)


@given(st.text(st.one_of(_CHARS, st.sampled_from("@.@.")), max_size=10))
def test_the_email_pattern_is_the_domains_email_rule(value: str) -> None:
    documented = re.fullmatch(bodies.EMAIL_PATTERN, value) is not None
    assert documented == _accepts(lambda v: validation.email(v, "f"), value)


@given(
    st.sampled_from(["http://", "https://", " http://", "ftp://", ""]), st.text(_CHARS, max_size=6)
)
def test_the_url_pattern_is_the_domains_url_rule(scheme: str, rest: str) -> None:
    value = scheme + rest
    documented = re.fullmatch(bodies.URL_PATTERN, value) is not None
    assert documented == _accepts(lambda v: validation.http_url(v, "f"), value)


@given(st.text(st.one_of(_CHARS, st.sampled_from("BCDFGHJKLMNPQRSTVWXZ-")), max_size=14))
def test_the_pairing_code_pattern_is_the_domains_rule(value: str) -> None:
    documented = re.fullmatch(bodies.PAIRING_CODE_PATTERN, value) is not None
    assert documented == _accepts(normalize_pairing_code, value)
