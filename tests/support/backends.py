"""The database backends end-to-end tests run on: each yields gateway settings for a
clean, migrated database (memory, a SQLite file, this run's PostgreSQL database)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from nodedc_gateway.entrypoints.settings import Settings
from tests.support.databases import migrated_postgres_url, migrated_sqlite_url
from tests.support.served import gateway_settings

BACKENDS = ["memory", "sqlite", "postgres"]


@contextlib.asynccontextmanager
async def backend_settings(name: str) -> AsyncIterator[Settings]:
    if name == "memory":
        yield gateway_settings("memory://")
    elif name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="nodedc_test_") as directory:
            yield gateway_settings(await migrated_sqlite_url(Path(directory)))
    elif name == "postgres":
        yield gateway_settings(await migrated_postgres_url())
    else:
        raise ValueError(f"unknown backend {name}")
