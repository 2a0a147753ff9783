"""The internal API and public routes over real HTTP, against a served gateway."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar import Litestar

from nodedc_gateway.domain.audit import AuditDecision, AuditDraft, AuditEvent, verify_chain
from nodedc_gateway.domain.canonical import parse_timestamp
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import GrantRef
from nodedc_gateway.domain.secret import SecretStr
from tests.support.backends import BACKENDS, backend_settings
from tests.support.console import signed_in
from tests.support.mcp import http_client, structured
from tests.support.served import ServedGateway, served_gateway

UUID = "01900000-0000-7000-8000-000000000000"
CONTRACT_CODES = {code.value for code in ErrorCode}


@pytest.fixture(params=BACKENDS)
async def gw(request: pytest.FixtureRequest) -> AsyncIterator[ServedGateway]:
    async with backend_settings(request.param) as settings, served_gateway(settings) as served:
        yield served


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return dict(body)


async def internal_routes(gw: ServedGateway) -> list[tuple[str, str]]:
    schema = (await gw.client.get("/schema/openapi.json")).json()
    return [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if path.startswith("/internal/")
        for method in item
        if method in ("get", "post", "patch", "delete")
    ]


def concrete(path: str, owner: str, agent_id: str) -> str:
    return (
        path.replace("{owner_user_id}", owner)
        .replace("{agent_id}", agent_id)
        .replace("{grant_id}", UUID)
        .replace("{token_id}", UUID)
    )


async def test_every_internal_route_needs_the_internal_token(gw: ServedGateway) -> None:
    routes = await internal_routes(gw)
    assert len(routes) >= 14
    async with httpx.AsyncClient(base_url=gw.url) as anonymous:
        for method, path in routes:
            url = concrete(path, gw.alice, UUID)
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
                response = await anonymous.request(method, url, headers=headers, json={})
                body = assert_problem(response, 401, "unauthenticated")
                assert response.headers["www-authenticate"].startswith("Bearer")
                assert "internal-token" not in str(body)


OWNER_PREFIX = "/internal/v1/owners/{owner_user_id}"

# Every owner-scoped route that names one of the owner's things, with bodies the rightful
# owner's call succeeds with (the test replays the first of each as the owner, in this
# order, so the destructive ones come last): only ownership can refuse them.
ANOTHER_OWNERS: dict[tuple[str, str], list[dict[str, Any] | None]] = {
    ("GET", "/agents/{agent_id}"): [None],
    ("GET", "/agents/{agent_id}/tokens"): [None],
    ("GET", "/agents/{agent_id}/grants"): [None],
    ("GET", "/agents/{agent_id}/grants/{grant_id}/versions"): [None],
    ("GET", "/agents/{agent_id}/audit"): [None],
    ("PATCH", "/agents/{agent_id}"): [{"display_name": "Agent"}, {"status": "disabled"}],
    ("POST", "/agents/{agent_id}/tokens"): [{"name": "stolen", "expires_in_days": 30}],
    ("POST", "/agents/{agent_id}/pairing-codes"): [None],
    ("POST", "/agents/{agent_id}/grants"): [
        {"workspace_slug": "demo", "project_id": "DEMO", "scopes": ["issue:read"]},
        {"workspace_slug": "other", "scopes": ["issue:read"]},  # Carol reaches no "other"
    ],
    ("PATCH", "/agents/{agent_id}/grants/{grant_id}"): [
        {"scopes": ["project:read", "issue:read", "issue:create"]},
        {"mode": "reporting"},
    ],
    ("POST", "/access-requests/{request_id}/decision"): [
        {"decision": "approve"},
        {"decision": "deny", "note": "no"},
        {"decision": "suggest", "scopes": ["issue:read"], "note": "this instead"},
    ],
    ("POST", "/agents/{agent_id}/tokens/{token_id}/revoke"): [None],
    ("DELETE", "/agents/{agent_id}/grants/{grant_id}"): [None],
    ("POST", "/agents/{agent_id}/revoke"): [None],
}
# Owner-scoped routes that name nothing of one owner's: each is checked below to leave the
# other owner's agents, requests and console out of reach.
OWN_ONLY = {
    ("POST", "/agents"),
    ("GET", "/agents"),
    ("GET", "/access-requests"),
    ("POST", "/lifecycle"),
    ("POST", "/console-links"),
}


def owner_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path under the owner) of every owner-scoped route the app serves."""
    found = set()
    for route in app.routes:
        path = re.sub(r":\w+}", "}", route.path)
        if path.startswith(f"{OWNER_PREFIX}/"):
            for method in getattr(route, "route_handler_map", {}):
                if method not in ("OPTIONS", "HEAD"):
                    found.add((method, path.removeprefix(OWNER_PREFIX)))
    return found


async def test_another_owners_things_are_404_on_every_owner_route(gw: ServedGateway) -> None:
    assert owner_routes(gw.app) == set(ANOTHER_OWNERS) | OWN_ONLY, "a route without a case"
    agent = await gw.create_agent()
    grant = await gw.grant(agent["id"])
    token = await gw.token(agent["id"])
    token_id = (await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/tokens")).json()[
        "items"
    ][0]["id"]
    async with http_client(gw.url, token) as mcp:
        filed = await mcp.call_tool(
            "request_access",
            {"workspace_slug": "demo", "scopes": ["issue:comment"], "justification": "j"},
        )
    request_id = structured(filed)["request"]["id"]
    ids = {
        "{owner_user_id}": gw.alice,
        "{agent_id}": agent["id"],
        "{grant_id}": grant["id"],
        "{token_id}": token_id,
        "{request_id}": request_id,
    }
    mallory = gw.demo.carol.id

    def url(path: str, owner: str) -> str:
        for name, value in {**ids, "{owner_user_id}": owner}.items():
            path = path.replace(name, value)
        return f"{OWNER_PREFIX}{path}".replace("{owner_user_id}", owner)

    for (method, path), bodies in ANOTHER_OWNERS.items():
        for body in bodies:
            response = await gw.client.request(method, url(path, mallory), json=body)
            assert response.status_code == 404, (method, path, body, response.text)
            assert response.json()["code"] == "not_found"
    # Untouched: the agent, its grant and its request are as Alice left them.
    still = (await gw.client.get(url("/agents/{agent_id}", gw.alice))).json()
    assert (still["display_name"], still["status"]) == ("Agent", "active")
    versions = await gw.client.get(url("/agents/{agent_id}/grants/{grant_id}/versions", gw.alice))
    assert len(versions.json()["items"]) == 1
    pending = await gw.client.get(url("/access-requests", gw.alice), params={"status": "pending"})
    assert [r["id"] for r in pending.json()["items"]] == [request_id]

    # The routes that name nothing of Alice's give Mallory only her own.
    created = await gw.client.post(
        url("/agents", mallory), json={"display_name": "Mine", "owner_email": "c@demo.local"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["owner_user_id"] == mallory
    listed = (await gw.client.get(url("/agents", mallory))).json()["items"]
    assert [a["id"] for a in listed] == [created.json()["id"]]
    alices = (await gw.client.get(url("/agents", gw.alice))).json()["items"]
    assert [a["id"] for a in alices] == [agent["id"]]
    requests = (await gw.client.get(url("/access-requests", mallory))).json()["items"]
    assert requests == []
    suspended = await gw.client.post(url("/lifecycle", mallory), json={"status": "suspended"})
    assert suspended.status_code == 200, suspended.text
    assert (await gw.client.get(url("/agents/{agent_id}", gw.alice))).json()["status"] == "active"
    async with signed_in(gw, mallory) as console:
        assert console.last is not None
        assert agent["id"] not in console.last.text
        assert (await console.get(f"/console/agents/{agent['id']}")).status_code == 404

    # The rightful owner's same calls succeed: the bodies were valid, only ownership refused.
    for (method, path), bodies in ANOTHER_OWNERS.items():
        response = await gw.client.request(method, url(path, gw.alice), json=bodies[0])
        assert response.status_code < 300, (method, path, bodies[0], response.text)


async def test_a_grant_for_another_owners_agent_is_404_before_tasker_is_asked(
    gw: ServedGateway,
) -> None:
    # Carol reaches no "other" workspace: asking Tasker first would answer her a 422.
    agent = await gw.create_agent()
    response = await gw.client.post(
        f"{gw.owner_url(gw.demo.carol.id)}/agents/{agent['id']}/grants",
        json={"workspace_slug": "other", "scopes": ["issue:read"]},
    )
    assert assert_problem(response, 404, "not_found")["detail"] == "No such agent for this owner."


async def test_grant_scopes_are_validated(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    url = f"{gw.owner_url()}/agents/{agent['id']}/grants"
    denied = await gw.client.post(
        url, json={"workspace_slug": "demo", "scopes": ["issue:read", "issue:archive"]}
    )
    assert assert_problem(denied, 403, "human_only_operation")["denied_scopes"] == ["issue:archive"]
    unknown = await gw.client.post(url, json={"workspace_slug": "demo", "scopes": ["issue:fly"]})
    body = assert_problem(unknown, 422, "validation_failed")
    assert body["errors"][0]["field"] == "scopes[0]"
    assert "issue:fly" in body["detail"]


async def test_a_token_is_shown_once_and_never_listed(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    token = await gw.token(agent["id"])
    assert re.fullmatch(r"ndca_[0-9A-Za-z]{42}", token)
    listed = await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/tokens")
    assert listed.status_code == 200
    assert token not in listed.text
    assert "token" not in listed.json()["items"][0]
    audit = await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/audit")
    assert token not in audit.text


async def test_token_lifetimes_are_bounded(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    url = f"{gw.owner_url()}/agents/{agent['id']}/tokens"
    too_long = await gw.client.post(url, json={"name": "x", "expires_in_days": 367})
    assert (
        assert_problem(too_long, 422, "validation_failed")["errors"][0]["field"]
        == "expires_in_days"
    )
    assert (
        await gw.client.post(url, json={"name": "x", "expires_in_days": 366})
    ).status_code == 201
    default = await gw.client.post(url, json={"name": "x"})
    created, expires = (parse_timestamp(default.json()[k]) for k in ("created_at", "expires_at"))
    assert (expires - created).days == 90


async def test_a_pairing_code_redeems_once_in_any_spelling_and_not_after_expiry(
    gw: ServedGateway,
) -> None:
    agent = await gw.create_agent()
    url = f"{gw.owner_url()}/agents/{agent['id']}/pairing-codes"
    codes = [(await gw.client.post(url)).json()["code"] for _ in range(3)]
    assert all(
        re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", c) for c in codes
    )
    async with httpx.AsyncClient(base_url=gw.url) as public:
        redeem = await public.post(
            "/v1/pairing/redeem", json={"code": codes[0].lower(), "token_name": "laptop"}
        )
        assert redeem.status_code == 201, redeem.text
        assert redeem.json()["agent_id"] == agent["id"]
        assert redeem.json()["mcp_url"].endswith("/mcp")
        assert_problem(
            await public.post("/v1/pairing/redeem", json={"code": codes[0]}), 404, "not_found"
        )
        no_dash = await public.post("/v1/pairing/redeem", json={"code": codes[1].replace("-", "")})
        assert no_dash.status_code == 201
        gw.clock.advance(minutes=10)
        assert_problem(
            await public.post("/v1/pairing/redeem", json={"code": codes[2]}), 404, "not_found"
        )
        malformed = await public.post("/v1/pairing/redeem", json={"code": "hello"})
        assert assert_problem(malformed, 422, "validation_failed")["errors"][0]["field"] == "code"


async def test_the_redeem_route_answers_429_after_its_budget(gw: ServedGateway) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as public:
        statuses = [
            (await public.post("/v1/pairing/redeem", json={"code": "BCDF-GHJK"})).status_code
            for _ in range(10)
        ]
        assert statuses == [404] * 10
        limited = await public.post("/v1/pairing/redeem", json={"code": "BCDF-GHJK"})
        body = assert_problem(limited, 429, "rate_limited")
        assert body["retry_after_s"] >= 1
        assert int(limited.headers["retry-after"]) == body["retry_after_s"]
        assert limited.headers["ratelimit-policy"] == '"redeem";q=10;w=60'
        assert limited.headers["ratelimit"].startswith('"redeem";r=0;t=')


async def test_revoking_a_token_or_an_agent_stops_it_on_the_next_call(gw: ServedGateway) -> None:
    pipeline = gw.services.pipeline
    agent = await gw.create_agent()
    await gw.grant(agent["id"])
    first, second = await gw.token(agent["id"]), await gw.token(agent["id"])
    await pipeline.authenticate(SecretStr(first))
    tokens = (await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/tokens")).json()["items"]
    first_id = next(t["id"] for t in tokens if t["status"] == "active")
    revoked = await gw.client.post(
        f"{gw.owner_url()}/agents/{agent['id']}/tokens/{first_id}/revoke"
    )
    assert revoked.json()["status"] == "revoked"
    from nodedc_gateway.domain.errors import Unauthenticated

    still_valid = [SecretStr(t) for t in (first, second)]
    outcomes = []
    for token in still_valid:
        try:
            await pipeline.authenticate(token)
            outcomes.append("ok")
        except Unauthenticated:
            outcomes.append("refused")
    assert sorted(outcomes) == ["ok", "refused"]
    await gw.client.post(f"{gw.owner_url()}/agents/{agent['id']}/revoke")
    for token in still_valid:
        with pytest.raises(Unauthenticated):
            await pipeline.authenticate(token)


async def test_an_owner_who_loses_the_entitlement_loses_their_agents_within_60s(
    gw: ServedGateway,
) -> None:
    from nodedc_gateway.domain.entitlement import Entitlement

    agent = await gw.create_agent()
    token = await gw.token(agent["id"])
    pipeline = gw.services.pipeline
    assert (await pipeline.authenticate(SecretStr(token))).entitlement is Entitlement.ENTITLED
    gw.container.launcher.backend().set_entitled(gw.alice, False)
    gw.clock.advance(seconds=59)
    assert (await pipeline.authenticate(SecretStr(token))).entitlement is Entitlement.ENTITLED
    gw.clock.advance(seconds=1)
    assert (await pipeline.authenticate(SecretStr(token))).entitlement is Entitlement.NOT_ENTITLED
    refused = await gw.client.post(
        f"{gw.owner_url()}/agents", json={"display_name": "x", "owner_email": "alice@demo.local"}
    )
    assert_problem(refused, 403, "owner_not_entitled")


async def test_every_mutation_is_audited_newest_first_with_the_chain_intact(
    gw: ServedGateway,
) -> None:
    agent = await gw.create_agent(**{"X-NodeDC-Actor-User-Id": "admin-7"})
    base = f"{gw.owner_url()}/agents/{agent['id']}"
    grant = await gw.grant(agent["id"])
    await gw.client.patch(f"{base}/grants/{grant['id']}", json={"mode": "reporting"})
    await gw.token(agent["id"])
    await gw.client.post(f"{base}/pairing-codes")
    await gw.client.patch(base, json={"display_name": "Renamed"})
    await gw.client.delete(f"{base}/grants/{grant['id']}")
    page = (await gw.client.get(f"{base}/audit", params={"limit": 3})).json()
    rest = (await gw.client.get(f"{base}/audit", params={"cursor": page["next_cursor"]})).json()
    events = page["items"] + rest["items"]
    assert [e["event_type"] for e in reversed(events)] == [
        "agent.created",
        "grant.created",
        "grant.updated",
        "token.issued",
        "pairing_code.created",
        "agent.updated",
        "grant.revoked",
    ]
    assert [e["seq"] for e in events] == list(range(7, 0, -1))
    assert events[-1]["actor_user_id"] == "admin-7"
    assert events[-1]["owner_user_id"] == gw.alice
    assert events[0]["grant_versions"] == [{"grant_id": grant["id"], "version": 3}]
    chain = [event_from_json(e) for e in reversed(events)]
    assert verify_chain(agent["id"], chain).ok
    tampered = [
        *chain[:3],
        event_from_json({**events[-4], "operation": "delete_issue"}),
        *chain[4:],
    ]
    assert not verify_chain(agent["id"], tampered).ok
    filtered = (await gw.client.get(f"{base}/audit", params={"event_type": "grant.updated"})).json()
    assert [e["event_type"] for e in filtered["items"]] == ["grant.updated"]


def event_from_json(e: dict[str, Any]) -> AuditEvent:
    draft = AuditDraft(
        id=e["id"],
        agent_id=e["agent_id"],
        owner_user_id=e["owner_user_id"],
        actor_user_id=e["actor_user_id"],
        event_type=e["event_type"],
        operation=e["operation"],
        decision=AuditDecision(e["decision"]),
        reason=ErrorCode(e["reason"]) if e["reason"] else None,
        target=e["target"],
        grant_versions=tuple(GrantRef(r["grant_id"], r["version"]) for r in e["grant_versions"]),
        metadata=e["metadata"],
        created_at=parse_timestamp(e["created_at"]),
    )
    return AuditEvent(draft, e["agent_id"], e["seq"], e["prev_hash"], e["hash"])


async def test_the_actor_header_is_recorded(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    response = await gw.client.post(
        f"{gw.owner_url()}/agents/{agent['id']}/grants",
        json={"workspace_slug": "demo", "scopes": ["issue:read"]},
        headers={"X-NodeDC-Actor-User-Id": "admin-42"},
    )
    assert response.json()["created_by_user_id"] == "admin-42"
    assert response.json()["project_id"] is None  # a workspace-level grant
    versions = await gw.client.get(
        f"{gw.owner_url()}/agents/{agent['id']}/grants/{response.json()['id']}/versions"
    )
    assert versions.json()["items"][0]["changed_by_user_id"] == "admin-42"


async def test_idempotency_keys_replay_and_refuse_reuse(gw: ServedGateway) -> None:
    url = f"{gw.owner_url()}/agents"
    body = {"display_name": "Keyed", "owner_email": "alice@demo.local"}
    first = await gw.client.post(url, json=body, headers={"Idempotency-Key": "create-1"})
    again = await gw.client.post(url, json=body, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    reused = await gw.client.post(
        url, json={**body, "display_name": "Other"}, headers={"Idempotency-Key": "create-1"}
    )
    assert_problem(reused, 422, "idempotency_key_reused")
    listed = (await gw.client.get(url)).json()["items"]
    assert [a["display_name"] for a in listed].count("Keyed") == 1
    token_url = f"{url}/{first.json()['id']}/tokens"
    issued = await gw.client.post(
        token_url, json={"name": "k"}, headers={"Idempotency-Key": "tok-1"}
    )
    replay = await gw.client.post(
        token_url, json={"name": "k"}, headers={"Idempotency-Key": "tok-1"}
    )
    assert replay.json()["id"] == issued.json()["id"]
    assert replay.json()["token"] is None
    assert replay.json()["token_withheld"] is True


async def test_agents_are_listed_a_page_at_a_time(gw: ServedGateway) -> None:
    created = [await gw.create_agent() for _ in range(5)]
    first = (await gw.client.get(f"{gw.owner_url()}/agents", params={"limit": 2})).json()
    second = (
        await gw.client.get(
            f"{gw.owner_url()}/agents", params={"limit": 2, "cursor": first["next_cursor"]}
        )
    ).json()
    third = (
        await gw.client.get(
            f"{gw.owner_url()}/agents", params={"limit": 2, "cursor": second["next_cursor"]}
        )
    ).json()
    ids = [a["id"] for page in (first, second, third) for a in page["items"]]
    assert ids == [a["id"] for a in created]
    assert third["next_cursor"] is None
    bad = await gw.client.get(f"{gw.owner_url()}/agents", params={"limit": 0})
    assert_problem(bad, 422, "validation_failed")


async def test_agent_status_changes_and_revocation_is_final(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    url = f"{gw.owner_url()}/agents/{agent['id']}"
    assert (await gw.client.patch(url, json={"status": "disabled"})).json()["status"] == "disabled"
    assert (await gw.client.patch(url, json={"status": "active"})).json()["status"] == "active"
    bad = await gw.client.patch(url, json={"status": "revoked"})
    assert assert_problem(bad, 422, "validation_failed")["errors"][0]["field"] == "status"
    assert (await gw.client.post(f"{url}/revoke")).json()["status"] == "revoked"
    again = await gw.client.patch(url, json={"status": "active"})
    assert_problem(again, 422, "validation_failed")


async def test_lifecycle_push_disables_then_revokes(gw: ServedGateway) -> None:
    agent = await gw.create_agent()
    token = await gw.token(agent["id"])
    suspended = await gw.client.post(f"{gw.owner_url()}/lifecycle", json={"status": "suspended"})
    assert suspended.json()["agents_changed"] == [agent["id"]]
    assert (await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}")).json()[
        "status"
    ] == "disabled"
    deleted = await gw.client.post(f"{gw.owner_url()}/lifecycle", json={"status": "deleted"})
    assert deleted.json()["tokens_revoked"] == 1
    tokens = (await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/tokens")).json()["items"]
    assert [t["status"] for t in tokens] == ["revoked"]
    assert token not in deleted.text
    events = (await gw.client.get(f"{gw.owner_url()}/agents/{agent['id']}/audit")).json()["items"]
    assert [e["event_type"] for e in events[:2]] == ["owner.deleted", "owner.suspended"]
    bad = await gw.client.post(f"{gw.owner_url()}/lifecycle", json={"status": "paused"})
    assert_problem(bad, 422, "validation_failed")


async def test_bodies_are_strict_and_errors_name_the_field(gw: ServedGateway) -> None:
    url = f"{gw.owner_url()}/agents"
    extra = await gw.client.post(
        url, json={"display_name": "x", "owner_email": "a@b.co", "is_admin": True}
    )
    assert assert_problem(extra, 422, "validation_failed")["errors"][0]["field"] == "is_admin"
    typed = await gw.client.post(url, json={"display_name": 5, "owner_email": "a@b.co"})
    assert assert_problem(typed, 422, "validation_failed")["errors"][0]["field"] == "display_name"
    semantic = await gw.client.post(url, json={"display_name": "x", "owner_email": "not-an-email"})
    assert assert_problem(semantic, 422, "validation_failed")["errors"][0]["field"] == "owner_email"
    broken = await gw.client.post(
        url, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(broken, 422, "validation_failed")
    huge = await gw.client.post(
        url, content=b"x" * (2 * 1024 * 1024), headers={"content-type": "application/json"}
    )
    assert huge.status_code in (413, 422)
    assert huge.json()["code"] == "validation_failed"


async def test_every_problem_uses_a_contract_code(gw: ServedGateway) -> None:
    responses = [
        await gw.client.get("/nope"),
        await gw.client.put(f"{gw.owner_url()}/agents"),
        await gw.client.get(f"{gw.owner_url()}/agents/not-a-uuid"),
        await gw.client.get(f"{gw.owner_url()}/access-requests", params={"status": "bogus"}),
        await gw.client.get("/internal/v1/workspaces/demo/nowhere"),
    ]
    for response in responses:
        assert response.status_code >= 400
        assert response.json()["code"] in CONTRACT_CODES


async def test_health_metrics_and_openapi(gw: ServedGateway) -> None:
    async with httpx.AsyncClient(base_url=gw.url) as public:
        assert (await public.get("/health/live")).json() == {"status": "ok", "checks": {}}
        ready = await public.get("/health/ready")
        assert ready.status_code == 200
        assert set(ready.json()["checks"]) >= {"tasker", "launcher"}
        metrics = await public.get("/metrics")
        assert "nodedc_http_requests_total" in metrics.text
        assert "owner_user_id}" in metrics.text or "/health/ready" in metrics.text
        schema = (await public.get("/schema/openapi.json")).json()
    operations = {op["operationId"] for item in schema["paths"].values() for op in item.values()}
    assert {
        "create_agent",
        "list_agents",
        "get_agent",
        "update_agent",
        "revoke_agent",
        "issue_token",
        "list_tokens",
        "revoke_token",
        "create_pairing_code",
        "list_grants",
        "create_grant",
        "update_grant",
        "revoke_grant",
        "list_grant_versions",
        "list_audit_events",
        "owner_lifecycle",
        "redeem_pairing_code",
        "health_live",
        "health_ready",
        "metrics",
    } <= operations
