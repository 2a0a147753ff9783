"""A wrapper that keeps a secret out of every repr, str, log line and traceback."""

from __future__ import annotations

import hmac
from typing import NoReturn

_MASK = "**********"


class SecretStr:
    """Holds a token, pairing code or key; only `reveal()` gives the text back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def matches(self, candidate: str) -> bool:
        """Constant-time comparison with a plain string."""
        return hmac.compare_digest(self._value.encode(), candidate.encode())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecretStr):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(type(self))  # equal secrets must hash equal; the value is never exposed

    def __len__(self) -> int:
        return len(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return f"SecretStr('{_MASK}')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a SecretStr cannot be pickled")
