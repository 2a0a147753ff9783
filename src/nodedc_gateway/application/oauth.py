"""MCP authorization use cases (CONTRACT §14): clients, consent, codes, tokens, revocation.

Transport-free: the edge (`entrypoints/oauth`) adapts these to the MCP SDK's provider
protocol and the consent page. Refusals are `OAuthRefused` carrying the RFC error code;
whenever one is raised, nothing was issued. Every issue, rotation, replay and revocation
writes an audit event on the agent's chain.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import attrs

from nodedc_gateway.application.budgets import spend
from nodedc_gateway.application.oauth_consent import Consenter
from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.audit import AuditDecision, AuditDraft
from nodedc_gateway.domain.errors import ErrorCode
from nodedc_gateway.domain.grants import Grant
from nodedc_gateway.domain.oauth import (
    ACCESS_TOKEN_TTL,
    AUTHORIZATION_CODE_TTL,
    CODE_PREFIX,
    MAX_CLIENT_ID,
    MAX_CLIENT_NAME,
    MAX_REDIRECT_URI,
    MAX_REDIRECT_URIS,
    OAUTH_SECRET_LENGTH,
    REFRESH_PREFIX,
    REFRESH_TOKEN_TTL,
    AuthorizationCode,
    ClientSource,
    OAuthClient,
    RefreshStatus,
    RefreshToken,
    access_token_name,
)
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tokens import (
    BASE62_ALPHABET,
    TOKEN_RANDOM_LENGTH,
    AgentToken,
    TokenStatus,
    is_well_formed_token,
    mint_token,
)
from nodedc_gateway.ports.client_documents import ClientDocumentFetcher, ClientDocumentUnavailable
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.ids import IdGenerator, SecretGenerator
from nodedc_gateway.ports.ratelimit import RateLimitStore
from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

OPERATION = "oauth"


class OAuthRefused(Exception):
    """An OAuth request refused with an RFC error code (RFC 6749 §5.2, RFC 8707, …)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


_Held = TypeVar("_Held", AuthorizationCode, RefreshToken)


async def _find_code(uow: UnitOfWork, candidates: tuple[str, ...]) -> AuthorizationCode | None:
    return await uow.oauth.find_code(candidates)


async def _find_refresh(uow: UnitOfWork, candidates: tuple[str, ...]) -> RefreshToken | None:
    return await uow.oauth.find_refresh(candidates)


class _AgentInactive(OAuthRefused):
    def __init__(self, agent: Agent | None) -> None:
        super().__init__("invalid_grant", "the agent is disabled or revoked")
        self.agent = agent


@attrs.frozen
class Pending:
    """An authorization request the SDK validated, waiting for a person's consent."""

    client_id: str
    redirect_uri: str
    redirect_uri_explicit: bool
    code_challenge: str
    state: str | None
    resource: str
    scopes: tuple[str, ...]


@attrs.frozen
class ConsentView:
    client: OAuthClient
    agent: Agent
    grants: tuple[Grant, ...]


@attrs.frozen
class IssuedPair:
    access_token: SecretStr
    refresh_token: SecretStr
    expires_in: int
    scopes: tuple[str, ...]


@attrs.frozen
class OAuthDeps:
    uow: UnitOfWorkFactory
    ids: IdGenerator
    secrets: SecretGenerator
    hasher: SecretHasher
    clock: Clock
    documents: ClientDocumentFetcher
    rate_limits: RateLimitStore
    consent_per_client: RatePolicy
    consent_global: RatePolicy
    #: The one audience tokens are for (RFC 8707): this gateway's `/mcp`.
    resource: str
    #: Client metadata URLs may be http (local mode only).
    allow_http_documents: bool = False


def is_document_client_id(client_id: str, allow_http: bool) -> bool:
    parts = urlsplit(client_id)
    schemes = ("https", "http") if allow_http else ("https",)
    return parts.scheme in schemes and bool(parts.netloc) and parts.path not in ("", "/")


def _redirect_uri_problem(uri: object) -> str | None:
    """OAuth 2.1: https redirect URIs, or http on a loopback address; no fragment."""
    if not isinstance(uri, str) or not uri or len(uri) > MAX_REDIRECT_URI:
        return f"each redirect URI is a URL of at most {MAX_REDIRECT_URI} characters"
    parts = urlsplit(uri)
    if parts.fragment:
        return "a redirect URI has no fragment"
    if parts.scheme == "https" and parts.netloc:
        return None
    if parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return None
    if parts.scheme not in ("http", "https", "javascript", "data", "file") and ":" in uri:
        return None  # a private-use scheme of a native app (RFC 8252 §7.1)
    return f"redirect URI {uri[:100]!r} must be https, or http on a loopback address"


def check_client_metadata(document: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """The client's display name and redirect URIs, or OAuthRefused naming what is wrong."""
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not 1 <= len(uris) <= MAX_REDIRECT_URIS:
        raise OAuthRefused(
            "invalid_redirect_uri", f"redirect_uris lists 1 to {MAX_REDIRECT_URIS} URIs"
        )
    for uri in uris:
        problem = _redirect_uri_problem(uri)
        if problem:
            raise OAuthRefused("invalid_redirect_uri", problem)
    name = document.get("client_name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_CLIENT_NAME):
        raise OAuthRefused(
            "invalid_client_metadata", f"client_name is text of at most {MAX_CLIENT_NAME} chars"
        )
    display = " ".join((name or "").split()) or "Unnamed client"
    return display, tuple(uris)


class OAuthService:
    def __init__(self, deps: OAuthDeps) -> None:
        self.d = deps

    # --- clients -----------------------------------------------------------------------

    async def register(self, client_id: str, document: Mapping[str, Any]) -> OAuthClient:
        """Dynamic Client Registration (RFC 7591): store what the SDK validated."""
        name, uris = check_client_metadata(document)
        now = self.d.clock.now()
        client = OAuthClient(
            client_id, name, uris, dict(document), ClientSource.REGISTERED, now, now
        )
        async with self.d.uow() as uow:
            await uow.oauth.put_client(client)
            await uow.commit()
        return client

    async def client(self, client_id: str) -> OAuthClient | None:
        """A registered client, or the one a metadata document URL describes (fetched and
        kept for an hour). None when unknown or the document is unusable."""
        if not client_id or len(client_id) > MAX_CLIENT_ID:
            return None
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            stored = await uow.oauth.get_client(client_id)
        if stored is not None and not stored.is_stale(now):
            return stored
        if not is_document_client_id(client_id, self.d.allow_http_documents):
            return None
        try:
            document = dict(await self.d.documents.fetch(client_id))
        except ClientDocumentUnavailable:
            return None
        if document.get("client_id") != client_id:
            return None  # a document names itself (Client ID Metadata Documents §4.1)
        if document.get("token_endpoint_auth_method", "none") != "none":
            return None  # no shared secrets for URL clients here
        try:
            name, uris = check_client_metadata(document)
        except OAuthRefused:
            return None
        client = OAuthClient(
            client_id,
            name,
            uris,
            document,
            ClientSource.METADATA_DOCUMENT,
            stored.created_at if stored else now,
            now,
        )
        async with self.d.uow() as uow:
            await uow.oauth.put_client(client)
            await uow.commit()
        return client

    def check_resource(self, resource: str | None) -> str:
        """RFC 8707: the only audience here is this gateway's `/mcp`."""
        if resource is None:
            return self.d.resource
        if resource.rstrip("/") != self.d.resource.rstrip("/"):
            raise OAuthRefused(
                "invalid_target",
                f"this authorization server issues tokens for {self.d.resource} only",
            )
        return self.d.resource

    # --- consent -----------------------------------------------------------------------

    async def throttle(self, client_key: str, kind: str = "client") -> None:
        """The pairing-code budget (per address and overall), as for redeeming a code;
        `kind` keeps separate per-address budgets for consent and for registration."""
        budgets = (
            (f"{kind}:{client_key}", self.d.consent_per_client),
            ("global:redeem" if kind == "client" else f"global:{kind}", self.d.consent_global),
        )
        await spend(self.d.rate_limits, budgets, self.d.clock.now())

    async def view(self, pending: Pending, consenter: Consenter) -> ConsentView:
        client = await self._client(pending.client_id)
        async with self.d.uow() as uow:
            agent = await consenter.identify(uow, self.d.clock.now())
            grants = tuple(await uow.grants.list_by_agent(agent.id))
        return ConsentView(client, agent, grants)

    async def approve(self, pending: Pending, consenter: Consenter) -> str:
        """Mint the authorization code for this consent; returns the code (shown once)."""
        client = await self._client(pending.client_id)
        resource = self.check_resource(pending.resource)
        now = self.d.clock.now()
        code = CODE_PREFIX + self._random()
        async with self.d.uow() as uow:
            agent = await consenter.confirm(uow, now)
            record = AuthorizationCode(
                id=self.d.ids.new_id(),
                code_hash=self.d.hasher.hash(code),
                client_id=client.client_id,
                agent_id=agent.id,
                redirect_uri=pending.redirect_uri,
                redirect_uri_explicit=pending.redirect_uri_explicit,
                code_challenge=pending.code_challenge,
                resource=resource,
                scopes=pending.scopes,
                family_id=self.d.ids.new_id(),
                expires_at=now + AUTHORIZATION_CODE_TTL,
                created_at=now,
            )
            await uow.oauth.add_code(record)
            meta = {
                "client_id": client.client_id,
                "client_name": client.client_name,
                "redirect_host": urlsplit(pending.redirect_uri).netloc,
                "consent_method": consenter.method,
                "family_id": record.family_id,
            }
            await self._audit(uow, agent, "oauth.consented", meta, consenter.owner_user_id)
            await uow.commit()
        return code

    async def deny(self, pending: Pending) -> None:
        """Nothing to store: the client gets `access_denied` at its redirect URI."""
        await self._client(pending.client_id)

    # --- the token endpoint ------------------------------------------------------------

    async def load_code(self, client_id: str, code: str) -> AuthorizationCode | None:
        """The code, if it is this client's, unused and unexpired. A code presented again
        after its exchange revokes what it produced (RFC 6749 §4.1.2)."""

        async def reuse(uow: UnitOfWork, record: AuthorizationCode) -> str | None:
            return "code_reuse" if record.used_at is not None else None

        return await self._load(client_id, code, CODE_PREFIX, _find_code, reuse)

    async def exchange_code(self, client: OAuthClient, record: AuthorizationCode) -> IssuedPair:
        async def claim(uow: UnitOfWork, now: datetime) -> None:
            if not await uow.oauth.consume_code(record.id, now):
                raise OAuthRefused("invalid_grant", "the authorization code was already used")

        return await self._exchange(client, record, claim)

    async def load_refresh(self, client_id: str, token: str) -> RefreshToken | None:
        """The refresh token if usable. A rotated one presented again is a replay: its
        whole family (and every access token it produced) is revoked."""

        async def reuse(uow: UnitOfWork, record: RefreshToken) -> str | None:
            if record.status is RefreshStatus.ROTATED:
                return "refresh_reuse"
            access = await uow.tokens.get(record.access_token_id)
            if record.status is RefreshStatus.ACTIVE and (
                access is None or access.status is TokenStatus.REVOKED
            ):
                # The owner revoked the token this grant last issued: the grant ends with
                # it, or the client would simply refresh its way back in.
                return "token_revoked"
            return None

        return await self._load(client_id, token, REFRESH_PREFIX, _find_refresh, reuse)

    async def exchange_refresh(self, client: OAuthClient, record: RefreshToken) -> IssuedPair:
        async def claim(uow: UnitOfWork, now: datetime) -> None:
            if not await uow.oauth.rotate_refresh(record.id, now):
                # Rotated by a concurrent request, or revoked meanwhile: a replay.
                await self._revoke_family(uow, record.family_id, record.agent_id, "refresh_reuse")
                await uow.commit()
                raise OAuthRefused("invalid_grant", "the refresh token is no longer valid")

        return await self._exchange(client, record, claim)

    async def _load(
        self,
        client_id: str,
        secret: str,
        prefix: str,
        find: Callable[[UnitOfWork, tuple[str, ...]], Awaitable[_Held | None]],
        reuse: Callable[[UnitOfWork, _Held], Awaitable[str | None]],
    ) -> _Held | None:
        """The client's stored code or refresh token for `secret`, if usable. When `reuse`
        names a reason, the secret is being replayed: its family is revoked for it."""
        if not secret.startswith(prefix) or len(secret) > 100:
            return None
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            record = await find(uow, self.d.hasher.candidates(secret))
            if record is None or record.client_id != client_id:
                return None
            reason = await reuse(uow, record)
            if reason is not None:
                await self._revoke_family(uow, record.family_id, record.agent_id, reason)
                await uow.commit()
                return None
        return record if record.is_usable(now) else None

    async def _exchange(
        self,
        client: OAuthClient,
        record: AuthorizationCode | RefreshToken,
        claim: Callable[[UnitOfWork, datetime], Awaitable[None]],
    ) -> IssuedPair:
        """A new pair for the family of `record`, once `claim` has spent it (a code used,
        a refresh token rotated); a refusal for an inactive agent is audited."""
        now = self.d.clock.now()
        try:
            async with self.d.uow() as uow:
                await claim(uow, now)
                agent = await self._active_agent(uow, record.agent_id)
                pair = await self._issue(uow, client, agent, record.family_id, record.resource, now)
                await uow.commit()
        except _AgentInactive as refused:
            await self._audit_refusal(refused.agent)
            raise
        return pair

    # --- revocation (RFC 7009) -----------------------------------------------------------

    async def find_access(self, token: str) -> tuple[AgentToken, RefreshToken | None] | None:
        if not is_well_formed_token(token):
            return None
        async with self.d.uow() as uow:
            stored = await uow.tokens.find_by_hash(self.d.hasher.candidates(token))
            if stored is None:
                return None
            return stored, await uow.oauth.find_by_access_token(stored.id)

    async def revoke_family(self, family_id: str, agent_id: str) -> None:
        async with self.d.uow() as uow:
            await self._revoke_family(uow, family_id, agent_id, "revoked_by_client")
            await uow.commit()

    # --- internals ---------------------------------------------------------------------

    async def _client(self, client_id: str) -> OAuthClient:
        client = await self.client(client_id)
        if client is None:
            raise OAuthRefused("invalid_client", "this client is unknown")
        return client

    async def _active_agent(self, uow: UnitOfWork, agent_id: str) -> Agent:
        agent = await uow.agents.get(agent_id)
        if agent is None or not agent.is_active:
            raise _AgentInactive(agent)
        return agent

    async def _audit_refusal(self, agent: Agent | None) -> None:
        """A token refused because the agent is not active: audited on the agent's chain
        (its own unit of work, after the refused one was rolled back, issuing nothing)."""
        if agent is None:
            return
        async with self.d.uow() as uow:
            await self._audit(
                uow,
                agent,
                "oauth.token_refused",
                {"status": str(agent.status)},
                decision=AuditDecision.DENY,
                reason=ErrorCode.AGENT_INACTIVE,
            )
            await uow.commit()

    def _random(self) -> str:
        return self.d.secrets.random_string(BASE62_ALPHABET, OAUTH_SECRET_LENGTH)

    async def _issue(
        self,
        uow: UnitOfWork,
        client: OAuthClient,
        agent: Agent,
        family_id: str,
        resource: str,
        now: datetime,
    ) -> IssuedPair:
        """An agent token valid one hour, and the family's next refresh token."""
        secret = mint_token(self.d.secrets.random_string(BASE62_ALPHABET, TOKEN_RANDOM_LENGTH))
        access = AgentToken.issue(
            token_id=self.d.ids.new_id(),
            agent_id=agent.id,
            name=access_token_name(client.client_name),
            token_hash=self.d.hasher.hash(secret.reveal()),
            expires_at=now + ACCESS_TOKEN_TTL,
            now=now,
        )
        await uow.tokens.add(access)
        refresh = REFRESH_PREFIX + self._random()
        await uow.oauth.add_refresh(
            RefreshToken(
                id=self.d.ids.new_id(),
                token_hash=self.d.hasher.hash(refresh),
                family_id=family_id,
                client_id=client.client_id,
                agent_id=agent.id,
                access_token_id=access.id,
                resource=resource,
                scopes=(),
                status=RefreshStatus.ACTIVE,
                expires_at=now + REFRESH_TOKEN_TTL,
                created_at=now,
            )
        )
        meta = {
            "token_id": access.id,
            "name": access.name,
            "expires_at": access.expires_at.isoformat(),
            "client_id": client.client_id,
            "family_id": family_id,
        }
        await self._audit(uow, agent, "token.issued", meta)
        return IssuedPair(secret, SecretStr(refresh), int(ACCESS_TOKEN_TTL.total_seconds()), ())

    async def _revoke_family(
        self, uow: UnitOfWork, family_id: str, agent_id: str, reason: str
    ) -> None:
        family = await uow.oauth.family(family_id)
        await uow.oauth.revoke_family(family_id)
        revoked: list[str] = []
        for member in family:
            token = await uow.tokens.get(member.access_token_id)
            if token is not None and token.status is TokenStatus.ACTIVE:
                token.revoke()
                await uow.tokens.save(token)
                revoked.append(token.id)
        agent = await uow.agents.get(agent_id)
        if agent is not None:
            meta = {"family_id": family_id, "reason": reason, "token_ids": revoked}
            await self._audit(uow, agent, "oauth.family_revoked", meta)

    async def _audit(
        self,
        uow: UnitOfWork,
        agent: Agent,
        event_type: str,
        metadata: Mapping[str, Any],
        actor_user_id: str | None = None,
        *,
        decision: AuditDecision = AuditDecision.ALLOW,
        reason: ErrorCode | None = None,
    ) -> None:
        await uow.audit.append(
            [
                AuditDraft(
                    id=self.d.ids.new_id(),
                    agent_id=agent.id,
                    owner_user_id=agent.owner_user_id,
                    actor_user_id=actor_user_id,
                    event_type=event_type,
                    operation=OPERATION,
                    decision=decision,
                    reason=reason,
                    target={},
                    grant_versions=(),
                    metadata=dict(metadata),
                    created_at=self.d.clock.now(),
                )
            ]
        )
