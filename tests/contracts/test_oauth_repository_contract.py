"""OAuthRepository contract: memory, SQLite and PostgreSQL behave the same."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.oauth import ClientSource, OAuthClient, RefreshStatus
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


_code, _refresh = e.oauth_code, e.refresh_token


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


async def test_the_purge_deletes_expired_codes_used_or_not_and_keeps_live_ones(
    backend: PersistenceUnderTest,
) -> None:
    agent = await _agent(backend)
    used, unused, live = _code(agent.id), _code(agent.id), _code(agent.id)
    live.expires_at = e.T0 + timedelta(hours=1)
    async with backend.uow() as uow:
        for code in (used, unused, live):
            await uow.oauth.add_code(code)
        assert await uow.oauth.consume_code(used.id, SOON)
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.purge(used.expires_at - timedelta(seconds=1)) == 0
        assert await uow.oauth.purge(used.expires_at) == 2
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.find_code([used.code_hash]) is None
        assert await uow.oauth.find_code([unused.code_hash]) is None
        assert await uow.oauth.find_code([live.code_hash]) == live


async def test_the_purge_forgets_a_refresh_family_only_once_every_token_expired(
    backend: PersistenceUnderTest,
) -> None:
    """A rotated or revoked token, expired itself, stays while a later member of its family
    lives: presented again it must still be found, so the replay revokes the family."""
    agent = await _agent(backend)
    family, revoked_family, dead = e.new_id(), e.new_id(), e.new_id()
    old, new = _refresh(agent.id, family), _refresh(agent.id, family, minutes=5)
    new.expires_at = old.expires_at + timedelta(days=1)
    revoked = _refresh(agent.id, revoked_family)
    revoked_last = _refresh(agent.id, revoked_family, minutes=5)
    revoked_last.expires_at = new.expires_at
    gone = _refresh(agent.id, dead)
    async with backend.uow() as uow:
        for token in (old, new, revoked, revoked_last, gone):
            await uow.oauth.add_refresh(token)
        assert await uow.oauth.rotate_refresh(old.id, SOON)
        assert await uow.oauth.revoke_family(revoked_family) == 2
        await uow.commit()
    async with backend.uow() as uow:
        # Every member of `dead` expired; the other two families still have a live one.
        assert await uow.oauth.purge(old.expires_at) == 1
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.find_refresh([gone.token_hash]) is None
        assert await uow.oauth.family(dead) == []
        replayed = await uow.oauth.find_refresh([old.token_hash])
        assert replayed is not None
        assert replayed.status is RefreshStatus.ROTATED
        assert len(await uow.oauth.family(revoked_family)) == 2
        assert await uow.oauth.revoke_family(family) == 2
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.purge(new.expires_at - timedelta(seconds=1)) == 0
        assert await uow.oauth.purge(new.expires_at) == 4
        assert await uow.oauth.purge(new.expires_at) == 0
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.family(family) == []
        assert await uow.oauth.family(revoked_family) == []


async def test_the_purge_never_deletes_clients_and_a_rolled_back_purge_deletes_nothing(
    backend: PersistenceUnderTest,
) -> None:
    agent = await _agent(backend)
    client, code = _client(), _code(agent.id)
    async with backend.uow() as uow:
        await uow.oauth.put_client(client)
        await uow.oauth.add_code(code)
        await uow.commit()
    far = e.T0 + timedelta(days=3650)
    async with backend.uow() as uow:
        assert await uow.oauth.purge(far) == 1
    async with backend.uow() as uow:
        assert await uow.oauth.find_code([code.code_hash]) == code
        assert await uow.oauth.purge(far) == 1
        await uow.commit()
    async with backend.uow() as uow:
        assert await uow.oauth.get_client(client.client_id) == client


async def test_two_purges_at_once_delete_each_row_once(backend: PersistenceUnderTest) -> None:
    agent = await _agent(backend)
    family = e.new_id()
    async with backend.uow() as uow:
        for code in (_code(agent.id), _code(agent.id)):
            await uow.oauth.add_code(code)
        for minutes in (0, 5, 10):
            await uow.oauth.add_refresh(_refresh(agent.id, family, minutes))
        await uow.commit()
    far = e.T0 + timedelta(days=3650)

    async def purge() -> int:
        async with backend.uow() as uow:
            count = await uow.oauth.purge(far)
            await uow.commit()
        return count

    counts = await asyncio.gather(purge(), purge())
    assert sum(counts) == 5
    async with backend.uow() as uow:
        assert await uow.oauth.family(family) == []
