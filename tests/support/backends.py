"""The database backends end-to-end tests run on: each yields gateway settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from nodedc_gateway.entrypoints.settings import Settings
from tests.support.served import gateway_settings

BACKENDS = ["memory"]


@contextlib.asynccontextmanager
async def backend_settings(name: str) -> AsyncIterator[Settings]:
    if name == "memory":
        yield gateway_settings("memory://")
        return
    raise ValueError(f"unknown backend {name}")
