"""Audit events and the per-agent hash chain (ARCHITECTURE.md, "Audit").

Each chain links its events by `hash = SHA-256(prev_hash ‖ canonical JSON of the event)`.
Editing, removing or reordering any event breaks a link, and the chain head (its last
hash and length, kept apart) catches a truncated tail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from nodedc_gateway.domain.canonical import canonical_json, format_timestamp, sha256_hex
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import GrantRef

GENESIS_HASH = "0" * 64
#: The chain of events that belong to no agent (an owner's lifecycle with no agents yet).
SYSTEM_CHAIN = "system"
#: An operation or event type name, as a filter may give it.
MAX_EVENT_NAME = 64
#: An event's `seq` in decimal, as a page cursor carries it.
MAX_SEQ_DIGITS = 18


class AuditDecision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@attrs.frozen
class AuditDraft:
    """An event as the application writes it, before it is linked into its chain."""

    id: str
    agent_id: str | None
    owner_user_id: str | None
    actor_user_id: str | None
    event_type: str
    operation: str
    decision: AuditDecision
    reason: ErrorCode | None
    target: Mapping[str, Any]
    grant_versions: tuple[GrantRef, ...]
    metadata: Mapping[str, Any]
    created_at: datetime

    @property
    def chain_id(self) -> str:
        return self.agent_id or SYSTEM_CHAIN


@attrs.frozen
class AuditEvent:
    """A linked, immutable audit event."""

    draft: AuditDraft
    chain_id: str
    seq: int
    prev_hash: str
    hash: str

    @property
    def id(self) -> str:
        return self.draft.id

    @property
    def agent_id(self) -> str | None:
        return self.draft.agent_id

    @property
    def created_at(self) -> datetime:
        return self.draft.created_at


@attrs.frozen
class ChainHead:
    chain_id: str
    seq: int  # number of events in the chain
    last_hash: str


def hashed_body(draft: AuditDraft, chain_id: str, seq: int) -> dict[str, Any]:
    """Everything an event says, as hashed: any edit to any of it changes the hash."""
    return {
        "id": draft.id,
        "chain_id": chain_id,
        "seq": seq,
        "agent_id": draft.agent_id,
        "owner_user_id": draft.owner_user_id,
        "actor_user_id": draft.actor_user_id,
        "event_type": draft.event_type,
        "operation": draft.operation,
        "decision": str(draft.decision),
        "reason": None if draft.reason is None else str(draft.reason),
        "target": dict(draft.target),
        "grant_versions": [ref.as_dict() for ref in draft.grant_versions],
        "metadata": dict(draft.metadata),
        "created_at": format_timestamp(draft.created_at),
    }


def event_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    return sha256_hex(prev_hash + canonical_json(body))


def link(head: ChainHead | None, draft: AuditDraft) -> tuple[AuditEvent, ChainHead]:
    """Append one draft after the chain's head; returns the event and the new head."""
    chain_id = draft.chain_id
    prev_hash = head.last_hash if head is not None else GENESIS_HASH
    seq = (head.seq if head is not None else 0) + 1
    digest = event_hash(prev_hash, hashed_body(draft, chain_id, seq))
    event = AuditEvent(draft=draft, chain_id=chain_id, seq=seq, prev_hash=prev_hash, hash=digest)
    return event, ChainHead(chain_id=chain_id, seq=seq, last_hash=digest)


@attrs.frozen
class ChainCheck:
    chain_id: str
    ok: bool
    events: int
    problem: str | None = None
    at_seq: int | None = None


class ChainVerifier:
    """Checks one chain fed in sequence order, in batches of any size (chains can be long)."""

    def __init__(self, chain_id: str) -> None:
        self.chain_id = chain_id
        self._prev_hash = GENESIS_HASH
        self._count = 0
        self._failure: ChainCheck | None = None

    def feed(self, events: Sequence[AuditEvent]) -> bool:
        """Check the next events; False once the chain is known to be broken."""
        for event in events:
            if self._failure is not None:
                return False
            expected = self._count + 1
            if event.chain_id != self.chain_id or event.seq != expected:
                self._fail("missing or reordered event", expected)
            elif event.prev_hash != self._prev_hash:
                self._fail("broken link", expected)
            elif (
                event_hash(self._prev_hash, hashed_body(event.draft, self.chain_id, event.seq))
                != event.hash
            ):
                self._fail("edited event", expected)
            else:
                self._prev_hash = event.hash
                self._count = expected
        return self._failure is None

    def finish(self, head: ChainHead | None) -> ChainCheck:
        """The verdict, comparing the end of the chain with its stored head."""
        if self._failure is not None:
            return self._failure
        if head is not None and (head.seq != self._count or head.last_hash != self._prev_hash):
            return ChainCheck(
                self.chain_id,
                False,
                self._count,
                "chain shorter than its head (events removed)",
                self._count + 1,
            )
        return ChainCheck(self.chain_id, True, self._count)

    def _fail(self, problem: str, seq: int) -> None:
        self._failure = ChainCheck(self.chain_id, False, self._count, problem, seq)


def verify_chain(
    chain_id: str, events: Sequence[AuditEvent], head: ChainHead | None = None
) -> ChainCheck:
    """Recompute a whole chain (events in seq order) and compare with its stored head."""
    verifier = ChainVerifier(chain_id)
    verifier.feed(events)
    return verifier.finish(head)
