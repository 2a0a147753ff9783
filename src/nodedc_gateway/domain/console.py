"""The owner console's entry (CONTRACT §13): one-time links and server-side sessions.

A link's code is random (at least 128 bits), single use and valid for two minutes; only
an HMAC of it is stored. Opening it starts a session whose cookie token is likewise
stored only as an HMAC. A session ends after 30 idle minutes, 8 hours in all, or at
sign-out; the store decides liveness in the same statement that reads it, so a
sign-out or expiry bites at once on every replica.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

LINK_TTL = timedelta(minutes=2)
SESSION_IDLE = timedelta(minutes=30)
SESSION_ABSOLUTE = timedelta(hours=8)
#: 43 characters from 62 is about 256 bits; the link code needs at least 128.
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
CODE_LENGTH = 43


def is_well_formed_secret(value: str) -> bool:
    """A link code or session token as we issue them; anything else is never looked up."""
    return len(value) == CODE_LENGTH and all(c in CODE_ALPHABET for c in value)


@attrs.frozen
class ConsoleLink:
    id: str
    code_hash: str = attrs.field(repr=False)
    owner_user_id: str
    actor_user_id: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    @classmethod
    def issue(
        cls, *, link_id: str, code_hash: str, owner_user_id: str, actor_user_id: str, now: datetime
    ) -> ConsoleLink:
        return cls(link_id, code_hash, owner_user_id, actor_user_id, now, now + LINK_TTL)

    def is_redeemable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at


@attrs.frozen
class ConsoleSession:
    id: str
    token_hash: str = attrs.field(repr=False)
    owner_user_id: str
    actor_user_id: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime  # the absolute end
    ended_at: datetime | None = None

    @classmethod
    def start(
        cls, *, session_id: str, token_hash: str, link: ConsoleLink, now: datetime
    ) -> ConsoleSession:
        return cls(
            session_id,
            token_hash,
            link.owner_user_id,
            link.actor_user_id,
            now,
            now,
            now + SESSION_ABSOLUTE,
        )

    def is_live(self, now: datetime) -> bool:
        return (
            self.ended_at is None
            and now < self.expires_at
            and now < self.last_seen_at + SESSION_IDLE
        )
