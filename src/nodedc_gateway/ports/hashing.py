"""Keyed hashing of secrets (tokens, pairing codes) for storage and lookup."""

from __future__ import annotations

from typing import Protocol


class SecretHasher(Protocol):
    def hash(self, secret: str) -> str:
        """HMAC-SHA256 of the secret under the current pepper, hex-encoded."""
        ...

    def candidates(self, secret: str) -> tuple[str, ...]:
        """The hashes under the current and every still-accepted previous pepper (rotation)."""
        ...

    def verify(self, secret: str, stored_hash: str) -> bool:
        """Constant-time check of a secret against a stored hash, under any accepted pepper."""
        ...
