"""Console links and sessions in the gateway database, shared by every replica.

Redeeming a link and touching a session are each one `UPDATE … WHERE <still valid>
RETURNING`: the row lock makes a link's single use hold across replicas, and a session
signed out or expired anywhere is refused by the next statement that reads it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql.engine import autocommit
from nodedc_gateway.adapters.persistence.sql.tables import console_links, console_sessions
from nodedc_gateway.domain.console import SESSION_IDLE, ConsoleLink, ConsoleSession


class SqlConsoleSessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_link(self, link: ConsoleLink) -> None:
        async with autocommit(self._engine) as connection:
            await connection.execute(insert(console_links).values(**_link_row(link)))

    async def redeem_link(self, code_hashes: Sequence[str], now: datetime) -> ConsoleLink | None:
        c = console_links.c
        statement = (
            update(console_links)
            .where(c.code_hash.in_(list(code_hashes)), c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now)
            .returning(*console_links.c)
        )
        async with autocommit(self._engine) as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else ConsoleLink(**row._asdict())

    async def add_session(self, session: ConsoleSession) -> None:
        row = {column.name: getattr(session, column.name) for column in console_sessions.c}
        async with autocommit(self._engine) as connection:
            await connection.execute(insert(console_sessions).values(**row))

    async def touch_session(
        self, token_hashes: Sequence[str], now: datetime
    ) -> ConsoleSession | None:
        c = console_sessions.c
        statement = (
            update(console_sessions)
            .where(
                c.token_hash.in_(list(token_hashes)),
                c.ended_at.is_(None),
                c.expires_at > now,
                c.last_seen_at > now - SESSION_IDLE,
            )
            # never moves backwards when replicas' clocks disagree a little
            .values(last_seen_at=case((c.last_seen_at > now, c.last_seen_at), else_=now))
            .returning(*console_sessions.c)
        )
        async with autocommit(self._engine) as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else ConsoleSession(**row._asdict())

    async def end_session(self, session_id: str, now: datetime) -> bool:
        c = console_sessions.c
        statement = (
            update(console_sessions)
            .where(c.id == session_id, c.ended_at.is_(None))
            .values(ended_at=now)
        )
        async with autocommit(self._engine) as connection:
            result = await connection.execute(statement)
        return bool(result.rowcount)

    async def purge(self, now: datetime) -> int:
        async with autocommit(self._engine) as connection:
            links = await connection.execute(
                delete(console_links).where(console_links.c.expires_at <= now)
            )
            sessions = await connection.execute(
                delete(console_sessions).where(
                    or_(console_sessions.c.expires_at <= now, console_sessions.c.ended_at <= now)
                )
            )
        return int(links.rowcount) + int(sessions.rowcount)


def _link_row(link: ConsoleLink) -> dict[str, Any]:
    return {column.name: getattr(link, column.name) for column in console_links.c}


if TYPE_CHECKING:  # mypy proves the adapter fits the port
    from nodedc_gateway.ports.console import ConsoleSessionStore

    def _fits_port(store: SqlConsoleSessionStore) -> ConsoleSessionStore:
        return store
