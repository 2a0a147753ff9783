"""Where the test databases are, and the rule for PostgreSQL: skip locally when it is not
reachable, but under CI a missing PostgreSQL is a failure, never a skip."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("NODEDC_TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)


def require_postgres() -> str:
    """The admin URL of a reachable PostgreSQL, or skip (fail under CI)."""
    import psycopg

    url = postgres_url()
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        message = f"PostgreSQL is not reachable at {url}: {error}"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI is set: a missing PostgreSQL fails the run)")
        pytest.skip(message)
    return url


# --- databases built with the real migrations -------------------------------------------

_created_postgres: list[str] = []  # admin URLs of databases this run created
_shared_postgres: str | None = None
_sqlite_template_dir: Path | None = None


def _database_url(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def engine_dsn(engine: AsyncEngine | Engine) -> str:
    """The libpq connection string of a PostgreSQL engine's database (for psycopg, from
    outside the engine: to hold a lock or end a backend)."""
    return _dsn(engine.url.render_as_string(hide_password=False))


def create_postgres_database() -> str:
    """A new, empty database with a unique name on the test server; dropped when the
    run ends (or earlier with `drop_postgres_database`)."""
    import psycopg
    from psycopg import sql

    admin = require_postgres()
    name = f"nodedc_test_{secrets.token_hex(6)}"
    with psycopg.connect(_dsn(admin), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        # Tests need atomicity and visibility, not durability: skip waiting for the WAL
        # flush at every commit (the server's disk is shared with other test runs).
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name))
        )
    url = _database_url(admin, name)
    _created_postgres.append(url)
    return url


def drop_postgres_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = make_url(url).database
    assert name is not None
    assert name.startswith("nodedc_test_")  # never drop anything this run did not make
    with psycopg.connect(_dsn(postgres_url()), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    if url in _created_postgres:
        _created_postgres.remove(url)


async def migrated_postgres_url() -> str:
    """This run's PostgreSQL database, migrated to head by Alembic and emptied of rows:
    one database per run, clean for every test that asks."""
    global _shared_postgres  # noqa: PLW0603 - one database per test run, made on first use
    from nodedc_gateway.adapters.persistence.sql.migrate import upgrade

    require_postgres()
    if _shared_postgres is None:
        url = create_postgres_database()
        await upgrade(url)
        _shared_postgres = url
    else:
        _empty_postgres(_shared_postgres)
    return _shared_postgres


@asynccontextmanager
async def single_connection_postgres() -> AsyncIterator[AsyncEngine]:
    """An engine on this run's migrated PostgreSQL database with a pool of exactly one
    connection, so a test sees the very connection each statement used."""
    from nodedc_gateway.adapters.persistence.sql import create_engine

    engine = create_engine(await migrated_postgres_url(), pool_size=1, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


def _empty_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    from nodedc_gateway.adapters.persistence.sql.tables import metadata

    deletes = sql.SQL("; ").join(
        sql.SQL("DELETE FROM {}").format(sql.Identifier(table.name))
        for table in reversed(metadata.sorted_tables)
    )
    with psycopg.connect(_dsn(url), autocommit=True) as conn:
        conn.execute(deletes)


async def migrated_sqlite_url(directory: Path) -> str:
    """A fresh SQLite database file in `directory`, with the schema the migrations build
    (made once per run, then copied)."""
    global _sqlite_template_dir  # noqa: PLW0603 - one template per test run, made on first use
    from nodedc_gateway.adapters.persistence.sql.migrate import upgrade

    if _sqlite_template_dir is None:
        template_dir = Path(tempfile.mkdtemp(prefix="nodedc_test_"))
        await upgrade(f"sqlite+aiosqlite:///{template_dir / 'template.db'}")
        _sqlite_template_dir = template_dir
    target = directory / "gateway.db"
    shutil.copyfile(_sqlite_template_dir / "template.db", target)
    return f"sqlite+aiosqlite:///{target}"


def cleanup_test_databases() -> None:
    """Drop what this run created (called when the session ends)."""
    global _shared_postgres, _sqlite_template_dir  # noqa: PLW0603
    for url in list(_created_postgres):
        drop_postgres_database(url)
    _shared_postgres = None
    if _sqlite_template_dir is not None:
        shutil.rmtree(_sqlite_template_dir, ignore_errors=True)
        _sqlite_template_dir = None
