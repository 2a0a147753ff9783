"""A call's closing record in one step: on PostgreSQL one statement, without holding the
chain's head; on SQLite one write transaction in one hop to the driver (`_SqliteSteps`).

The unit-of-work path locks the head (`SELECT … FOR UPDATE`), links the event, writes it
and the new head, the stored response and the token's last use, and commits: five round
trips, the head locked throughout. Here the head is known in advance (this process
remembers the last head it wrote per chain, or reads it), the event is linked to it, and
one autocommit statement writes everything only if the head is still that one:

    WITH moved     AS (UPDATE audit_chain_heads SET seq = new, last_hash = new
                       WHERE chain_id = c AND seq = old AND last_hash = old RETURNING …),
         written   AS (INSERT INTO audit_events SELECT … FROM moved),
         completed AS (INSERT INTO idempotency_keys SELECT … FROM moved ON CONFLICT …),
         used      AS (UPDATE agent_tokens SET last_used_at … WHERE EXISTS (moved)
                       AND the row is not locked by another writer (SKIP LOCKED))
    SELECT count(*) AS written FROM written

A compare-and-swap on the head: if another transaction (a replica, an owner action) moved
it, nothing is written, and the head is read again for one more try; then the caller
takes the locking path. So does a statement PostgreSQL aborted (a deadlock, a lock
timeout): it wrote nothing, and the locking path records the call instead of the call
failing after its work is done. Calls of one agent in this process take turns on a lock of
the process (striped by chain), so they do not race each other's swap. The statement commits
synchronously: the audit event is on disk before the answer leaves, as before.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from nodedc_gateway.adapters.persistence.sql import mapping as m
from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.direct import (
    DirectStatement,
    Transaction,
    write_transaction,
)
from nodedc_gateway.adapters.persistence.sql.engine import autocommit, insert, is_sqlite
from nodedc_gateway.adapters.persistence.sql.repositories import (
    SqlAuditLog,
    bound_values,
    parameters,
    replacing,
)
from nodedc_gateway.adapters.turns import Turns
from nodedc_gateway.domain.audit import AuditDraft, ChainHead, link
from nodedc_gateway.domain.idempotency import IdempotencyRecord

if TYPE_CHECKING:
    from nodedc_gateway.ports.audit import CallRecorder

#: SQLSTATEs of a statement PostgreSQL aborted on its own, having written nothing, that the
#: locking path can simply do again: deadlock, serialization failure, lock timeout.
ABORTED_ALONE = frozenset({"40P01", "40001", "55P03"})
#: Heads remembered at most (beyond, forgotten all at once: a miss costs one read).
MAX_HEADS = 10_000
_heads_t, _events, _keys, _tokens = (
    t.audit_chain_heads,
    t.audit_events,
    t.idempotency_keys,
    t.agent_tokens,
)
_KEY_NAMES = [c.name for c in _keys.c]
_statements: dict[tuple[bool, bool], DirectStatement] = {}


def _build(engine: AsyncEngine, completing: bool, using: bool) -> Any:
    moved = (
        update(_heads_t)
        .where(
            _heads_t.c.chain_id == bindparam("chain"),
            _heads_t.c.seq == bindparam("old_seq"),
            _heads_t.c.last_hash == bindparam("old_hash"),
        )
        .values(seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
        .returning(_heads_t.c.chain_id)
        .cte("moved")
    )
    names = [c.name for c in _events.c]
    events = bound_values(_events, names, "e_")
    written = (
        insert(engine, _events)
        .from_select(names, select(*events.values()).select_from(moved))
        .returning(_events.c.seq)
        .cte("written")
    )
    ctes = [written]
    if completing:
        keys = bound_values(_keys, _KEY_NAMES, "i_")
        stored = insert(engine, _keys).from_select(
            _KEY_NAMES, select(*keys.values()).select_from(moved)
        )
        completed = replacing(stored, _keys, _KEY_NAMES)  # as `IdempotencyStore.complete`
        ctes.append(completed.returning(_keys.c.key).cte("completed"))
    if using:
        # The token's row only if no one else is writing it: the head is held here, and a
        # unit of work that noted the use (holding the row) appends to the chain next, so
        # waiting on the row would deadlock with it. That writer notes the use itself.
        free = (
            select(_tokens.c.id)
            .where(_tokens.c.id == bindparam("token_id"))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        used = (
            update(_tokens)
            .where(_tokens.c.id == free, exists(select(moved.c.chain_id)))
            .values(last_used_at=bindparam("used_at", type_=_tokens.c.last_used_at.type))
            .returning(_tokens.c.id)
            .cte("used")
        )
        ctes.append(used)
    return select(func.count().label("written")).select_from(written).add_cte(*ctes)


class SqlCallRecorder:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # SQLite's record is a write transaction on a thread of its own (`direct`).
        self.concurrent = not is_sqlite(engine)
        self._heads: dict[str, ChainHead] = {}
        self._turns = Turns()

    async def record(
        self,
        draft: AuditDraft,
        completed: IdempotencyRecord | None,
        token_use: tuple[str, datetime] | None,
    ) -> bool:
        if is_sqlite(self._engine):  # one writer at a time already: no head to swap
            work = functools.partial(
                _sqlite_steps(self._engine).record, draft, completed, token_use
            )
            return await write_transaction(self._engine, work)
        chain = draft.chain_id
        async with self._turns.of(chain):
            head = self._heads.get(chain)
            for _ in range(2):
                if head is None:
                    head = await self._read_head(chain)
                    if head is None:
                        return False  # a new chain: the locking path creates its head
                try:
                    moved = await self._swap(head, draft, completed, token_use)
                except Exception as error:
                    if getattr(error, "sqlstate", None) not in ABORTED_ALONE:
                        raise
                    break  # the statement wrote nothing: the locking path records it
                if moved is not None:
                    self._remember(moved)
                    return True
                head = None  # moved by someone else since: read it again
            self._heads.pop(chain, None)
            return False

    async def _read_head(self, chain: str) -> ChainHead | None:
        async with autocommit(self._engine) as connection:
            return await SqlAuditLog(connection).head(chain)

    async def _swap(
        self,
        head: ChainHead,
        draft: AuditDraft,
        completed: IdempotencyRecord | None,
        token_use: tuple[str, datetime] | None,
    ) -> ChainHead | None:
        """The new head when the statement wrote everything; None when it wrote nothing."""
        event, moved = link(head, draft)
        arguments: dict[str, Any] = {
            "chain": head.chain_id,
            "old_seq": head.seq,
            "old_hash": head.last_hash,
            "new_seq": moved.seq,
            "new_hash": moved.last_hash,
            **parameters(m.audit_event_values(event), "e_"),
        }
        if completed is not None:
            arguments |= parameters(m.idempotency_values(completed), "i_")
        if token_use is not None:
            arguments |= {"token_id": token_use[0], "used_at": token_use[1]}
        variant = (completed is not None, token_use is not None)
        statement = _statements.get(variant)
        if statement is None:
            built = _build(self._engine, *variant)
            statement = _statements[variant] = DirectStatement(built, self._engine.dialect)
        (written,) = await statement.run(self._engine, arguments)
        return moved if written.written else None

    def _remember(self, head: ChainHead) -> None:
        if len(self._heads) >= MAX_HEADS:
            self._heads.clear()
        self._heads[head.chain_id] = head


@attrs.frozen
class _SqliteSteps:
    """SQLite: the record as statements of one write transaction, run in one hop to the
    engine's lane (`direct.write_transaction`). The transaction holds the database's
    write lock from its start, so the head it reads is the head it moves."""

    head: DirectStatement
    move: DirectStatement  # the head, created with the chain's first event
    event: DirectStatement
    complete: DirectStatement  # the idempotency record
    use: DirectStatement  # the token's last use

    def record(
        self,
        draft: AuditDraft,
        completed: IdempotencyRecord | None,
        token_use: tuple[str, datetime] | None,
        transaction: Transaction,
    ) -> bool:
        if completed is not None:
            transaction.run(self.complete, parameters(m.idempotency_values(completed), "i_"))
        if token_use is not None:
            transaction.run(self.use, {"token_id": token_use[0], "used_at": token_use[1]})
        # Last, as in the unit of work: the chain's part, from its head to the event.
        rows = transaction.run(self.head, {"chain": draft.chain_id})
        event, moved = link(m.chain_head_from_row(rows[0]) if rows else None, draft)
        transaction.run(self.move, parameters(attrs.asdict(moved), "h_"))
        transaction.run(self.event, parameters(m.audit_event_values(event), "e_"))
        return True


_sqlite: list[_SqliteSteps] = []  # built and compiled on first use


def _sqlite_steps(engine: AsyncEngine) -> _SqliteSteps:
    if not _sqlite:
        head_names = [c.name for c in _heads_t.c]
        move = insert(engine, _heads_t).values(bound_values(_heads_t, head_names, "h_"))
        complete = insert(engine, _keys).values(bound_values(_keys, _KEY_NAMES, "i_"))
        event_names = [c.name for c in _events.c]
        statements = (
            select(_heads_t).where(_heads_t.c.chain_id == bindparam("chain")),
            replacing(move, _heads_t, head_names),
            insert(engine, _events).values(bound_values(_events, event_names, "e_")),
            replacing(complete, _keys, _KEY_NAMES),
            update(_tokens)
            .where(_tokens.c.id == bindparam("token_id"))
            .values(last_used_at=bindparam("used_at", type_=_tokens.c.last_used_at.type)),
        )
        _sqlite.append(_SqliteSteps(*(DirectStatement(s, engine.dialect) for s in statements)))
    return _sqlite[0]


if TYPE_CHECKING:  # mypy proves the adapter fits the port

    def _fits_port(recorder: SqlCallRecorder) -> CallRecorder:
        return recorder
