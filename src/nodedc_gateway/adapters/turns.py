"""Turns in this process: work on one key done one at a time, in the order it asked.

An `asyncio.Lock` serves its waiters first come, first served; a row lock in PostgreSQL
does not promise that, and with a dozen waiters the unlucky ones wait several times the
median. Where calls of this process queue on one row, taking a turn here first keeps at
most one of them waiting on the row at a time (see the sandbox Tasker's creates, and the
closing record's chain head).

The locks are striped by the key's CRC-32, so their number stays fixed whatever the keys:
two keys may share a stripe and then take turns with each other too. They belong to the
event loop that first waits on them, so a `Turns` is made by whatever lives in one loop
(an adapter of one container), never shared between loops.
"""

from __future__ import annotations

import asyncio
import zlib


class Turns:
    def __init__(self, stripes: int = 64) -> None:
        if stripes < 1:
            raise ValueError("stripes must be at least 1")
        self._locks = [asyncio.Lock() for _ in range(stripes)]

    def of(self, key: str) -> asyncio.Lock:
        """The lock whose turn `key` takes."""
        return self._locks[zlib.crc32(key.encode()) % len(self._locks)]
