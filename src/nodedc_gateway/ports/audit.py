"""The audit log: append-only, one hash chain per agent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from nodedc_gateway.domain.audit import AuditDecision, AuditDraft, AuditEvent, ChainHead
from nodedc_gateway.domain.idempotency import IdempotencyRecord


@attrs.frozen
class AuditQuery:
    """Filters for reading one agent's events, newest first."""

    agent_id: str
    limit: int = 50
    before_seq: int | None = None  # cursor: events older than this sequence number
    operation: str | None = None
    decision: AuditDecision | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLog(Protocol):
    async def append(self, drafts: Sequence[AuditDraft]) -> Sequence[AuditEvent]:
        """Link each draft into its chain (in order) and store it. Safe under concurrency:
        appends to one chain are serialized by the store."""
        ...

    async def query(self, query: AuditQuery) -> Sequence[AuditEvent]: ...

    async def chain(
        self, chain_id: str, after_seq: int = 0, limit: int = 1000
    ) -> Sequence[AuditEvent]:
        """Events of one chain in sequence order, for verification."""
        ...

    async def head(self, chain_id: str) -> ChainHead | None: ...

    async def chain_ids(self) -> Sequence[str]: ...


class CallRecorder(Protocol):
    #: Whether a record is written on the event loop's own I/O (a statement on an async
    #: driver), so that other work of the loop can go on meanwhile; False when it is
    #: written by a thread of its own, which would contend with that work for the
    #: interpreter (SQLite): then the caller waits for it instead.
    concurrent: bool

    async def record(
        self,
        draft: AuditDraft,
        completed: IdempotencyRecord | None,
        token_use: tuple[str, datetime] | None,
    ) -> bool:
        """Write an agent call's closing record in one atomic step, when the store can
        without locking the chain's head for it: the event linked at the end of its
        agent's chain (as `AuditLog.append`), the completed idempotency record over its
        claim (as `IdempotencyStore.complete`) and the token's last use (token id, time;
        as `TokenRepository.record_use`). True when all were written; False when nothing
        was (the caller then writes them in a unit of work)."""
        ...
