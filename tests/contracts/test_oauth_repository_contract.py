"""OAuthRepository contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.oauth import (
    AUTHORIZATION_CODE_TTL,
    REFRESH_TOKEN_TTL,
    AuthorizationCode,
    ClientSource,
    OAuthClient,
    RefreshStatus,
    RefreshToken,
)
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()

SOON = e.T0 + timedelta(minutes=1)


def _client(client_id: str = "https://client.example/meta.json") -> OAuthClient:
    return OAuthClient(
        client_id=client_id,
        client_name="Codex",
        redirect_uris=("http://127.0.0.1:1455/callback",),
        document={"client_id": client_id, "redirect_uris": ["http://127.0.0.1:1455/callback"]},
        source=ClientSource.METADATA_DOCUMENT,
        created_at=e.T0,
        fetched_at=e.T0,
    )


def _code(agent_id: str, family_id: str | None = None) -> AuthorizationCode:
    return AuthorizationCode(
        id=e.new_id(),
        code_hash=e.fake_hash(e.new_id()),
        client_id="client-1",
        agent_id=agent_id,
        redirect_uri="http://127.0.0.1:1455/callback",
        redirect_uri_explicit=True,
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        resource="https://gateway.example/mcp",
        scopes=(),
        family_id=family_id or e.new_id(),
        expires_at=e.T0 + AUTHORIZATION_CODE_TTL,
        created_at=e.T0,
    )


def _refresh(agent_id: str, family_id: str, minutes: int = 0) -> RefreshToken:
    return RefreshToken(
        id=e.new_id(),
        token_hash=e.fake_hash(e.new_id()),
        family_id=family_id,
        client_id="client-1",
        agent_id=agent_id,
        access_token_id=e.new_id(),
        resource="https://gateway.example/mcp",
        scopes=(),
        status=RefreshStatus.ACTIVE,
        expires_at=e.T0 + REFRESH_TOKEN_TTL,
        created_at=e.T0 + timedelta(minutes=minutes),
    )


async def _agent(backend: PersistenceUnderTest) -> Agent:
    agent = e.agent()
    async with backend.uow() as uow:
        await uow.agents.add(agent)
        await uow.commit()
    return agent


async def test_a_client_is_stored_read_back_and_replaced(backend: PersistenceUnderTest) -> None:
    client = _client()
    async with backend.uow() as uow:
        assert await uow.oauth.get_client(client.client_id) is None
        await uow.oauth.put_client(client)
        await uow.commit()
    refreshed = _client()
    refreshed.client_name, refreshed.fetched_at = "Codex CLI", SOON
    async with backend.uow() as uow:
        assert await uow.oauth.get_client(client.client_id) == client
        await uow.oauth.put_client(refreshed)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.get_client(client.client_id) == refreshed


async def test_a_client_not_committed_leaves_no_trace(backend: PersistenceUnderTest) -> None:
    async with backend.uow() as uow:
        await uow.oauth.put_client(_client("https://c.example/x"))
    async with backend.uow() as uow:
        assert await uow.oauth.get_client("https://c.example/x") is None


async def test_a_code_is_found_by_hash_unique_and_consumed_once(
    backend: PersistenceUnderTest,
) -> None:
    agent = await _agent(backend)
    code = _code(agent.id)
    async with backend.uow() as uow:
        await uow.oauth.add_code(code)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.find_code([e.fake_hash("x"), code.code_hash]) == code
        assert await uow.oauth.find_code([]) is None
        twin = _code(agent.id)
        twin.code_hash = code.code_hash
        with pytest.raises(ValueError, match="exists"):
            await uow.oauth.add_code(twin)
    async with backend.uow() as uow:
        assert await uow.oauth.consume_code(code.id, SOON)
        assert not await uow.oauth.consume_code(code.id, SOON)
        await uow.commit()
    async with backend.uow() as uow:
        read = await uow.oauth.find_code([code.code_hash])
        assert not await uow.oauth.consume_code(e.new_id(), SOON)
    assert read is not None
    assert read.used_at == SOON


async def test_an_expired_code_is_not_consumed(backend: PersistenceUnderTest) -> None:
    agent = await _agent(backend)
    code = _code(agent.id)
    async with backend.uow() as uow:
        await uow.oauth.add_code(code)
        assert not await uow.oauth.consume_code(code.id, code.expires_at)


async def test_a_refresh_token_rotates_once_and_its_family_is_revoked_together(
    backend: PersistenceUnderTest,
) -> None:
    agent = await _agent(backend)
    family = e.new_id()
    first, second = _refresh(agent.id, family), _refresh(agent.id, family, minutes=5)
    other = _refresh(agent.id, e.new_id())
    async with backend.uow() as uow:
        for token in (first, second, other):
            await uow.oauth.add_refresh(token)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.find_refresh([first.token_hash]) == first
        assert await uow.oauth.find_by_access_token(second.access_token_id) == second
        assert await uow.oauth.find_by_access_token(e.new_id()) is None
        assert await uow.oauth.find_refresh([e.fake_hash("x")]) is None
        assert await uow.oauth.rotate_refresh(first.id, SOON)
        assert not await uow.oauth.rotate_refresh(first.id, SOON)
        assert not await uow.oauth.rotate_refresh(second.id, second.expires_at)
        await uow.commit()
    async with backend.uow() as uow:
        statuses = [t.status for t in await uow.oauth.family(family)]
        assert statuses == [RefreshStatus.ROTATED, RefreshStatus.ACTIVE]
        assert await uow.oauth.revoke_family(family) == 2
        assert await uow.oauth.revoke_family(family) == 0
        await uow.commit()
    async with backend.uow() as uow:
        assert {t.status for t in await uow.oauth.family(family)} == {RefreshStatus.REVOKED}
        untouched = await uow.oauth.find_refresh([other.token_hash])
        assert untouched is not None
        assert untouched.status is RefreshStatus.ACTIVE
        assert not await uow.oauth.rotate_refresh(second.id, SOON)
