"""In-memory OAuth state (clients, codes, refresh token families), journaled like the rest
of `memory`: a unit of work that is not committed leaves no trace."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from nodedc_gateway.adapters.persistence.memory_hashed import add_hashed, find_hashed
from nodedc_gateway.domain.oauth import (
    AuthorizationCode,
    OAuthClient,
    RefreshStatus,
    RefreshToken,
)

if TYPE_CHECKING:
    from nodedc_gateway.adapters.persistence.memory import MemoryState, _Journal


@attrs.define
class MemoryOAuthState:
    clients: dict[str, OAuthClient] = attrs.field(factory=dict)
    codes: dict[str, AuthorizationCode] = attrs.field(factory=dict)
    code_ids_by_hash: dict[str, str] = attrs.field(factory=dict)
    refresh: dict[str, RefreshToken] = attrs.field(factory=dict)
    refresh_ids_by_hash: dict[str, str] = attrs.field(factory=dict)


class MemoryOAuthRepository:
    def __init__(self, state: MemoryState, journal: _Journal) -> None:
        self._s = state.oauth
        self._j = journal

    async def put_client(self, client: OAuthClient) -> None:
        self._j.put(self._s.clients, client.client_id, copy.deepcopy(client))

    async def get_client(self, client_id: str) -> OAuthClient | None:
        client = self._s.clients.get(client_id)
        return copy.deepcopy(client) if client else None

    async def add_code(self, code: AuthorizationCode) -> None:
        s = self._s
        add_hashed(self._j, s.codes, s.code_ids_by_hash, code, code.code_hash, "authorization code")

    async def find_code(self, code_hashes: Sequence[str]) -> AuthorizationCode | None:
        return find_hashed(self._s.codes, self._s.code_ids_by_hash, code_hashes)

    async def consume_code(self, code_id: str, at: datetime) -> bool:
        code = self._s.codes.get(code_id)
        if code is None or not code.is_usable(at):
            return False
        self._j.put(self._s.codes, code_id, attrs.evolve(code, used_at=at))
        return True

    async def add_refresh(self, token: RefreshToken) -> None:
        s = self._s
        add_hashed(
            self._j, s.refresh, s.refresh_ids_by_hash, token, token.token_hash, "refresh token"
        )

    async def find_refresh(self, token_hashes: Sequence[str]) -> RefreshToken | None:
        return find_hashed(self._s.refresh, self._s.refresh_ids_by_hash, token_hashes)

    async def rotate_refresh(self, token_id: str, at: datetime) -> bool:
        token = self._s.refresh.get(token_id)
        if token is None or not token.is_usable(at):
            return False
        self._j.put(self._s.refresh, token_id, attrs.evolve(token, status=RefreshStatus.ROTATED))
        return True

    async def find_by_access_token(self, access_token_id: str) -> RefreshToken | None:
        for token in self._s.refresh.values():
            if token.access_token_id == access_token_id:
                return copy.copy(token)
        return None

    async def family(self, family_id: str) -> Sequence[RefreshToken]:
        return sorted(
            (copy.copy(t) for t in self._s.refresh.values() if t.family_id == family_id),
            key=lambda t: (t.created_at, t.id),
        )

    async def revoke_family(self, family_id: str) -> int:
        count = 0
        for token in list(self._s.refresh.values()):
            if token.family_id == family_id and token.status is not RefreshStatus.REVOKED:
                revoked = attrs.evolve(token, status=RefreshStatus.REVOKED)
                self._j.put(self._s.refresh, token.id, revoked)
                count += 1
        return count

    async def purge(self, now: datetime) -> int:
        s = self._s
        codes = [c for c in s.codes.values() if c.expires_at <= now]
        for code in codes:
            self._j.delete(s.codes, code.id)
            self._j.delete(s.code_ids_by_hash, code.code_hash)
        last_expiry: dict[str, datetime] = {}
        for token in s.refresh.values():
            last = last_expiry.get(token.family_id)
            last_expiry[token.family_id] = (
                token.expires_at if last is None else max(last, token.expires_at)
            )
        tokens = [t for t in s.refresh.values() if last_expiry[t.family_id] <= now]
        for token in tokens:
            self._j.delete(s.refresh, token.id)
            self._j.delete(s.refresh_ids_by_hash, token.token_hash)
        return len(codes) + len(tokens)
