"""Pairing codes (CONTRACT §1): a short, single-use code a human reads to their agent.

8 letters from a 20-letter alphabet without vowels or look-alikes, shown as `WDJB-MJHT`.
Input ignores case, dashes and spaces. Only an HMAC of the normalized code is stored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

from nodedc_gateway.domain.errors import NotFound, ValidationFailed

PAIRING_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
PAIRING_CODE_LENGTH = 8
PAIRING_CODE_TTL = timedelta(minutes=10)
_ALPHABET_SET = frozenset(PAIRING_ALPHABET)
#: What input may hold between the letters: ignored.
_SEPARATORS = "-\t "
_IGNORED = str.maketrans("", "", _SEPARATORS)
#: A pairing code as typed, at most (separators and all).
MAX_PAIRING_INPUT = 64
_LETTER = f"[{PAIRING_ALPHABET}{PAIRING_ALPHABET.lower()}]"
_SEPARATOR = "[" + _SEPARATORS.replace("\t", r"\t") + "]"  # the tab spelled as an escape
#: What `normalize_pairing_code` accepts, as a pattern (for input schemas).
PAIRING_CODE_PATTERN = rf"^{_SEPARATOR}*({_LETTER}{_SEPARATOR}*){{{PAIRING_CODE_LENGTH}}}$"


def normalize_pairing_code(raw: object) -> str:
    """`wdjb-mjht`, `WDJBMJHT` and ` WdJb - MjHt ` all become `WDJBMJHT`."""
    if not isinstance(raw, str) or len(raw) > MAX_PAIRING_INPUT:
        raise ValidationFailed.field("code", "must be the 8-letter pairing code, like WDJB-MJHT")
    code = raw.translate(_IGNORED).upper()
    if len(code) != PAIRING_CODE_LENGTH or not set(code) <= _ALPHABET_SET:
        raise ValidationFailed.field(
            "code",
            f"a pairing code is {PAIRING_CODE_LENGTH} letters from {PAIRING_ALPHABET}, "
            "like WDJB-MJHT (case and dashes do not matter)",
        )
    return code


def display_pairing_code(code: str) -> str:
    half = PAIRING_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


class PairingStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class PairingCodeInvalid(NotFound):
    """Unknown, used, expired or revoked: one answer for all, so nothing leaks."""

    def __init__(self) -> None:
        super().__init__(
            "This pairing code is unknown, already used or expired. Ask the agent's owner "
            "for a new one."
        )


@attrs.define
class PairingCode:
    id: str
    agent_id: str
    code_hash: str = attrs.field(repr=False)
    status: PairingStatus
    expires_at: datetime
    created_at: datetime
    used_at: datetime | None

    @classmethod
    def issue(
        cls,
        *,
        code_id: str,
        agent_id: str,
        code_hash: str,
        now: datetime,
        ttl: timedelta = PAIRING_CODE_TTL,
    ) -> PairingCode:
        return cls(
            id=code_id,
            agent_id=agent_id,
            code_hash=code_hash,
            status=PairingStatus.ACTIVE,
            expires_at=now + ttl,
            created_at=now,
            used_at=None,
        )

    def status_at(self, now: datetime) -> PairingStatus:
        if self.status is PairingStatus.ACTIVE and now >= self.expires_at:
            return PairingStatus.EXPIRED
        return self.status

    def redeem(self, now: datetime) -> None:
        """Use the code once; any later attempt (or one after expiry) is refused."""
        if self.status_at(now) is not PairingStatus.ACTIVE:
            raise PairingCodeInvalid()
        self.status = PairingStatus.USED
        self.used_at = now

    def revoke(self) -> None:
        if self.status is PairingStatus.ACTIVE:
            self.status = PairingStatus.REVOKED
