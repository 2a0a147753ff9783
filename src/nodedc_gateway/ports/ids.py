"""Ids and secrets come from ports, so tests can make them deterministic."""

from __future__ import annotations

from typing import Protocol


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new UUIDv7 string: unique and ordered by creation time."""
        ...


class SecretGenerator(Protocol):
    def random_string(self, alphabet: str, length: int) -> str:
        """`length` characters drawn uniformly from `alphabet` by a CSPRNG."""
        ...
