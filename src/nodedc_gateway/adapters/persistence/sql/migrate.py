"""Schema migrations, for `nodedc-gateway migrate` and the preflight check.

Alembic owns the schema; its revisions ship inside this package (`migrations/`), one
history for PostgreSQL and SQLite. Everything here is async (the engines are); from
synchronous code call e.g. `asyncio.run(upgrade(url))`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, pool
from sqlalchemy.engine import make_url

from nodedc_gateway.adapters.persistence.sql.engine import SQLITE_DRIVER, create_engine

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the shipped migrations (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations are shipped")
    return head


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (default: the newest), creating it from
    empty if need be. For a SQLite file the directory is created too."""
    _ensure_sqlite_directory(url)

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    await _with_connection(url, run, commit=True)


async def current_revision(url: str) -> str | None:
    """The revision the database is at; None when it was never migrated (or, for SQLite,
    when the file does not exist: it is not created by asking)."""
    if _missing_sqlite_file(url):
        return None

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    revision: str | None = await _with_connection(url, read, commit=False)
    return revision


async def is_up_to_date(url: str) -> bool:
    """Whether the database is at the newest shipped revision."""
    return await current_revision(url) == head_revision()


async def _with_connection(url: str, work: Any, *, commit: bool) -> Any:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            result = await connection.run_sync(work)
            if commit:
                await connection.commit()
            return result
    finally:
        await engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.drivername != SQLITE_DRIVER or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _ensure_sqlite_directory(url: str) -> None:
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _missing_sqlite_file(url: str) -> bool:
    path = _sqlite_path(url)
    return path is not None and not path.exists()
