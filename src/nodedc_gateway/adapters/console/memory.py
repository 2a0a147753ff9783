"""Console links and sessions in process: the embedded single-process default."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from nodedc_gateway.domain.console import ConsoleLink, ConsoleSession

MAX_ENTRIES = 100_000


class MemoryConsoleSessionStore:
    """No await between a read and its write: each method is atomic in one event loop."""

    def __init__(self) -> None:
        self._links: dict[str, ConsoleLink] = {}  # by code hash
        self._sessions: dict[str, ConsoleSession] = {}  # by token hash

    async def add_link(self, link: ConsoleLink) -> None:
        if len(self._links) >= MAX_ENTRIES:
            await self.purge(link.created_at)
        self._links[link.code_hash] = link

    async def redeem_link(self, code_hashes: Sequence[str], now: datetime) -> ConsoleLink | None:
        for code_hash in code_hashes:
            link = self._links.get(code_hash)
            if link is not None and link.is_redeemable(now):
                used = attrs.evolve(link, used_at=now)
                self._links[code_hash] = used
                return used
        return None

    async def add_session(self, session: ConsoleSession) -> None:
        if len(self._sessions) >= MAX_ENTRIES:
            await self.purge(session.created_at)
        self._sessions[session.token_hash] = session

    async def touch_session(
        self, token_hashes: Sequence[str], now: datetime
    ) -> ConsoleSession | None:
        for token_hash in token_hashes:
            session = self._sessions.get(token_hash)
            if session is not None and session.is_live(now):
                touched = attrs.evolve(session, last_seen_at=max(now, session.last_seen_at))
                self._sessions[token_hash] = touched
                return touched
        return None

    async def end_session(self, session_id: str, now: datetime) -> bool:
        for token_hash, session in self._sessions.items():
            if session.id == session_id and session.ended_at is None:
                self._sessions[token_hash] = attrs.evolve(session, ended_at=now)
                return True
        return False

    async def purge(self, now: datetime) -> int:
        links = {h: k for h, k in self._links.items() if k.expires_at > now}
        sessions = {
            h: s
            for h, s in self._sessions.items()
            if s.expires_at > now and (s.ended_at is None or s.ended_at > now)
        }
        gone = len(self._links) - len(links) + len(self._sessions) - len(sessions)
        self._links, self._sessions = links, sessions
        return gone


if TYPE_CHECKING:
    from nodedc_gateway.ports.console import ConsoleSessionStore

    _conforms: ConsoleSessionStore = MemoryConsoleSessionStore()
