"""Console links and sessions, shared by every replica (CONTRACT §13).

Each method is one atomic statement that commits on its own: a link is redeemed once
even when two replicas race for it, and a session's liveness (idle, absolute, signed out)
is checked in the statement that reads and touches it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from nodedc_gateway.domain.console import ConsoleLink, ConsoleSession


class ConsoleSessionStore(Protocol):
    async def add_link(self, link: ConsoleLink) -> None: ...

    async def redeem_link(self, code_hashes: Sequence[str], now: datetime) -> ConsoleLink | None:
        """Mark the unused, unexpired link with one of these hashes used at `now` and
        return it; None when there is none (unknown, used or expired: one answer)."""
        ...

    async def add_session(self, session: ConsoleSession) -> None: ...

    async def touch_session(
        self, token_hashes: Sequence[str], now: datetime
    ) -> ConsoleSession | None:
        """The live session with one of these hashes, its last use moved to `now`; None
        when there is none or it is idle past its limit, past its end or signed out."""
        ...

    async def end_session(self, session_id: str, now: datetime) -> bool:
        """Sign out: the session is refused from now on, everywhere."""
        ...

    async def purge(self, now: datetime) -> int:
        """Forget expired links and sessions; returns how many rows went."""
        ...
