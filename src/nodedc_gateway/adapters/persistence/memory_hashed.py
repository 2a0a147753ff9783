"""Records found by the hash of their secret (agent tokens, pairing codes, OAuth codes and
refresh tokens), in memory: the records by id, and beside them an index from hash to id."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from nodedc_gateway.adapters.persistence.memory import _Journal


class _Record(Protocol):
    @property
    def id(self) -> str: ...


R = TypeVar("R", bound=_Record)


def add_hashed(
    journal: _Journal,
    records: dict[str, R],
    ids_by_hash: dict[str, str],
    record: R,
    secret_hash: str,
    what: str,
) -> None:
    """Store a copy of `record` under its id and its secret's hash (which must be new)."""
    if secret_hash in ids_by_hash:
        raise ValueError(f"{what} hash exists")
    journal.put(records, record.id, copy.copy(record))
    journal.put(ids_by_hash, secret_hash, record.id)


def find_hashed(
    records: dict[str, R], ids_by_hash: dict[str, str], hashes: Sequence[str]
) -> R | None:
    """A copy of the record one of `hashes` names; the first candidate (current pepper)
    wins."""
    found = next((ids_by_hash[h] for h in hashes if h in ids_by_hash), None)
    return None if found is None else copy.copy(records[found])
