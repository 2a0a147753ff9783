"""Where the test databases are, and the rule for PostgreSQL: skip locally when it is not
reachable, but under CI a missing PostgreSQL is a failure, never a skip."""

from __future__ import annotations

import os

import pytest

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
