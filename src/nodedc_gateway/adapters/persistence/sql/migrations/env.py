"""Alembic's environment for the gateway database.

Used two ways: programmatically by `migrate.upgrade()` and friends, which hand over an
open connection in `config.attributes["connection"]`; or from the `alembic` command line
(`alembic -c …/migrations/alembic.ini -x url=sqlite+aiosqlite:///./var/gateway.db
upgrade head`), where this file opens an async engine itself. It never configures
logging: that belongs to the application.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool

from nodedc_gateway.adapters.persistence.sql.engine import create_engine
from nodedc_gateway.adapters.persistence.sql.tables import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite alters tables by copying them; batch mode makes later revisions portable.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("give the database URL: alembic -x url=<database URL> …")
    return url


async def run_on_engine(url: str) -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        context.configure(
            url=database_url(), target_metadata=metadata, literal_binds=True, compare_type=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
    else:
        asyncio.run(run_on_engine(database_url()))


main()
