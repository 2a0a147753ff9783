"""Domain objects for persistence tests, made through the domain's own constructors."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditDecision, AuditDraft
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import Grant, GrantRef, GrantVersion
from nodedc_gateway.domain.idempotency import IdempotencyRecord
from nodedc_gateway.domain.oauth import (
    AUTHORIZATION_CODE_TTL,
    REFRESH_TOKEN_TTL,
    AuthorizationCode,
    RefreshStatus,
    RefreshToken,
)
from nodedc_gateway.domain.pairing import PairingCode
from nodedc_gateway.domain.tokens import AgentToken

#: An odd instant on purpose: microseconds matter (the audit hash covers timestamps).
T0 = datetime(2026, 11, 22, 12, 0, 0, 123_456, tzinfo=UTC)
PROJECT_ID = "01900000-0000-7000-8000-0000000000aa"

_ids = UUIDv7Generator()


def new_id() -> str:
    return _ids.new_id()


def fake_hash(label: str) -> str:
    """A stand-in for HMAC-SHA256(pepper, secret): 64 hex characters."""
    return hashlib.sha256(label.encode()).hexdigest()


def agent(owner: str = "owner-1", *, now: datetime = T0, name: str = "Agent") -> Agent:
    return Agent.register(
        agent_id=new_id(),
        owner_user_id=owner,
        owner_email="alice@demo.local",
        display_name=name,
        avatar_url="https://example.org/a.png",
        now=now,
    )


def token(agent_id: str, *, now: datetime = T0, days: int = 90, label: str = "") -> AgentToken:
    token_id = new_id()
    return AgentToken.issue(
        token_id=token_id,
        agent_id=agent_id,
        name="laptop",
        token_hash=fake_hash(label or token_id),
        expires_at=now + timedelta(days=days),
        now=now,
    )


def pairing_code(
    agent_id: str, *, now: datetime = T0, ttl: timedelta = timedelta(minutes=10)
) -> PairingCode:
    code_id = new_id()
    return PairingCode.issue(
        code_id=code_id, agent_id=agent_id, code_hash=fake_hash(code_id), now=now, ttl=ttl
    )


def oauth_code(
    agent_id: str, family_id: str | None = None, *, now: datetime = T0
) -> AuthorizationCode:
    """An unused authorization code of `client-1`, valid its 5 minutes from `now`."""
    return AuthorizationCode(
        id=new_id(),
        code_hash=fake_hash(new_id()),
        client_id="client-1",
        agent_id=agent_id,
        redirect_uri="http://127.0.0.1:1455/callback",
        redirect_uri_explicit=True,
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        resource="https://gateway.example/mcp",
        scopes=(),
        family_id=family_id or new_id(),
        expires_at=now + AUTHORIZATION_CODE_TTL,
        created_at=now,
    )


def refresh_token(
    agent_id: str, family_id: str, minutes: int = 0, *, now: datetime = T0
) -> RefreshToken:
    """An active refresh token of `client-1`, issued `minutes` after `now` but expiring
    like one issued at `now` (30 days)."""
    return RefreshToken(
        id=new_id(),
        token_hash=fake_hash(new_id()),
        family_id=family_id,
        client_id="client-1",
        agent_id=agent_id,
        access_token_id=new_id(),
        resource="https://gateway.example/mcp",
        scopes=(),
        status=RefreshStatus.ACTIVE,
        expires_at=now + REFRESH_TOKEN_TTL,
        created_at=now + timedelta(minutes=minutes),
    )


def grant(
    agent_id: str,
    *,
    scopes: Iterable[str] = ("issue:read", "issue:create"),
    project_id: str = PROJECT_ID,
    now: datetime = T0,
    mode: str = "voluntary",
    workspace: str = "demo",
) -> tuple[Grant, GrantVersion]:
    return Grant.create(
        grant_id=new_id(),
        agent_id=agent_id,
        workspace_slug=workspace,
        project_id=project_id,
        scopes=list(scopes),
        mode=mode,
        by_user_id="owner-1",
        now=now,
    )


def claim(
    key: str = "key-1", *, scope: str = "agent:a", now: datetime = T0, fingerprint: str = "f1"
) -> IdempotencyRecord:
    return IdempotencyRecord.claim(
        scope=scope, key=key, fingerprint=fingerprint, operation="create_issue", now=now
    )


def draft(
    agent_id: str | None,
    *,
    now: datetime = T0,
    operation: str = "create_issue",
    decision: AuditDecision = AuditDecision.ALLOW,
    event_type: str = "tool_call",
    metadata: dict[str, Any] | None = None,
) -> AuditDraft:
    return AuditDraft(
        id=new_id(),
        agent_id=agent_id,
        owner_user_id="owner-1",
        actor_user_id=None,
        event_type=event_type,
        operation=operation,
        decision=decision,
        reason=None if decision is AuditDecision.ALLOW else ErrorCode.SCOPE_MISSING,
        target={"workspace_slug": "demo", "project_id": PROJECT_ID},
        grant_versions=(GrantRef(new_id(), 2),),
        metadata=metadata if metadata is not None else {"issue_id": "x", "n": 1.5, "ok": True},
        created_at=now,
    )


def one_character_changed(text: str) -> str:
    """`text` with the character in its middle made another one: never `text` itself (a
    fixed replacement sometimes was the character already there), and never only the
    last character, which in base64 may hold nothing but padding bits."""
    middle = len(text) // 2
    return text[:middle] + ("A" if text[middle] != "A" else "B") + text[middle + 1 :]
