"""The owner console's entry (CONTRACT §13): issuing one-time links, opening them into
sessions, recognising a session on each request, signing out.

What the console then does runs the same owner use cases as the internal API, through the
pipeline; this module only decides who is at the keyboard."""

from __future__ import annotations

from datetime import datetime

import attrs

from nodedc_gateway.application.budgets import spend
from nodedc_gateway.domain import validation
from nodedc_gateway.domain.console import (
    CODE_ALPHABET,
    CODE_LENGTH,
    ConsoleLink,
    ConsoleSession,
    is_well_formed_secret,
)
from nodedc_gateway.domain.errors import NotFound
from nodedc_gateway.domain.ratelimit import RatePolicy
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.console import ConsoleSessionStore
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.ids import IdGenerator, SecretGenerator
from nodedc_gateway.ports.ratelimit import RateLimitStore

#: Opening links, per client address and for the whole gateway (CONTRACT §8 style).
OPEN_PER_CLIENT = RatePolicy("console-open", 10, 60, 10)
OPEN_GLOBAL = RatePolicy("console-open-global", 600, 60, 100)


class ConsoleLinkInvalid(NotFound):
    """Unknown, used or expired: one answer for all, so nothing leaks."""

    def __init__(self) -> None:
        super().__init__(
            "This console link is unknown, already used or expired. Open the console from "
            "Tasker again for a new one."
        )


@attrs.frozen
class IssuedLink:
    code: str = attrs.field(repr=False)
    expires_at: datetime


@attrs.frozen
class OpenedSession:
    token: str = attrs.field(repr=False)
    session: ConsoleSession


@attrs.frozen
class ConsoleAccess:
    store: ConsoleSessionStore
    rate_limits: RateLimitStore
    hasher: SecretHasher
    secrets: SecretGenerator
    ids: IdGenerator
    clock: Clock

    async def issue_link(self, owner_user_id: object, actor_user_id: object = None) -> IssuedLink:
        owner = validation.text(owner_user_id, "owner_user_id", max_length=128)
        actor = (
            owner
            if actor_user_id is None
            else validation.text(actor_user_id, "actor_user_id", max_length=128)
        )
        code = self._secret()
        link = ConsoleLink.issue(
            link_id=self.ids.new_id(),
            code_hash=self.hasher.hash(code),
            owner_user_id=owner,
            actor_user_id=actor,
            now=self.clock.now(),
        )
        await self.store.add_link(link)
        return IssuedLink(code, link.expires_at)

    async def open_link(self, code: str, client: str) -> OpenedSession:
        """Redeem a link (rate limited per client and overall) into a new session."""
        now = self.clock.now()
        budgets = (
            (f"console-open:client:{client}", OPEN_PER_CLIENT),
            ("console-open:global", OPEN_GLOBAL),
        )
        await spend(self.rate_limits, budgets, now)
        if not is_well_formed_secret(code):
            raise ConsoleLinkInvalid()
        link = await self.store.redeem_link(self.hasher.candidates(code), now)
        if link is None:
            raise ConsoleLinkInvalid()
        token = self._secret()
        session = ConsoleSession.start(
            session_id=self.ids.new_id(),
            token_hash=self.hasher.hash(token),
            link=link,
            now=now,
        )
        await self.store.add_session(session)
        return OpenedSession(token, session)

    async def session(self, token: str | None) -> ConsoleSession | None:
        """The live session this cookie token belongs to, touched; None otherwise."""
        if token is None or not is_well_formed_secret(token):
            return None
        return await self.store.touch_session(self.hasher.candidates(token), self.clock.now())

    async def sign_out(self, session: ConsoleSession) -> None:
        await self.store.end_session(session.id, self.clock.now())

    def _secret(self) -> str:
        return self.secrets.random_string(CODE_ALPHABET, CODE_LENGTH)
