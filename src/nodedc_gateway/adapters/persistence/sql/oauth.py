"""OAuth state in SQL: clients, authorization codes and refresh token families."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from nodedc_gateway.adapters.persistence.sql import tables as t
from nodedc_gateway.adapters.persistence.sql.repositories import _Repository, _rowcount
from nodedc_gateway.domain.oauth import (
    AuthorizationCode,
    ClientSource,
    OAuthClient,
    RefreshStatus,
    RefreshToken,
)

AnyRow = Any


def _client_values(client: OAuthClient) -> dict[str, Any]:
    return {
        "client_id": client.client_id,
        "client_name": client.client_name,
        "redirect_uris": list(client.redirect_uris),
        "document": client.document,
        "source": str(client.source),
        "created_at": client.created_at,
        "fetched_at": client.fetched_at,
    }


def _client(row: AnyRow) -> OAuthClient:
    return OAuthClient(
        client_id=row.client_id,
        client_name=row.client_name,
        redirect_uris=tuple(row.redirect_uris),
        document=dict(row.document),
        source=ClientSource(row.source),
        created_at=row.created_at,
        fetched_at=row.fetched_at,
    )


def _code_values(code: AuthorizationCode) -> dict[str, Any]:
    return {
        "id": code.id,
        "code_hash": code.code_hash,
        "client_id": code.client_id,
        "agent_id": code.agent_id,
        "redirect_uri": code.redirect_uri,
        "redirect_uri_explicit": code.redirect_uri_explicit,
        "code_challenge": code.code_challenge,
        "resource": code.resource,
        "scopes": list(code.scopes),
        "family_id": code.family_id,
        "expires_at": code.expires_at,
        "created_at": code.created_at,
        "used_at": code.used_at,
    }


def _code(row: AnyRow) -> AuthorizationCode:
    return AuthorizationCode(
        id=row.id,
        code_hash=row.code_hash,
        client_id=row.client_id,
        agent_id=row.agent_id,
        redirect_uri=row.redirect_uri,
        redirect_uri_explicit=bool(row.redirect_uri_explicit),
        code_challenge=row.code_challenge,
        resource=row.resource,
        scopes=tuple(row.scopes),
        family_id=row.family_id,
        expires_at=row.expires_at,
        created_at=row.created_at,
        used_at=row.used_at,
    )


def _refresh_values(token: RefreshToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "token_hash": token.token_hash,
        "family_id": token.family_id,
        "client_id": token.client_id,
        "agent_id": token.agent_id,
        "access_token_id": token.access_token_id,
        "resource": token.resource,
        "scopes": list(token.scopes),
        "status": str(token.status),
        "expires_at": token.expires_at,
        "created_at": token.created_at,
    }


def _refresh(row: AnyRow) -> RefreshToken:
    return RefreshToken(
        id=row.id,
        token_hash=row.token_hash,
        family_id=row.family_id,
        client_id=row.client_id,
        agent_id=row.agent_id,
        access_token_id=row.access_token_id,
        resource=row.resource,
        scopes=tuple(row.scopes),
        status=RefreshStatus(row.status),
        expires_at=row.expires_at,
        created_at=row.created_at,
    )


class SqlOAuthRepository(_Repository):
    async def put_client(self, client: OAuthClient) -> None:
        await self._upsert(t.oauth_clients, _client_values(client))

    async def get_client(self, client_id: str) -> OAuthClient | None:
        c = t.oauth_clients.c
        return await self._one(t.oauth_clients, _client, c.client_id == client_id)

    async def add_code(self, code: AuthorizationCode) -> None:
        if not await self._insert_new(t.oauth_codes, _code_values(code)):
            raise ValueError("authorization code hash exists")

    async def find_code(self, code_hashes: Sequence[str]) -> AuthorizationCode | None:
        return await self._by_hash(t.oauth_codes, "code_hash", code_hashes, _code)

    async def consume_code(self, code_id: str, at: datetime) -> bool:
        c = t.oauth_codes.c
        return await self._spend(
            t.oauth_codes, code_id, (c.used_at.is_(None), c.expires_at > at), used_at=at
        )

    async def add_refresh(self, token: RefreshToken) -> None:
        if not await self._insert_new(t.oauth_refresh_tokens, _refresh_values(token)):
            raise ValueError("refresh token hash exists")

    async def find_refresh(self, token_hashes: Sequence[str]) -> RefreshToken | None:
        return await self._by_hash(t.oauth_refresh_tokens, "token_hash", token_hashes, _refresh)

    async def rotate_refresh(self, token_id: str, at: datetime) -> bool:
        c = t.oauth_refresh_tokens.c
        still = (c.status == str(RefreshStatus.ACTIVE), c.expires_at > at)
        return await self._spend(
            t.oauth_refresh_tokens, token_id, still, status=str(RefreshStatus.ROTATED)
        )

    async def find_by_access_token(self, access_token_id: str) -> RefreshToken | None:
        c = t.oauth_refresh_tokens.c
        return await self._one(
            t.oauth_refresh_tokens, _refresh, c.access_token_id == access_token_id
        )

    async def family(self, family_id: str) -> Sequence[RefreshToken]:
        c = t.oauth_refresh_tokens.c
        rows = await self._c.execute(
            select(t.oauth_refresh_tokens)
            .where(c.family_id == family_id)
            .order_by(c.created_at, c.id)
        )
        return [_refresh(row) for row in rows]

    async def revoke_family(self, family_id: str) -> int:
        c = t.oauth_refresh_tokens.c
        result = await self._c.execute(
            update(t.oauth_refresh_tokens)
            .where(c.family_id == family_id, c.status != str(RefreshStatus.REVOKED))
            .values(status=str(RefreshStatus.REVOKED))
        )
        return _rowcount(result)

    async def purge(self, now: datetime) -> int:
        codes = t.oauth_codes.c
        code_result = await self._c.execute(delete(t.oauth_codes).where(codes.expires_at <= now))
        # A family goes as a whole once none of its tokens is unexpired (the port says why):
        # the expired rows found by the expires_at index, each kept while a live token of
        # its family exists (a correlated NOT EXISTS on the family_id index; `NOT IN` over
        # every live token would be a scan PostgreSQL cannot turn into an anti-join).
        c = t.oauth_refresh_tokens.c
        live = t.oauth_refresh_tokens.alias("live")
        alive = select(live.c.id).where(live.c.family_id == c.family_id, live.c.expires_at > now)
        refresh_result = await self._c.execute(
            delete(t.oauth_refresh_tokens).where(c.expires_at <= now, ~alive.exists())
        )
        return _rowcount(code_result) + _rowcount(refresh_result)
