"""HMAC-SHA256 with a server-side pepper: what is stored for tokens and pairing codes.

A leaked table of hashes is useless without the pepper. Previous peppers stay accepted
during a rotation, so tokens issued before it keep working until they are re-issued.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import TYPE_CHECKING

from nodedc_gateway.domain.secret import SecretStr


class HmacSecretHasher:
    def __init__(self, pepper: SecretStr, previous: Sequence[SecretStr] = ()) -> None:
        if len(pepper) < 32:
            raise ValueError("the token pepper must have at least 32 characters")
        self._keys = tuple(p.reveal().encode() for p in (pepper, *previous))

    def __repr__(self) -> str:
        return f"HmacSecretHasher(peppers={len(self._keys)})"

    def hash(self, secret: str) -> str:
        return self._digest(self._keys[0], secret)

    def candidates(self, secret: str) -> tuple[str, ...]:
        return tuple(self._digest(key, secret) for key in self._keys)

    def verify(self, secret: str, stored_hash: str) -> bool:
        matched = False
        for candidate in self.candidates(secret):  # no early exit: same time whatever matches
            matched |= hmac.compare_digest(candidate, stored_hash)
        return matched

    @staticmethod
    def _digest(key: bytes, secret: str) -> str:
        return hmac.new(key, secret.encode(), hashlib.sha256).hexdigest()


if TYPE_CHECKING:
    from nodedc_gateway.ports.hashing import SecretHasher

    _conforms: SecretHasher = HmacSecretHasher(SecretStr(""))
