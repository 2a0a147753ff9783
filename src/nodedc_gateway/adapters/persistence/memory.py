"""In-memory persistence: for unit tests and for embedding in one process.

Units of work run one at a time (an asyncio lock) and keep an undo journal, so a unit of
work that is not committed leaves no trace, as with a database. Stored entities are
copies: callers can never change stored state by mutating what they were given.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from nodedc_gateway.adapters.persistence.memory_hashed import add_hashed, find_hashed
from nodedc_gateway.adapters.persistence.memory_oauth import MemoryOAuthRepository, MemoryOAuthState
from nodedc_gateway.domain.access_requests import AccessRequest, RequestStatus
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditDraft, AuditEvent, ChainHead, link
from nodedc_gateway.domain.grants import Grant, GrantStatus, GrantVersion
from nodedc_gateway.domain.idempotency import IdempotencyRecord
from nodedc_gateway.domain.pairing import PairingCode, PairingStatus
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.tokens import AgentToken, TokenStatus
from nodedc_gateway.domain.work_sessions import SessionStatus, WorkSession
from nodedc_gateway.ports.audit import AuditLog, AuditQuery
from nodedc_gateway.ports.repositories import (
    AccessRequestRepository,
    AgentRepository,
    GrantRepository,
    IdempotencyStore,
    OAuthRepository,
    PairingCodeRepository,
    ProjectPolicyRepository,
    TokenRepository,
    WorkSessionRepository,
)

if TYPE_CHECKING:
    from nodedc_gateway.ports.unit_of_work import UnitOfWorkFactory

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K")


class MemoryState:
    """Everything the in-memory gateway remembers; shared by its units of work."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.agents: dict[str, Agent] = {}
        self.tokens: dict[str, AgentToken] = {}
        self.token_ids_by_hash: dict[str, str] = {}
        self.grants: dict[str, Grant] = {}
        self.grant_versions: dict[str, list[GrantVersion]] = {}
        self.pairing_codes: dict[str, PairingCode] = {}
        self.pairing_ids_by_hash: dict[str, str] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self.audit: dict[str, list[AuditEvent]] = {}
        self.audit_heads: dict[str, ChainHead] = {}
        self.access_requests: dict[str, AccessRequest] = {}
        self.work_sessions: dict[str, WorkSession] = {}
        self.project_policies: dict[tuple[str, str], ProjectPolicy] = {}
        self.oauth = MemoryOAuthState()


_MISSING = object()


class _Journal:
    """Undo log: every write records how to take it back."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def put(self, mapping: dict[K, Any], key: K, value: object) -> None:
        old = mapping.get(key, _MISSING)
        mapping[key] = value
        self._undo.append(lambda: self._restore(mapping, key, old))

    def delete(self, mapping: dict[K, Any], key: K) -> None:
        old = mapping.pop(key, _MISSING)
        self._undo.append(lambda: self._restore(mapping, key, old))

    def append(self, items: list[T], item: T) -> None:
        items.append(item)
        self._undo.append(lambda: self._drop_last(items))

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def forget(self) -> None:
        self._undo.clear()

    @staticmethod
    def _drop_last(items: list[T]) -> None:
        items.pop()

    @staticmethod
    def _restore(mapping: dict[K, Any], key: K, old: object) -> None:
        if old is _MISSING:
            mapping.pop(key, None)
        else:
            mapping[key] = old


class _Repository:
    def __init__(self, state: MemoryState, journal: _Journal) -> None:
        self._s = state
        self._j = journal

    def _add(self, records: dict[str, R], record_id: str, record: R, what: str) -> None:
        """Store a copy of a new record (its id must be free)."""
        if record_id in records:
            raise ValueError(f"{what} {record_id} exists")
        self._j.put(records, record_id, copy.copy(record))

    @staticmethod
    def _get(records: dict[str, R], record_id: str) -> R | None:
        """A copy of the record, so that a caller's changes stay its own until saved."""
        record = records.get(record_id)
        return copy.copy(record) if record else None


class MemoryAgentRepository(_Repository):
    async def add(self, agent: Agent) -> None:
        self._add(self._s.agents, agent.id, agent, "agent")

    async def get(self, agent_id: str) -> Agent | None:
        return self._get(self._s.agents, agent_id)

    async def save(self, agent: Agent) -> None:
        self._j.put(self._s.agents, agent.id, copy.copy(agent))

    async def list_by_owner(
        self, owner_user_id: str, *, limit: int, after_id: str | None = None
    ) -> Sequence[Agent]:
        owned = sorted(
            (a for a in self._s.agents.values() if a.owner_user_id == owner_user_id),
            key=lambda a: a.id,
        )
        if after_id is not None:
            owned = [a for a in owned if a.id > after_id]
        return [copy.copy(a) for a in owned[:limit]]


class MemoryTokenRepository(_Repository):
    async def add(self, token: AgentToken) -> None:
        s = self._s
        add_hashed(self._j, s.tokens, s.token_ids_by_hash, token, token.token_hash, "token")

    async def get(self, token_id: str) -> AgentToken | None:
        return self._get(self._s.tokens, token_id)

    async def find_by_hash(self, token_hashes: Sequence[str]) -> AgentToken | None:
        return find_hashed(self._s.tokens, self._s.token_ids_by_hash, token_hashes)

    async def save(self, token: AgentToken) -> None:
        self._j.put(self._s.tokens, token.id, copy.copy(token))

    async def record_use(self, token_id: str, at: datetime) -> None:
        token = self._s.tokens.get(token_id)
        if token is not None:
            updated = copy.copy(token)
            updated.last_used_at = at
            self._j.put(self._s.tokens, token_id, updated)

    async def list_by_agent(self, agent_id: str) -> Sequence[AgentToken]:
        return sorted(
            (copy.copy(t) for t in self._s.tokens.values() if t.agent_id == agent_id),
            key=lambda t: t.id,
        )

    async def revoke_all(self, agent_id: str) -> int:
        count = 0
        for token in list(self._s.tokens.values()):
            if token.agent_id == agent_id and token.status is TokenStatus.ACTIVE:
                revoked = copy.copy(token)
                revoked.revoke()
                self._j.put(self._s.tokens, token.id, revoked)
                count += 1
        return count


class MemoryGrantRepository(_Repository):
    async def add(self, grant: Grant, version: GrantVersion) -> None:
        self._add(self._s.grants, grant.id, grant, "grant")
        self._j.put(self._s.grant_versions, grant.id, [version])

    async def get(self, grant_id: str) -> Grant | None:
        return self._get(self._s.grants, grant_id)

    async def save(self, grant: Grant, version: GrantVersion) -> None:
        stored = self._s.grants.get(grant.id)
        if (
            stored is None
            or version.version != stored.version + 1
            or grant.version != version.version
        ):
            raise ValueError(f"grant {grant.id} changed concurrently")
        self._j.put(self._s.grants, grant.id, copy.copy(grant))
        self._j.append(self._s.grant_versions[grant.id], version)

    async def list_by_agent(
        self, agent_id: str, *, include_revoked: bool = False
    ) -> Sequence[Grant]:
        return sorted(
            (
                copy.copy(g)
                for g in self._s.grants.values()
                if g.agent_id == agent_id and (include_revoked or g.status is GrantStatus.ACTIVE)
            ),
            key=lambda g: g.id,
        )

    async def versions(self, grant_id: str) -> Sequence[GrantVersion]:
        return list(self._s.grant_versions.get(grant_id, []))

    async def list_by_workspace(self, workspace_slug: str) -> Sequence[Grant]:
        return sorted(
            (
                copy.copy(g)
                for g in self._s.grants.values()
                if g.workspace_slug == workspace_slug and g.status is GrantStatus.ACTIVE
            ),
            key=lambda g: g.id,
        )


class MemoryPairingCodeRepository(_Repository):
    async def add(self, code: PairingCode) -> None:
        s = self._s
        add_hashed(
            self._j, s.pairing_codes, s.pairing_ids_by_hash, code, code.code_hash, "pairing code"
        )

    async def find_by_hash(self, code_hashes: Sequence[str]) -> PairingCode | None:
        return find_hashed(self._s.pairing_codes, self._s.pairing_ids_by_hash, code_hashes)

    async def save(self, code: PairingCode) -> None:
        self._j.put(self._s.pairing_codes, code.id, copy.copy(code))

    async def consume(self, code_id: str, at: datetime) -> bool:
        code = self._s.pairing_codes.get(code_id)
        if code is None or code.status_at(at) is not PairingStatus.ACTIVE:
            return False
        used = copy.copy(code)
        used.redeem(at)
        self._j.put(self._s.pairing_codes, code_id, used)
        return True

    async def revoke_all(self, agent_id: str) -> int:
        count = 0
        for code in list(self._s.pairing_codes.values()):
            if code.agent_id == agent_id and code.status is PairingStatus.ACTIVE:
                revoked = copy.copy(code)
                revoked.revoke()
                self._j.put(self._s.pairing_codes, code.id, revoked)
                count += 1
        return count

    async def purge(self, now: datetime) -> int:
        stale = [
            c
            for c in self._s.pairing_codes.values()
            if c.expires_at <= now or c.status is not PairingStatus.ACTIVE
        ]
        for code in stale:
            self._j.delete(self._s.pairing_codes, code.id)
            self._j.delete(self._s.pairing_ids_by_hash, code.code_hash)
        return len(stale)


class MemoryIdempotencyStore(_Repository):
    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        existing = self._s.idempotency.get((record.scope, record.key))
        if existing is not None:
            return existing
        self._j.put(self._s.idempotency, (record.scope, record.key), record)
        return None

    async def take_over(self, previous: IdempotencyRecord, record: IdempotencyRecord) -> bool:
        if self._s.idempotency.get((previous.scope, previous.key)) != previous:
            return False
        self._j.put(self._s.idempotency, (record.scope, record.key), record)
        return True

    async def complete(self, record: IdempotencyRecord) -> None:
        self._j.put(self._s.idempotency, (record.scope, record.key), record)

    async def release(self, record: IdempotencyRecord) -> None:
        if self._s.idempotency.get((record.scope, record.key)) == record:
            self._j.delete(self._s.idempotency, (record.scope, record.key))

    async def purge(self, now: datetime) -> int:
        stale = [k for k, r in self._s.idempotency.items() if r.expires_at <= now]
        for key in stale:
            self._j.delete(self._s.idempotency, key)
        return len(stale)


class MemoryAuditLog(_Repository):
    async def append(self, drafts: Sequence[AuditDraft]) -> Sequence[AuditEvent]:
        events = []
        for draft in drafts:
            event, head = link(self._s.audit_heads.get(draft.chain_id), draft)
            self._j.put(self._s.audit_heads, draft.chain_id, head)
            if draft.chain_id not in self._s.audit:
                self._j.put(self._s.audit, draft.chain_id, [])
            self._j.append(self._s.audit[draft.chain_id], event)
            events.append(event)
        return events

    async def query(self, query: AuditQuery) -> Sequence[AuditEvent]:
        found = []
        for event in reversed(self._s.audit.get(query.agent_id, [])):
            d = event.draft
            if (
                (query.before_seq is not None and event.seq >= query.before_seq)
                or (query.operation is not None and d.operation != query.operation)
                or (query.decision is not None and d.decision is not query.decision)
                or (query.event_type is not None and d.event_type != query.event_type)
                or (query.since is not None and d.created_at < query.since)
                or (query.until is not None and d.created_at >= query.until)
            ):
                continue
            found.append(event)
            if len(found) >= query.limit:
                break
        return found

    async def chain(
        self, chain_id: str, after_seq: int = 0, limit: int = 1000
    ) -> Sequence[AuditEvent]:
        return [e for e in self._s.audit.get(chain_id, []) if e.seq > after_seq][:limit]

    async def head(self, chain_id: str) -> ChainHead | None:
        return self._s.audit_heads.get(chain_id)

    async def chain_ids(self) -> Sequence[str]:
        return sorted(
            set(self._s.audit_heads) | {k for k, events in self._s.audit.items() if events}
        )


class MemoryAccessRequestRepository(_Repository):
    async def add(self, request: AccessRequest) -> None:
        self._add(self._s.access_requests, request.id, request, "access request")

    async def get(self, request_id: str) -> AccessRequest | None:
        return self._get(self._s.access_requests, request_id)

    async def save(self, request: AccessRequest) -> None:
        self._j.put(self._s.access_requests, request.id, copy.copy(request))

    async def list_by_agent(self, agent_id: str, *, limit: int) -> Sequence[AccessRequest]:
        mine = [r for r in self._s.access_requests.values() if r.agent_id == agent_id]
        return [copy.copy(r) for r in sorted(mine, key=lambda r: r.id, reverse=True)[:limit]]

    async def list_by_owner(
        self,
        owner_user_id: str,
        *,
        status: RequestStatus | None,
        limit: int,
        before_id: str | None = None,
    ) -> Sequence[AccessRequest]:
        found = sorted(
            (
                r
                for r in self._s.access_requests.values()
                if r.owner_user_id == owner_user_id
                and (status is None or r.status is status)
                and (before_id is None or r.id < before_id)
            ),
            key=lambda r: r.id,
            reverse=True,
        )
        return [copy.copy(r) for r in found[:limit]]

    async def count_pending(self, agent_id: str) -> int:
        return sum(
            1
            for r in self._s.access_requests.values()
            if r.agent_id == agent_id and r.status is RequestStatus.PENDING
        )


class MemoryWorkSessionRepository(_Repository):
    async def add(self, session: WorkSession) -> None:
        self._add(self._s.work_sessions, session.id, session, "work session")

    async def get(self, session_id: str) -> WorkSession | None:
        return self._get(self._s.work_sessions, session_id)

    async def save(self, session: WorkSession) -> None:
        self._j.put(self._s.work_sessions, session.id, copy.copy(session))

    async def list_open(self, workspace_slug: str, *, limit: int) -> Sequence[WorkSession]:
        found = sorted(
            (
                s
                for s in self._s.work_sessions.values()
                if s.workspace_slug == workspace_slug and s.status is SessionStatus.OPEN
            ),
            key=lambda s: s.id,
        )
        return [copy.copy(s) for s in found[:limit]]


class MemoryProjectPolicyRepository(_Repository):
    async def get(self, workspace_slug: str, project_id: str) -> ProjectPolicy | None:
        return self._s.project_policies.get((workspace_slug, project_id))

    async def put(self, policy: ProjectPolicy) -> None:
        self._j.put(self._s.project_policies, (policy.workspace_slug, policy.project_id), policy)


class MemoryUnitOfWork:
    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._journal = _Journal()
        # Typed as the ports, so mypy checks each repository against its Protocol.
        self.agents: AgentRepository = MemoryAgentRepository(state, self._journal)
        self.tokens: TokenRepository = MemoryTokenRepository(state, self._journal)
        self.grants: GrantRepository = MemoryGrantRepository(state, self._journal)
        self.pairing_codes: PairingCodeRepository = MemoryPairingCodeRepository(
            state, self._journal
        )
        self.idempotency: IdempotencyStore = MemoryIdempotencyStore(state, self._journal)
        self.audit: AuditLog = MemoryAuditLog(state, self._journal)
        self.access_requests: AccessRequestRepository = MemoryAccessRequestRepository(
            state, self._journal
        )
        self.work_sessions: WorkSessionRepository = MemoryWorkSessionRepository(
            state, self._journal
        )
        self.project_policies: ProjectPolicyRepository = MemoryProjectPolicyRepository(
            state, self._journal
        )
        self.oauth: OAuthRepository = MemoryOAuthRepository(state, self._journal)
        self.committed = False

    async def __aenter__(self) -> Self:
        await self._state.lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self._journal.rollback()
        finally:
            self._state.lock.release()

    async def commit(self) -> None:
        self._journal.forget()
        self.committed = True

    async def rollback(self) -> None:
        self._journal.rollback()


class MemoryUnitOfWorkFactory:
    def __init__(self, state: MemoryState | None = None) -> None:
        self.state = state or MemoryState()

    def __call__(self, *, autocommit: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.state)  # commits only on commit() either way


if TYPE_CHECKING:  # mypy proves the adapter fits the port

    def _fits_port(factory: MemoryUnitOfWorkFactory) -> UnitOfWorkFactory:
        return factory
