"""Schema migrations, for `nodedc-gateway migrate` and the preflight check.

Alembic owns the schema; its revisions ship inside this package (`migrations/`), one
history for PostgreSQL and SQLite. Everything here is async (the engines are); from
synchronous code call e.g. `asyncio.run(upgrade(url))`.

Alembic is imported only to migrate: telling whether a database is up to date (which
`serve` does at every start) reads the revision table and the revision files directly,
so a gateway whose database is current never loads Alembic (nor Mako, nor Pygments).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, inspect, pool, text
from sqlalchemy.engine import make_url

from nodedc_gateway.adapters.persistence.sql.engine import SQLITE_DRIVER, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
#: `revision: str = "0004"` and `down_revision: str | None = "0003"` in a revision file.
_REVISION_LINE = re.compile(
    r'^(revision|down_revision)(?::[^=\n]*)?=\s*(?:"([^"]*)"|\'([^\']*)\'|None)\s*$', re.M
)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the shipped migrations (no ini file needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code ships: the one no other revision builds on (what
    Alembic's `ScriptDirectory.get_current_head` answers; a test keeps them equal)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = {key: a or b or None for key, a, b in _REVISION_LINE.findall(path.read_text())}
        if found.get("revision"):
            revisions.add(str(found["revision"]))
            if found.get("down_revision"):
                parents.add(str(found["down_revision"]))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the shipped migrations must have one head, found {sorted(heads)}")
    return heads.pop()


async def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (default: the newest), creating it from
    empty if need be. For a SQLite file the directory is created too."""
    _ensure_sqlite_directory(url)

    from alembic import command

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    await _with_connection(url, run, commit=True)


async def current_revision(url: str) -> str | None:
    """The revision the database is at; None when it was never migrated (or, for SQLite,
    when the file does not exist: it is not created by asking)."""
    if _missing_sqlite_file(url):
        return None

    def read(connection: Connection) -> str | None:
        # What Alembic's `MigrationContext.get_current_revision` reads, for one head.
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        if len(rows) > 1:
            raise RuntimeError(f"the database has several heads: {sorted(r[0] for r in rows)}")
        return str(rows[0][0]) if rows else None

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
