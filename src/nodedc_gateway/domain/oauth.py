"""MCP authorization (CONTRACT §14): OAuth clients, authorization codes and refresh tokens.

The access token an OAuth client gets IS an agent token (`domain.tokens`): same format,
same HMAC storage, same checks on every call, valid one hour. What this module adds is the
state around it. Codes and refresh tokens are stored only as HMACs. A refresh token rotates
on every use; the tokens one consent produced form a *family*, and presenting a refresh
token that was already rotated (a replay: RFC 9700 §4.14.2) revokes the whole family.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import attrs

ACCESS_TOKEN_TTL = timedelta(hours=1)
REFRESH_TOKEN_TTL = timedelta(days=30)
AUTHORIZATION_CODE_TTL = timedelta(minutes=5)
#: A client metadata document is fetched again after this long.
CLIENT_DOCUMENT_TTL = timedelta(hours=1)
#: Codes and refresh tokens: 43 base62 characters (≈ 256 bits) after a readable prefix.
OAUTH_SECRET_LENGTH = 43
CODE_PREFIX = "ndcc_"
REFRESH_PREFIX = "ndcr_"
MAX_CLIENT_ID = 512
MAX_CLIENT_NAME = 100
MAX_REDIRECT_URIS = 10
MAX_REDIRECT_URI = 2000


class ClientSource(StrEnum):
    REGISTERED = "registered"  # Dynamic Client Registration (RFC 7591)
    METADATA_DOCUMENT = "metadata_document"  # client_id is the URL of its metadata


class RefreshStatus(StrEnum):
    ACTIVE = "active"
    ROTATED = "rotated"  # used once; presenting it again is a replay
    REVOKED = "revoked"


@attrs.define
class OAuthClient:
    """A client as registered or as its metadata document said; `document` is the
    RFC 7591 client information, kept as given (the SDK's model reads it back)."""

    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    document: dict[str, Any]
    source: ClientSource
    created_at: datetime
    fetched_at: datetime

    def is_stale(self, now: datetime) -> bool:
        return (
            self.source is ClientSource.METADATA_DOCUMENT
            and now - self.fetched_at >= CLIENT_DOCUMENT_TTL
        )


def access_token_name(client_name: str) -> str:
    """How an OAuth-issued agent token shows in token listings: the client's name."""
    name = " ".join(client_name.split())[:80] or "unnamed client"
    return f"OAuth: {name}"


@attrs.define
class AuthorizationCode:
    """A code minted at consent, for one client, agent, redirect URI and PKCE challenge."""

    id: str
    code_hash: str = attrs.field(repr=False)
    client_id: str
    agent_id: str
    redirect_uri: str
    redirect_uri_explicit: bool
    code_challenge: str
    resource: str
    scopes: tuple[str, ...]
    family_id: str
    expires_at: datetime
    created_at: datetime
    used_at: datetime | None = None

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@attrs.define
class RefreshToken:
    """One refresh token of a family; `access_token_id` is the agent token issued with it."""

    id: str
    token_hash: str = attrs.field(repr=False)
    family_id: str
    client_id: str
    agent_id: str
    access_token_id: str
    resource: str
    scopes: tuple[str, ...]
    status: RefreshStatus
    expires_at: datetime
    created_at: datetime

    def is_usable(self, now: datetime) -> bool:
        return self.status is RefreshStatus.ACTIVE and now < self.expires_at
