"""The repositories and the audit log over SQL, one connection (one transaction) each.

They behave like their in-memory twins in `adapters.persistence.memory`; the contract
suites in `tests/contracts` hold both to that. Where two transactions can race, the
database decides: `INSERT … ON CONFLICT` for claims, conditional `UPDATE`s for
compare-and-swap, and a locked head row per audit chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, select, union, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nodedc_gateway.adapters.persistence.sql import mapping as m
from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.engine import insert, is_sqlite, relaxed_commit
from nodedc_gateway.domain.access_requests import AccessRequest, RequestStatus
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import GENESIS_HASH, AuditDraft, AuditEvent, ChainHead, link
from nodedc_gateway.domain.grants import Grant, GrantStatus, GrantVersion
from nodedc_gateway.domain.idempotency import IdempotencyRecord
from nodedc_gateway.domain.pairing import PairingCode, PairingStatus
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus
from nodedc_gateway.domain.work_sessions import SessionStatus, WorkSession
from nodedc_gateway.ports.audit import AuditQuery

#: A claim that keeps meeting a record which vanishes before it can be read is retried
#: this often (each round means another transaction released or purged the key).
_CLAIM_ROUNDS = 10

R = TypeVar("R")


#: Statements built once per database kind and shape (building SQLAlchemy expressions
#: costs more CPU than many a round trip); values go in as bound parameters.
_statements: dict[tuple[str, ...], Any] = {}


def bound_values(table: Table, names: Sequence[str], prefix: str = "v_") -> dict[str, Any]:
    """`VALUES` for these columns as bound parameters (named `<prefix><column>`: a
    statement writing two tables gives each its own prefix)."""
    return {name: bindparam(prefix + name, type_=table.c[name].type) for name in names}


def parameters(values: Mapping[str, Any], prefix: str = "v_") -> dict[str, Any]:
    """The values for `bound_values`' parameters of the same prefix."""
    return {prefix + name: value for name, value in values.items()}


def insert_new(
    bind: AsyncEngine | AsyncConnection, table: Table, names: Sequence[str], prefix: str = "v_"
) -> Any:
    """INSERT of these columns (`bound_values`) that writes nothing over an existing row
    with the same key or unique value; RETURNING the primary key, so a row back means
    inserted (drivers do not all count the rows an INSERT wrote)."""
    return (
        insert(bind, table)
        .values(bound_values(table, names, prefix))
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )


def replacing(statement: Any, table: Table, names: Sequence[str]) -> Any:
    """An INSERT of `table`'s columns `names` (by VALUES or SELECT) made to store the row
    whole over any row with the same primary key (`ON CONFLICT … DO UPDATE` of the rest)."""
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: statement.excluded[name] for name in names if name not in keys},
    )


class _Repository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._c = connection

    def _statement(self, key: tuple[str, ...], build: Callable[[], Any]) -> Any:
        key = (self._c.dialect.name, *key)
        statement = _statements.get(key)
        if statement is None:
            statement = _statements[key] = build()
        return statement

    async def _insert_new(self, table: Table, values: Mapping[str, Any]) -> bool:
        """Insert unless a row with the same key (or unique value) exists; True when
        inserted. The transaction stays usable either way."""
        names = tuple(values)
        statement = self._statement(
            ("insert_new", table.name, *names), lambda: insert_new(self._c, table, names)
        )
        result = await self._c.execute(statement, parameters(values))
        return result.first() is not None

    async def _one(
        self, table: Table, read: Callable[[Any], R], *where: ColumnElement[bool]
    ) -> R | None:
        """The row of `table` that `where` picks, `read` into a domain object."""
        row = (await self._c.execute(select(table).where(*where))).first()
        return None if row is None else read(row)

    async def _by_hash(
        self, table: Table, column: str, hashes: Sequence[str], read: Callable[[Any], R]
    ) -> R | None:
        """The row whose `column` holds one of `hashes` (a secret's candidates under each
        accepted pepper), `read`; the first candidate (current pepper) wins."""
        if not hashes:
            return None
        rows = await self._c.execute(select(table).where(table.c[column].in_(list(hashes))))
        by_hash = {getattr(row, column): row for row in rows}
        found = next((by_hash[h] for h in hashes if h in by_hash), None)
        return None if found is None else read(found)

    async def _spend(
        self, table: Table, row_id: str, still: Sequence[ColumnElement[bool]], **values: Any
    ) -> bool:
        """Set `values` on the row `row_id` if it `still` qualifies; True when it did. One
        statement, so of two concurrent spenders (a code redeemed, a token rotated) the
        second finds the row spent."""
        result = await self._c.execute(
            update(table).where(table.c.id == row_id, *still).values(**values).returning(table.c.id)
        )
        return result.first() is not None

    async def _update(self, table: Table, values: Mapping[str, Any]) -> None:
        """Overwrite the other columns of the row with `values`' id."""
        changes = {name: value for name, value in values.items() if name != "id"}
        await self._c.execute(update(table).where(table.c.id == values["id"]).values(changes))

    async def _upsert(self, table: Table, values: Mapping[str, Any]) -> None:
        """Store the row whole, over any row with the same primary key."""
        names = tuple(values)

        def build() -> Any:
            return replacing(
                insert(self._c, table).values(bound_values(table, names)), table, names
            )

        statement = self._statement(("upsert", table.name, *names), build)
        await self._c.execute(statement, parameters(values))


def _rowcount(result: CursorResult[Any]) -> int:
    return int(result.rowcount)


class SqlAgentRepository(_Repository):
    async def add(self, agent: Agent) -> None:
        if not await self._insert_new(t.agents, m.agent_values(agent)):
            raise ValueError(f"agent {agent.id} exists")

    async def get(self, agent_id: str) -> Agent | None:
        return await self._one(t.agents, m.agent_from_row, t.agents.c.id == agent_id)

    async def save(self, agent: Agent) -> None:
        await self._upsert(t.agents, m.agent_values(agent))

    async def list_by_owner(
        self, owner_user_id: str, *, limit: int, after_id: str | None = None
    ) -> Sequence[Agent]:
        query = select(t.agents).where(t.agents.c.owner_user_id == owner_user_id)
        if after_id is not None:
            query = query.where(t.agents.c.id > after_id)
        rows = await self._c.execute(query.order_by(t.agents.c.id).limit(limit))
        return [m.agent_from_row(row) for row in rows]


class SqlTokenRepository(_Repository):
    async def add(self, token: AgentToken) -> None:
        if not await self._insert_new(t.agent_tokens, m.token_values(token)):
            raise ValueError("token hash exists")

    async def get(self, token_id: str) -> AgentToken | None:
        return await self._one(t.agent_tokens, m.token_from_row, t.agent_tokens.c.id == token_id)

    async def find_by_hash(self, token_hashes: Sequence[str]) -> AgentToken | None:
        return await self._by_hash(t.agent_tokens, "token_hash", token_hashes, m.token_from_row)

    async def save(self, token: AgentToken) -> None:
        await self._upsert(t.agent_tokens, m.token_values(token))

    async def record_use(self, token_id: str, at: datetime) -> None:
        await self._c.execute(
            update(t.agent_tokens).where(t.agent_tokens.c.id == token_id).values(last_used_at=at)
        )

    async def list_by_agent(self, agent_id: str) -> Sequence[AgentToken]:
        rows = await self._c.execute(
            select(t.agent_tokens)
            .where(t.agent_tokens.c.agent_id == agent_id)
            .order_by(t.agent_tokens.c.id)
        )
        return [m.token_from_row(row) for row in rows]

    async def revoke_all(self, agent_id: str) -> int:
        result = await self._c.execute(
            update(t.agent_tokens)
            .where(
                t.agent_tokens.c.agent_id == agent_id,
                t.agent_tokens.c.status == str(TokenStatus.ACTIVE),
            )
            .values(status=str(TokenStatus.REVOKED))
        )
        return _rowcount(result)


class SqlGrantRepository(_Repository):
    async def add(self, grant: Grant, version: GrantVersion) -> None:
        if not await self._insert_new(t.grants, m.grant_values(grant)):
            raise ValueError(f"grant {grant.id} exists")
        await self._c.execute(
            insert(self._c, t.grant_versions).values(m.grant_version_values(version))
        )

    async def get(self, grant_id: str) -> Grant | None:
        return await self._one(t.grants, m.grant_from_row, t.grants.c.id == grant_id)

    async def save(self, grant: Grant, version: GrantVersion) -> None:
        if grant.version != version.version:
            raise ValueError(f"grant {grant.id} changed concurrently")
        values = m.grant_values(grant)
        del values["id"]
        # Optimistic: the row must still be at the version this change started from.
        # Under PostgreSQL a racing save waits for the row lock, then finds the version
        # moved on and matches nothing.
        result = await self._c.execute(
            update(t.grants)
            .where(t.grants.c.id == grant.id, t.grants.c.version == version.version - 1)
            .values(values)
        )
        if _rowcount(result) != 1:
            raise ValueError(f"grant {grant.id} changed concurrently")
        await self._c.execute(
            insert(self._c, t.grant_versions).values(m.grant_version_values(version))
        )

    async def list_by_agent(
        self, agent_id: str, *, include_revoked: bool = False
    ) -> Sequence[Grant]:
        query = select(t.grants).where(t.grants.c.agent_id == agent_id)
        if not include_revoked:
            query = query.where(t.grants.c.status == str(GrantStatus.ACTIVE))
        rows = await self._c.execute(query.order_by(t.grants.c.id))
        return [m.grant_from_row(row) for row in rows]

    async def versions(self, grant_id: str) -> Sequence[GrantVersion]:
        rows = await self._c.execute(
            select(t.grant_versions)
            .where(t.grant_versions.c.grant_id == grant_id)
            .order_by(t.grant_versions.c.version)
        )
        return [m.grant_version_from_row(row) for row in rows]

    async def list_by_workspace(self, workspace_slug: str) -> Sequence[Grant]:
        rows = await self._c.execute(
            select(t.grants)
            .where(
                t.grants.c.workspace_slug == workspace_slug,
                t.grants.c.status == str(GrantStatus.ACTIVE),
            )
            .order_by(t.grants.c.id)
        )
        return [m.grant_from_row(row) for row in rows]


class SqlPairingCodeRepository(_Repository):
    async def add(self, code: PairingCode) -> None:
        if not await self._insert_new(t.pairing_codes, m.pairing_code_values(code)):
            raise ValueError("pairing code hash exists")

    async def find_by_hash(self, code_hashes: Sequence[str]) -> PairingCode | None:
        return await self._by_hash(
            t.pairing_codes, "code_hash", code_hashes, m.pairing_code_from_row
        )

    async def save(self, code: PairingCode) -> None:
        await self._upsert(t.pairing_codes, m.pairing_code_values(code))

    async def consume(self, code_id: str, at: datetime) -> bool:
        c = t.pairing_codes.c
        still = (c.status == str(PairingStatus.ACTIVE), c.expires_at > at)
        return await self._spend(
            t.pairing_codes, code_id, still, status=str(PairingStatus.USED), used_at=at
        )

    async def revoke_all(self, agent_id: str) -> int:
        result = await self._c.execute(
            update(t.pairing_codes)
            .where(
                t.pairing_codes.c.agent_id == agent_id,
                t.pairing_codes.c.status == str(PairingStatus.ACTIVE),
            )
            .values(status=str(PairingStatus.REVOKED))
        )
        return _rowcount(result)

    async def purge(self, now: datetime) -> int:
        result = await self._c.execute(
            delete(t.pairing_codes).where(
                (t.pairing_codes.c.expires_at <= now)
                | (t.pairing_codes.c.status != str(PairingStatus.ACTIVE))
            )
        )
        return _rowcount(result)


def _is_exactly(record: IdempotencyRecord) -> ColumnElement[bool]:
    """The stored row is still this record: same key and same state (the response body is
    implied by status; JSON columns have no equality on PostgreSQL)."""
    c = t.idempotency_keys.c
    return and_(
        c.scope == record.scope,
        c.key == record.key,
        c.fingerprint == record.fingerprint,
        c.operation == record.operation,
        c.status == str(record.status),
        c.response_ok.is_not_distinct_from(None if record.response is None else record.response.ok),
        c.created_at == record.created_at,
        c.expires_at == record.expires_at,
        c.locked_until.is_not_distinct_from(record.locked_until),
    )


def _relaxed_claim(connection: AsyncConnection) -> Any:
    """PostgreSQL, a claim that is its own transaction: INSERT … ON CONFLICT DO NOTHING
    whose commit does not wait for the WAL flush (`set_config(…, true)` lasts as long as
    the statement's own transaction).

    Nothing durable depends on the in-flight marker alone: whatever the call then commits
    (the audit event, the stored response, a sandbox card) is flushed with a synchronous
    commit, which flushes the earlier claim with it; a crash before that loses a call
    whose outcome its client never learnt, and its retry runs again, kept to one card by
    the Tasker-side external id (CONTRACT §7)."""
    table = t.idempotency_keys
    names = [column.name for column in table.c]
    relaxed = relaxed_commit()
    return (
        insert(connection, table)
        .from_select(names, select(*bound_values(table, names).values()).select_from(relaxed))
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )


class SqlIdempotencyStore(_Repository):
    def __init__(self, connection: AsyncConnection, *, standalone: bool = False) -> None:
        super().__init__(connection)
        #: Statements run in autocommit (PostgreSQL): each is its own transaction.
        self._standalone = standalone

    async def _claimed(self, record: IdempotencyRecord) -> bool:
        values = m.idempotency_values(record)
        if not self._standalone:
            return await self._insert_new(t.idempotency_keys, values)
        statement = self._statement(("relaxed_claim",), lambda: _relaxed_claim(self._c))
        return (await self._c.execute(statement, parameters(values))).first() is not None

    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        c = t.idempotency_keys.c
        for _ in range(_CLAIM_ROUNDS):
            if await self._claimed(record):
                return None
            row = (
                await self._c.execute(
                    select(t.idempotency_keys).where(c.scope == record.scope, c.key == record.key)
                )
            ).first()
            if row is not None:
                return m.idempotency_from_row(row)
        raise RuntimeError(f"idempotency key {record.key!r} kept vanishing while claimed")

    async def take_over(self, previous: IdempotencyRecord, record: IdempotencyRecord) -> bool:
        result = await self._c.execute(
            update(t.idempotency_keys)
            .where(_is_exactly(previous))
            .values(m.idempotency_values(record))
        )
        return _rowcount(result) == 1

    async def complete(self, record: IdempotencyRecord) -> None:
        await self._upsert(t.idempotency_keys, m.idempotency_values(record))

    async def release(self, record: IdempotencyRecord) -> None:
        await self._c.execute(delete(t.idempotency_keys).where(_is_exactly(record)))

    async def purge(self, now: datetime) -> int:
        result = await self._c.execute(
            delete(t.idempotency_keys).where(t.idempotency_keys.c.expires_at <= now)
        )
        return _rowcount(result)


_heads, _events = t.audit_chain_heads, t.audit_events
_LOCK_HEAD = select(_heads).where(_heads.c.chain_id == bindparam("chain_id")).with_for_update()
_MOVE_HEAD = (
    update(_heads)
    .where(_heads.c.chain_id == bindparam("head_chain_id"))
    .values(seq=bindparam("head_seq"), last_hash=bindparam("head_last_hash"))
)


def _event_and_head(connection: AsyncConnection) -> Any:
    """PostgreSQL: one event and its chain's new head in one statement (the INSERT as a
    data-modifying CTE of the UPDATE), one round trip instead of two."""
    written = (
        insert(connection, _events).values(bound_values(_events, _events.c.keys())).cte("written")
    )
    return _MOVE_HEAD.add_cte(written)


class SqlAuditLog(_Repository):
    async def append(self, drafts: Sequence[AuditDraft]) -> Sequence[AuditEvent]:
        if not drafts:
            return []
        if len(drafts) == 1 and not is_sqlite(self._c):
            return [await self._append_one(drafts[0])]
        # Lock every chain's head before linking; in sorted order, so two transactions
        # appending to the same chains cannot deadlock.
        heads: dict[str, ChainHead | None] = {
            chain_id: await self._lock_head(chain_id)
            for chain_id in sorted({d.chain_id for d in drafts})
        }
        events = []
        for draft in drafts:
            event, head = link(heads[draft.chain_id], draft)
            heads[draft.chain_id] = head
            events.append(event)
        await self._c.execute(
            insert(self._c, t.audit_events), [m.audit_event_values(e) for e in events]
        )
        for latest in heads.values():
            assert latest is not None  # every locked chain received at least one event
            await self._c.execute(
                _MOVE_HEAD,
                {
                    "head_chain_id": latest.chain_id,
                    "head_seq": latest.seq,
                    "head_last_hash": latest.last_hash,
                },
            )
        return events

    async def _append_one(self, draft: AuditDraft) -> AuditEvent:
        event, head = link(await self._lock_head(draft.chain_id), draft)
        statement = self._statement(("audit_event_and_head",), lambda: _event_and_head(self._c))
        await self._c.execute(
            statement,
            {
                **parameters(m.audit_event_values(event)),
                "head_chain_id": head.chain_id,
                "head_seq": head.seq,
                "head_last_hash": head.last_hash,
            },
        )
        return event

    async def _lock_head(self, chain_id: str) -> ChainHead | None:
        """The chain's head, locked until this transaction ends (PostgreSQL: the head row,
        created first if the chain is new; SQLite: the transaction already holds the
        database's write lock)."""
        row = (await self._c.execute(_LOCK_HEAD, {"chain_id": chain_id})).first()
        if row is None:
            await self._insert_new(
                t.audit_chain_heads, {"chain_id": chain_id, "seq": 0, "last_hash": GENESIS_HASH}
            )
            row = (await self._c.execute(_LOCK_HEAD, {"chain_id": chain_id})).one()
        return m.chain_head_from_row(row)

    async def query(self, query: AuditQuery) -> Sequence[AuditEvent]:
        c = t.audit_events.c
        stmt = select(t.audit_events).where(c.chain_id == query.agent_id)
        if query.before_seq is not None:
            stmt = stmt.where(c.seq < query.before_seq)
        if query.operation is not None:
            stmt = stmt.where(c.operation == query.operation)
        if query.decision is not None:
            stmt = stmt.where(c.decision == str(query.decision))
        if query.event_type is not None:
            stmt = stmt.where(c.event_type == query.event_type)
        if query.since is not None:
            stmt = stmt.where(c.created_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(c.created_at < query.until)
        rows = await self._c.execute(stmt.order_by(c.seq.desc()).limit(query.limit))
        return [m.audit_event_from_row(row) for row in rows]

    async def chain(
        self, chain_id: str, after_seq: int = 0, limit: int = 1000
    ) -> Sequence[AuditEvent]:
        c = t.audit_events.c
        rows = await self._c.execute(
            select(t.audit_events)
            .where(c.chain_id == chain_id, c.seq > after_seq)
            .order_by(c.seq)
            .limit(limit)
        )
        return [m.audit_event_from_row(row) for row in rows]

    async def head(self, chain_id: str) -> ChainHead | None:
        return await self._one(
            t.audit_chain_heads, m.chain_head_from_row, t.audit_chain_heads.c.chain_id == chain_id
        )

    async def chain_ids(self) -> Sequence[str]:
        # Chains with events count even when their head row is gone, so a verification
        # still finds (and flags) them.
        heads = select(t.audit_chain_heads.c.chain_id).where(t.audit_chain_heads.c.seq > 0)
        events = select(t.audit_events.c.chain_id).distinct()
        rows = await self._c.execute(union(heads, events))
        return sorted(row.chain_id for row in rows)  # code-point order, whatever the collation


class SqlAccessRequestRepository(_Repository):
    async def add(self, request: AccessRequest) -> None:
        if not await self._insert_new(t.access_requests, m.access_request_values(request)):
            raise ValueError(f"access request {request.id} exists")

    async def get(self, request_id: str) -> AccessRequest | None:
        return await self._one(
            t.access_requests, m.access_request_from_row, t.access_requests.c.id == request_id
        )

    async def save(self, request: AccessRequest) -> None:
        await self._update(t.access_requests, m.access_request_values(request))

    async def list_by_agent(self, agent_id: str, *, limit: int) -> Sequence[AccessRequest]:
        rows = await self._c.execute(
            select(t.access_requests)
            .where(t.access_requests.c.agent_id == agent_id)
            .order_by(t.access_requests.c.id.desc())
            .limit(limit)
        )
        return [m.access_request_from_row(row) for row in rows]

    async def list_by_owner(
        self,
        owner_user_id: str,
        *,
        status: RequestStatus | None,
        limit: int,
        before_id: str | None = None,
    ) -> Sequence[AccessRequest]:
        query = select(t.access_requests).where(t.access_requests.c.owner_user_id == owner_user_id)
        if status is not None:
            query = query.where(t.access_requests.c.status == str(status))
        if before_id is not None:
            query = query.where(t.access_requests.c.id < before_id)
        rows = await self._c.execute(query.order_by(t.access_requests.c.id.desc()).limit(limit))
        return [m.access_request_from_row(row) for row in rows]

    async def count_pending(self, agent_id: str) -> int:
        count = await self._c.scalar(
            select(func.count())
            .select_from(t.access_requests)
            .where(
                t.access_requests.c.agent_id == agent_id,
                t.access_requests.c.status == str(RequestStatus.PENDING),
            )
        )
        return int(count or 0)


class SqlWorkSessionRepository(_Repository):
    async def add(self, session: WorkSession) -> None:
        if not await self._insert_new(t.work_sessions, m.work_session_values(session)):
            raise ValueError(f"work session {session.id} exists")

    async def get(self, session_id: str) -> WorkSession | None:
        return await self._one(
            t.work_sessions, m.work_session_from_row, t.work_sessions.c.id == session_id
        )

    async def save(self, session: WorkSession) -> None:
        await self._update(t.work_sessions, m.work_session_values(session))

    async def list_open(self, workspace_slug: str, *, limit: int) -> Sequence[WorkSession]:
        rows = await self._c.execute(
            select(t.work_sessions)
            .where(
                t.work_sessions.c.workspace_slug == workspace_slug,
                t.work_sessions.c.status == str(SessionStatus.OPEN),
            )
            .order_by(t.work_sessions.c.id)
            .limit(limit)
        )
        return [m.work_session_from_row(row) for row in rows]


class SqlProjectPolicyRepository(_Repository):
    async def get(self, workspace_slug: str, project_id: str) -> ProjectPolicy | None:
        return await self._one(
            t.project_policies,
            m.project_policy_from_row,
            t.project_policies.c.workspace_slug == workspace_slug,
            t.project_policies.c.project_id == project_id,
        )

    async def put(self, policy: ProjectPolicy) -> None:
        await self._upsert(t.project_policies, m.project_policy_values(policy))
