"""Canonical JSON and timestamps: the byte-exact forms that hashes are computed over."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

#: Values a canonical JSON document may hold.
JSONValue = None | bool | int | float | str | Sequence["JSONValue"] | Mapping[str, "JSONValue"]


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, UTF-8 text, no NaN: equal documents give equal strings."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with `Z` and microseconds, e.g. `2026-11-22T13:37:00.000000Z`."""
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """Inverse of `format_timestamp`; also accepts any RFC 3339 offset (and its lower-case
    `t` and `z`). Raises `ValueError` for anything else, including instants outside the
    years 1 to 9999 once in UTC."""
    normalized = text.replace("t", "T").replace("z", "Z").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(normalized)
        if moment.tzinfo is None:
            raise ValueError(f"timestamp without a timezone: {text!r}")
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp out of range: {text!r}") from None


def to_microseconds(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exact (no float rounding)."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
