"""Agent tokens (CONTRACT §1): `ndca_` + 36 random base62 chars + 6 base62 chars of CRC32.

The checksum lets the gateway (and secret scanners) reject a mistyped or made-up token
without touching the database. Only an HMAC of the token is ever stored.
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.secret import SecretStr

TOKEN_PREFIX = "ndca_"  # noqa: S105 - a public prefix, not a secret
BASE62_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TOKEN_RANDOM_LENGTH = 36  # 36 × log2(62) ≈ 214 bits
TOKEN_CHECKSUM_LENGTH = 6  # 62^6 > 2^32
TOKEN_LENGTH = len(TOKEN_PREFIX) + TOKEN_RANDOM_LENGTH + TOKEN_CHECKSUM_LENGTH
DEFAULT_EXPIRES_IN_DAYS = 90
MAX_EXPIRES_IN_DAYS = 366
MAX_TOKEN_NAME = 100
#: `last_used_at` is written at most this often per token, not on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_BASE62_SET = frozenset(BASE62_ALPHABET)


def base62(number: int, width: int) -> str:
    """`number` in base62, left-padded with zeros to `width` characters."""
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62_ALPHABET[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def token_checksum(random_part: str) -> str:
    return base62(zlib.crc32(random_part.encode("ascii")), TOKEN_CHECKSUM_LENGTH)


def mint_token(random_part: str) -> SecretStr:
    """Assemble a token from CSPRNG output (36 base62 chars)."""
    if len(random_part) != TOKEN_RANDOM_LENGTH or not set(random_part) <= _BASE62_SET:
        raise ValueError("a token's random part is 36 base62 characters")
    return SecretStr(TOKEN_PREFIX + random_part + token_checksum(random_part))


def is_well_formed_token(candidate: str) -> bool:
    """Prefix, length, alphabet and checksum: everything checkable without storage."""
    if len(candidate) != TOKEN_LENGTH or not candidate.startswith(TOKEN_PREFIX):
        return False
    body = candidate[len(TOKEN_PREFIX) :]
    if not set(body) <= _BASE62_SET:
        return False
    random_part, checksum = body[:TOKEN_RANDOM_LENGTH], body[TOKEN_RANDOM_LENGTH:]
    return token_checksum(random_part) == checksum


class TokenStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


def token_name(value: object) -> str:
    return validation.text(value, "name", max_length=MAX_TOKEN_NAME)


def token_expiry(now: datetime, expires_in_days: object) -> datetime:
    if (
        isinstance(expires_in_days, bool)
        or not isinstance(expires_in_days, int)
        or not 1 <= expires_in_days <= MAX_EXPIRES_IN_DAYS
    ):
        raise ValidationFailed.field(
            "expires_in_days", f"must be a whole number of days from 1 to {MAX_EXPIRES_IN_DAYS}"
        )
    return now + timedelta(days=expires_in_days)


@attrs.define
class AgentToken:
    """A token's stored record. The token itself never lives here, only its hash."""

    id: str
    agent_id: str
    name: str
    token_hash: str = attrs.field(repr=False)
    status: TokenStatus
    expires_at: datetime
    last_used_at: datetime | None
    created_at: datetime

    @classmethod
    def issue(
        cls,
        *,
        token_id: str,
        agent_id: str,
        name: object,
        token_hash: str,
        expires_at: datetime,
        now: datetime,
    ) -> AgentToken:
        return cls(
            id=token_id,
            agent_id=agent_id,
            name=token_name(name),
            token_hash=token_hash,
            status=TokenStatus.ACTIVE,
            expires_at=expires_at,
            last_used_at=None,
            created_at=now,
        )

    def status_at(self, now: datetime) -> TokenStatus:
        """The status a caller sees: an active token past its expiry reads as expired."""
        if self.status is TokenStatus.ACTIVE and now >= self.expires_at:
            return TokenStatus.EXPIRED
        return self.status

    def is_usable(self, now: datetime) -> bool:
        return self.status_at(now) is TokenStatus.ACTIVE

    def revoke(self) -> None:
        self.status = TokenStatus.REVOKED

    def record_use(self, now: datetime) -> bool:
        """Note a use; True when `last_used_at` moved and so must be written."""
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_RESOLUTION:
            return False
        self.last_used_at = now
        return True


@attrs.frozen
class IssuedToken:
    """A freshly issued token: the only moment the secret exists outside the caller."""

    token: AgentToken
    secret: SecretStr
