"""Repositories, shaped around the gateway's aggregates (not generic CRUD)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from nodedc_gateway.domain.access_requests import AccessRequest, RequestStatus
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.grants import Grant, GrantVersion
from nodedc_gateway.domain.idempotency import IdempotencyRecord
from nodedc_gateway.domain.oauth import AuthorizationCode, OAuthClient, RefreshToken
from nodedc_gateway.domain.pairing import PairingCode
from nodedc_gateway.domain.project_policy import ProjectPolicy
from nodedc_gateway.domain.tokens import AgentToken
from nodedc_gateway.domain.work_sessions import WorkSession


class AgentRepository(Protocol):
    async def add(self, agent: Agent) -> None: ...

    async def get(self, agent_id: str) -> Agent | None: ...

    async def save(self, agent: Agent) -> None: ...

    async def list_by_owner(
        self, owner_user_id: str, *, limit: int, after_id: str | None = None
    ) -> Sequence[Agent]:
        """The owner's agents in id (creation) order, after the cursor id."""
        ...


class TokenRepository(Protocol):
    async def add(self, token: AgentToken) -> None: ...

    async def get(self, token_id: str) -> AgentToken | None: ...

    async def find_by_hash(self, token_hashes: Sequence[str]) -> AgentToken | None:
        """The token whose stored hash is one of these (one indexed lookup)."""
        ...

    async def save(self, token: AgentToken) -> None: ...

    async def record_use(self, token_id: str, at: datetime) -> None:
        """Write `last_used_at` alone (callers throttle this to once a minute)."""
        ...

    async def list_by_agent(self, agent_id: str) -> Sequence[AgentToken]: ...

    async def revoke_all(self, agent_id: str) -> int:
        """Revoke every active token of the agent; returns how many changed."""
        ...


class GrantRepository(Protocol):
    async def add(self, grant: Grant, version: GrantVersion) -> None: ...

    async def get(self, grant_id: str) -> Grant | None: ...

    async def save(self, grant: Grant, version: GrantVersion) -> None:
        """Store the grant's new state and append its new version. Refuses (ValueError) a
        version that is not exactly one more than the stored one: two concurrent edits
        cannot both win."""
        ...

    async def list_by_agent(
        self, agent_id: str, *, include_revoked: bool = False
    ) -> Sequence[Grant]: ...

    async def versions(self, grant_id: str) -> Sequence[GrantVersion]:
        """The grant's history, oldest first."""
        ...

    async def list_by_workspace(self, workspace_slug: str) -> Sequence[Grant]:
        """Every active grant, of any agent, in the workspace."""
        ...


class PairingCodeRepository(Protocol):
    async def add(self, code: PairingCode) -> None: ...

    async def find_by_hash(self, code_hashes: Sequence[str]) -> PairingCode | None: ...

    async def save(self, code: PairingCode) -> None: ...

    async def consume(self, code_id: str, at: datetime) -> bool:
        """Atomically mark an active code used; False when it was no longer active
        (another redeem won the race)."""
        ...

    async def revoke_all(self, agent_id: str) -> int:
        """Revoke every active code of the agent; returns how many changed."""
        ...

    async def purge(self, now: datetime) -> int:
        """Delete codes that expired or were used before `now`; returns how many."""
        ...


class IdempotencyStore(Protocol):
    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Insert the in-flight record unless one exists for its (scope, key); return the
        existing record in that case, None when this call claimed the key. Atomic."""
        ...

    async def take_over(self, previous: IdempotencyRecord, record: IdempotencyRecord) -> bool:
        """Replace an expired or abandoned `previous` with `record`, only if it is still
        exactly `previous` (compare-and-swap). True when replaced."""
        ...

    async def complete(self, record: IdempotencyRecord) -> None:
        """Store the completed record over its in-flight claim."""
        ...

    async def release(self, record: IdempotencyRecord) -> None:
        """Drop an in-flight claim whose outcome is not stored (the retry runs again)."""
        ...

    async def purge(self, now: datetime) -> int:
        """Delete records that expired before `now`; returns how many."""
        ...


class AccessRequestRepository(Protocol):
    async def add(self, request: AccessRequest) -> None: ...

    async def get(self, request_id: str) -> AccessRequest | None: ...

    async def save(self, request: AccessRequest) -> None: ...

    async def list_by_agent(self, agent_id: str, *, limit: int) -> Sequence[AccessRequest]:
        """The agent's requests, newest first."""
        ...

    async def list_by_owner(
        self,
        owner_user_id: str,
        *,
        status: RequestStatus | None,
        limit: int,
        before_id: str | None = None,
    ) -> Sequence[AccessRequest]:
        """The owner's agents' requests, newest first, by stored status (expiry is the
        domain's to compute), after the cursor id."""
        ...

    async def count_pending(self, agent_id: str) -> int: ...


class WorkSessionRepository(Protocol):
    async def add(self, session: WorkSession) -> None: ...

    async def get(self, session_id: str) -> WorkSession | None: ...

    async def save(self, session: WorkSession) -> None: ...

    async def list_open(self, workspace_slug: str, *, limit: int) -> Sequence[WorkSession]:
        """Open sessions in the workspace, oldest first."""
        ...


class ProjectPolicyRepository(Protocol):
    async def get(self, workspace_slug: str, project_id: str) -> ProjectPolicy | None: ...

    async def put(self, policy: ProjectPolicy) -> None:
        """Store (or replace) a project's policy."""
        ...


class OAuthRepository(Protocol):
    """OAuth clients, authorization codes and refresh token families (CONTRACT §14)."""

    async def put_client(self, client: OAuthClient) -> None:
        """Store a client, or replace it (a metadata document fetched again)."""
        ...

    async def get_client(self, client_id: str) -> OAuthClient | None: ...

    async def add_code(self, code: AuthorizationCode) -> None: ...

    async def find_code(self, code_hashes: Sequence[str]) -> AuthorizationCode | None: ...

    async def consume_code(self, code_id: str, at: datetime) -> bool:
        """Atomically mark an unused, unexpired code used; False when another exchange
        won or it expired."""
        ...

    async def add_refresh(self, token: RefreshToken) -> None: ...

    async def find_refresh(self, token_hashes: Sequence[str]) -> RefreshToken | None: ...

    async def rotate_refresh(self, token_id: str, at: datetime) -> bool:
        """Atomically move an active, unexpired refresh token to rotated; False when it
        was not active (a replay, or a concurrent rotation won)."""
        ...

    async def find_by_access_token(self, access_token_id: str) -> RefreshToken | None:
        """The refresh token issued together with this agent token, if any."""
        ...

    async def family(self, family_id: str) -> Sequence[RefreshToken]:
        """Every refresh token of the family, oldest first."""
        ...

    async def revoke_family(self, family_id: str) -> int:
        """Mark every refresh token of the family revoked; returns how many changed."""
        ...

    async def purge(self, now: datetime) -> int:
        """Delete what can never be used again; returns how many rows. Authorization codes
        past their expiry, used or not. Refresh tokens only family by family, once every
        member of the family has expired: until then a rotated or revoked member presented
        again must still be recognised, so its replay revokes the live rest of the family
        (reuse detection). Clients are never purged."""
        ...
