"""UUIDv7 ids (RFC 9562) and CSPRNG secrets."""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING


class UUIDv7Generator:
    """Time-ordered UUIDv7: 48-bit Unix milliseconds, a 12-bit counter seeded at random
    each millisecond (so ids made in the same millisecond still sort), 62 random bits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def new_id(self) -> str:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = int.from_bytes(os.urandom(2)) & 0x7FF  # leave room to count
            else:
                self._counter += 1
                if self._counter > 0xFFF:  # counter spent: borrow the next millisecond
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return str(uuid.UUID(int=value))


class SystemSecretGenerator:
    def random_string(self, alphabet: str, length: int) -> str:
        return "".join(secrets.choice(alphabet) for _ in range(length))


if TYPE_CHECKING:
    from nodedc_gateway.ports.ids import IdGenerator, SecretGenerator

    _ids: IdGenerator = UUIDv7Generator()
    _secrets: SecretGenerator = SystemSecretGenerator()
