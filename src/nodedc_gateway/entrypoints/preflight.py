"""`nodedc-gateway preflight` (CONTRACT §9): would this configuration serve, here and now?

It checks, and reports every problem it finds rather than the first: the configuration
itself (`Settings.problems()`: values, secrets present and strong, what production
refuses), the database (reachable and at this code's migration head), and the configured
Tasker and Launcher (reachable and accepting the gateway's credentials, through the very
adapters `serve` would use). No secret value ever appears in a problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs

from nodedc_gateway.entrypoints.settings import (
    PREFIX,
    LauncherBackend,
    Settings,
    TaskerBackend,
)

CHECK_TIMEOUT_S = 10.0


@attrs.frozen
class PreflightReport:
    problems: tuple[str, ...]
    #: What was checked and found fine, for the operator reading the output.
    passed: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


async def preflight(settings: Settings, *, timeout_s: float = CHECK_TIMEOUT_S) -> PreflightReport:
    problems = list(settings.problems())
    passed: list[str] = []
    if not problems:
        passed.append(f"configuration is complete for {settings.env}")
    database_problem, database_note = await _database(settings, timeout_s)
    if database_problem:
        problems.append(database_problem)
    elif database_note:
        passed.append(database_note)
    for name, problem in await _upstreams(settings, timeout_s):
        if problem:
            problems.append(problem)
        else:
            passed.append(f"{name} answers")
    return PreflightReport(tuple(problems), tuple(passed))


async def _database(settings: Settings, timeout_s: float) -> tuple[str | None, str | None]:
    """(problem, note): reachable and migrated to this code's head."""
    url = settings.database_url
    if url == "memory://":
        return None, "database: in process (memory://), nothing to migrate"
    usable = ("postgresql+psycopg://", "sqlite+aiosqlite://") if settings.is_local else ()
    if not url.startswith(("postgresql+psycopg://", *usable)):
        return None, None  # a database this environment cannot use: Settings.problems()
    from nodedc_gateway.adapters.persistence.sql.migrate import current_revision, head_revision

    where = safe_url(url)
    try:
        async with asyncio.timeout(timeout_s):
            revision = await current_revision(url)
    except TimeoutError:
        return f"{PREFIX}DATABASE_URL: {where} did not answer within {timeout_s:g} s", None
    except Exception as error:
        return f"{PREFIX}DATABASE_URL: cannot reach {where}: {_describe(error)}", None
    head = head_revision()
    if revision == head:
        return None, f"database {where} is reachable and migrated ({head})"
    if settings.is_local:
        # `serve` and `demo` migrate the embedded database themselves in local mode.
        return None, f"database {where} will be migrated to {head} by serve (local mode)"
    if revision is None:
        return (
            f"{PREFIX}DATABASE_URL: {where} is not migrated; run `nodedc-gateway migrate`",
            None,
        )
    return (
        f"{PREFIX}DATABASE_URL: {where} is at revision {revision}, this gateway needs {head}; "
        "run `nodedc-gateway migrate` (or deploy the gateway version that matches it)",
        None,
    )


async def _upstreams(settings: Settings, timeout_s: float) -> list[tuple[str, str | None]]:
    """Each configured remote Tasker or Launcher, asked through its real adapter."""
    wanted: list[tuple[str, str, str, str | None]] = []  # (name, container, variable, url)
    if settings.tasker_backend is TaskerBackend.TASKER and settings.tasker_url:
        wanted.append(("Tasker", "tasker", "TASKER_URL", settings.tasker_url))
    if settings.tasker_backend is TaskerBackend.PLANE and settings.plane_url:
        wanted.append(("Plane", "tasker", "PLANE_URL", settings.plane_url))
    if settings.launcher_backend is LauncherBackend.HTTP and settings.launcher_url:
        wanted.append(("Launcher", "launcher", "LAUNCHER_URL", settings.launcher_url))
    if not wanted or settings.token_pepper is None:
        return []
    from nodedc_gateway.entrypoints.bootstrap import MEMORY_URL, build_container, resolve

    # The adapters only: the database was checked above and must not be opened twice.
    container = build_container(attrs.evolve(settings, database_url=MEMORY_URL))
    results: list[tuple[str, str | None]] = []
    try:
        for name, area, variable, url in wanted:
            backend = await resolve(getattr(container, area).backend)
            problem = await _ask(backend.check, timeout_s)
            results.append(
                (f"{name} at {url}", f"{PREFIX}{variable}: {name} at {url} {problem}")
                if problem
                else (f"{name} at {url}", None)
            )
    finally:
        shutdown = container.shutdown_resources()
        if shutdown is not None:
            await shutdown
    return results


async def _ask(check: Callable[[], Awaitable[None]], timeout_s: float) -> str | None:
    try:
        async with asyncio.timeout(timeout_s):
            await check()
    except TimeoutError:
        return f"did not answer within {timeout_s:g} s"
    except Exception as error:
        return f"is not usable: {_describe(error)}"
    return None


def _describe(error: BaseException) -> str:
    """One line about an error, without a multi-line driver dump."""
    error = getattr(error, "orig", None) or error  # the driver's own words, not SQLAlchemy's
    message = " ".join(str(error).split())
    if len(message) > 300:
        message = message[:297] + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def safe_url(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{host}" if ":" in credentials else url
    return url
