"""Alembic owns the schema: the shipped migrations build it from empty on both databases,
and they describe exactly the tables the code uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, inspect
from sqlalchemy.engine import make_url

from nodedc_gateway.adapters.persistence.sql import create_engine, metadata
from nodedc_gateway.adapters.persistence.sql.migrate import (
    current_revision,
    head_revision,
    is_up_to_date,
    upgrade,
)
from tests.support.databases import create_postgres_database, drop_postgres_database


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a database with nothing in it yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'gateway.db'}"
        return
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


async def _inspect(url: str, look: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


def _sqlite_file_exists(url: str) -> bool:
    database = make_url(url).database
    return url.startswith("sqlite") and database is not None and Path(database).exists()


def _differences(connection: Connection, target: MetaData = metadata) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, target))


async def test_upgrade_builds_the_schema_from_empty(empty_database: str) -> None:
    assert await current_revision(empty_database) is None
    assert not await is_up_to_date(empty_database)
    assert not _sqlite_file_exists(empty_database)  # asking does not create the database
    await upgrade(empty_database)
    assert await current_revision(empty_database) == head_revision()
    assert await is_up_to_date(empty_database)
    tables = await _inspect(empty_database, lambda c: set(inspect(c).get_table_names()))
    assert tables == {*metadata.tables, "alembic_version"}
    await upgrade(empty_database)  # again: nothing to do, nothing breaks
    assert await current_revision(empty_database) == head_revision()


async def test_autogenerate_finds_no_difference_from_the_tables(empty_database: str) -> None:
    await upgrade(empty_database)
    assert await _inspect(empty_database, _differences) == []


async def test_autogenerate_would_notice_a_difference(empty_database: str) -> None:
    """The comparison above can fail: a table the migrations lack is reported."""
    await upgrade(empty_database)
    changed = MetaData()
    for table in metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["agents"].append_column(Column("nickname", String(20), nullable=True))

    differences = await _inspect(empty_database, lambda c: _differences(c, changed))
    assert [(d[0], d[2], d[3].name) for d in differences] == [("add_column", "agents", "nickname")]


def test_the_migrations_ship_inside_the_package() -> None:
    migrations = resources.files("nodedc_gateway.adapters.persistence.sql") / "migrations"
    shipped = {entry.name for entry in migrations.iterdir()}
    assert {"env.py", "script.py.mako", "alembic.ini", "versions"} <= shipped
    versions = {entry.name for entry in (migrations / "versions").iterdir()}
    assert any(name.endswith(".py") and name[0].isdigit() for name in versions)


def test_the_head_read_from_the_files_is_alembics() -> None:
    """`head_revision` parses the revision files (no Alembic at every start); Alembic agrees."""
    from alembic.script import ScriptDirectory

    from nodedc_gateway.adapters.persistence.sql.migrate import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_the_revision_read_without_alembic_is_alembics(empty_database: str) -> None:
    await upgrade(empty_database, "0002")
    assert await current_revision(empty_database) == "0002"
    assert not await is_up_to_date(empty_database)

    def alembics(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    assert await _inspect(empty_database, alembics) == "0002"
    await upgrade(empty_database)
    assert await _inspect(empty_database, alembics) == await current_revision(empty_database)
