"""Scratch PostgreSQL databases for the benchmark: made, migrated, and always dropped."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from nodedc_gateway.adapters.persistence.sql.migrate import upgrade

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PREFIX = "nodedc_bench_"


def admin_url() -> str:
    """The server to use (any database on it): the tests' variable, or the default."""
    return os.environ.get("NODEDC_BENCH_DATABASE_URL") or os.environ.get(
        "NODEDC_TEST_DATABASE_URL", DEFAULT_URL
    )


def dsn(url: str) -> str:
    """A SQLAlchemy URL as libpq understands it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def server_version() -> str:
    with psycopg.connect(dsn(admin_url()), connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    assert row is not None
    return f"PostgreSQL {row[0]}"


def create_database(label: str) -> str:
    name = f"{PREFIX}{label}_{secrets.token_hex(4)}"
    with psycopg.connect(dsn(admin_url()), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = make_url(url).database
    assert name is not None
    assert name.startswith(PREFIX)  # never drop anything the benchmark did not make
    with psycopg.connect(dsn(admin_url()), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.asynccontextmanager
async def scratch_database(label: str, *, migrated: bool = True) -> AsyncIterator[str]:
    """A new database, migrated to head unless not `migrated`, dropped when the block ends
    (whatever happens)."""
    url = create_database(label)
    try:
        if migrated:
            await upgrade(url)
        yield url
    finally:
        drop_database(url)
