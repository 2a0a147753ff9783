"""`nodedc-gateway audit verify` on real SQLite and PostgreSQL databases: untouched chains
pass; an edited, removed or truncated row, or a deleted chain head, is one line each and
a non-zero exit. Batches are small here so every chain spans several of them."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete, update

from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
from nodedc_gateway.adapters.persistence.sql.tables import audit_chain_heads, audit_events
from nodedc_gateway.application.audit_verification import verify_audit_chain
from nodedc_gateway.domain.audit import SYSTEM_CHAIN, AuditDecision
from nodedc_gateway.entrypoints.cli import main
from nodedc_gateway.entrypoints.settings import PREFIX
from nodedc_gateway.ports.unit_of_work import UnitOfWork
from tests.contracts.persistence_backends import PersistenceUnderTest, backend_fixture
from tests.support import entities as e
from tests.support.served import INTERNAL_TOKEN, PEPPER

backend = backend_fixture(("sqlite", "postgres"))


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def write_chains(backend: PersistenceUnderTest) -> tuple[str, str]:
    """Two agents' chains (23 and 5 events, allows and denies) and the system chain."""
    busy, quiet = e.new_id(), e.new_id()
    for n in range(23):
        decision = AuditDecision.DENY if n % 3 == 0 else AuditDecision.ALLOW
        async with backend.uow() as uow:
            await uow.audit.append(
                [e.draft(busy, now=e.T0 + timedelta(seconds=n), decision=decision)]
            )
            await uow.commit()
    async with backend.uow() as uow:
        await uow.audit.append([e.draft(quiet) for _ in range(5)])
        await uow.audit.append([e.draft(None, event_type="owner_lifecycle")])
        await uow.commit()
    return busy, quiet


async def verify(url: str, batch_size: int = 4) -> Result:
    env = {
        PREFIX + "DATABASE_URL": url,
        PREFIX + "INTERNAL_TOKEN": INTERNAL_TOKEN,
        PREFIX + "TOKEN_PEPPER": PEPPER,
    }
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke,
        main,
        ["audit", "verify", "--batch-size", str(batch_size)],
        env=env,
        catch_exceptions=False,
    )


async def test_untouched_chains_pass(
    backend: PersistenceUnderTest, clean_environment: Path
) -> None:
    await write_chains(backend)
    assert backend.url is not None

    result = await verify(backend.url)

    assert result.exit_code == 0, result.output
    assert result.stdout == "audit verify passed: 3 chains, 29 events, every chain intact\n"


async def test_each_kind_of_tampering_is_one_line(
    backend: PersistenceUnderTest, clean_environment: Path
) -> None:
    busy, quiet = await write_chains(backend)
    assert backend.url is not None
    assert backend.engine is not None
    events = audit_events.c
    async with backend.engine.begin() as connection:
        # Someone turns a refusal into an allow, straight in the database...
        await connection.execute(
            update(audit_events)
            .where(events.chain_id == busy, events.seq == 10)
            .values(decision="allow", reason=None)
        )
        # ...drops the last event of another chain...
        await connection.execute(
            delete(audit_events).where(events.chain_id == quiet, events.seq == 5)
        )
        # ...and removes the head that anchors the system chain's end.
        await connection.execute(
            delete(audit_chain_heads).where(audit_chain_heads.c.chain_id == SYSTEM_CHAIN)
        )

    result = await verify(backend.url)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [  # chains in id order: UUIDv7s, then "system"
        f"chain {busy}: edited event at event 10 (9 events verified before it)",
        f"chain {quiet}: chain shorter than its head (events removed) at event 5 "
        "(4 events verified before it)",
        f"chain {SYSTEM_CHAIN}: chain head missing (1 events verified before it)",
        "audit verify failed: 3 of 3 chains broken (14 events verified)",
    ]


async def test_a_missing_event_in_the_middle_is_caught(
    backend: PersistenceUnderTest, clean_environment: Path
) -> None:
    busy, _ = await write_chains(backend)
    assert backend.url is not None
    assert backend.engine is not None
    async with backend.engine.begin() as connection:
        await connection.execute(
            delete(audit_events).where(audit_events.c.chain_id == busy, audit_events.c.seq == 17)
        )

    result = await verify(backend.url, batch_size=5)

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"chain {busy}: missing or reordered event at event 17 (16 events verified before it)"
    )


async def test_events_appended_while_verifying_are_not_a_break() -> None:
    """The verification checks up to the head it read first; a serving gateway keeps
    appending meanwhile."""
    store = MemoryUnitOfWorkFactory()
    agent_id = e.new_id()
    async with store() as uow:
        await uow.audit.append([e.draft(agent_id) for _ in range(6)])
        await uow.commit()
    opened = 0

    @asynccontextmanager
    async def busy_store() -> AsyncIterator[UnitOfWork]:
        nonlocal opened
        opened += 1
        if opened == 2:  # right after the head was read
            async with store() as writer:
                await writer.audit.append([e.draft(agent_id) for _ in range(3)])
                await writer.commit()
        async with store() as uow:
            yield uow

    check = await verify_audit_chain(busy_store, agent_id, batch_size=2)  # type: ignore[arg-type]

    assert check.ok
    assert check.events == 6
