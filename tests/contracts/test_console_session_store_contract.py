"""ConsoleSessionStore contract (CONTRACT §13), against every backend: a link opens
once, within its two minutes; a session lives until idle, its absolute end or sign-out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from nodedc_gateway.adapters.console.memory import MemoryConsoleSessionStore
from nodedc_gateway.adapters.console.sql import SqlConsoleSessionStore
from nodedc_gateway.domain.console import (
    LINK_TTL,
    SESSION_ABSOLUTE,
    SESSION_IDLE,
    ConsoleLink,
    ConsoleSession,
)
from nodedc_gateway.ports.console import ConsoleSessionStore
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e

backend = backend_fixture()
US = timedelta(microseconds=1)


def store_of(backend: PersistenceUnderTest) -> ConsoleSessionStore:
    if backend.engine is None:
        return MemoryConsoleSessionStore()
    return SqlConsoleSessionStore(backend.engine)


def link(code_hash: str = "h-link", owner: str = "owner-1") -> ConsoleLink:
    return ConsoleLink.issue(
        link_id=f"id-{code_hash}",
        code_hash=code_hash,
        owner_user_id=owner,
        actor_user_id="actor-1",
        now=e.T0,
    )


async def started(store: ConsoleSessionStore, hashed: str = "h-token") -> ConsoleSession:
    session = ConsoleSession.start(
        session_id=f"id-{hashed}", token_hash=hashed, link=link(), now=e.T0
    )
    await store.add_session(session)
    return session


async def test_a_link_opens_once(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await store.add_link(link())
    opened = await store.redeem_link(["other", "h-link"], e.T0 + LINK_TTL - US)
    assert opened is not None
    assert (opened.owner_user_id, opened.actor_user_id) == ("owner-1", "actor-1")
    assert opened.used_at == e.T0 + LINK_TTL - US
    assert await store.redeem_link(["h-link"], e.T0 + US) is None


async def test_a_link_races_to_one_winner(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await store.add_link(link())
    results = await asyncio.gather(*(store.redeem_link(["h-link"], e.T0) for _ in range(4)))
    assert sum(r is not None for r in results) == 1


async def test_an_expired_or_unknown_link_does_not_open(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await store.add_link(link())
    assert await store.redeem_link(["h-link"], e.T0 + LINK_TTL) is None
    assert await store.redeem_link(["nope"], e.T0) is None


async def test_a_session_is_touched_while_live(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await started(store)
    later = e.T0 + SESSION_IDLE - US
    touched = await store.touch_session(["h-token"], later)
    assert touched is not None
    assert touched.last_seen_at == later
    # the idle clock restarted at `later`
    assert await store.touch_session(["h-token"], later + SESSION_IDLE - US) is not None


async def test_an_idle_session_is_refused(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await started(store)
    assert await store.touch_session(["h-token"], e.T0 + SESSION_IDLE) is None


async def test_a_session_ends_at_its_absolute_limit(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await started(store)
    at = e.T0
    while at + SESSION_IDLE < e.T0 + SESSION_ABSOLUTE:
        at += SESSION_IDLE - US
        assert await store.touch_session(["h-token"], min(at, e.T0 + SESSION_ABSOLUTE - US))
    assert await store.touch_session(["h-token"], e.T0 + SESSION_ABSOLUTE) is None


async def test_a_signed_out_session_is_refused(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    session = await started(store)
    assert await store.end_session(session.id, e.T0 + US)
    assert not await store.end_session(session.id, e.T0 + US)
    assert await store.touch_session(["h-token"], e.T0 + US) is None


async def test_purge_forgets_what_ended(backend: PersistenceUnderTest) -> None:
    store = store_of(backend)
    await store.add_link(link())
    await started(store)
    assert await store.purge(e.T0) == 0
    assert await store.purge(e.T0 + SESSION_ABSOLUTE) == 2
    assert await store.redeem_link(["h-link"], e.T0) is None
