"""The composition root: small containers per area, composed in one `Gateway` container.

Nothing is built at import time. `build_container(settings)` wires adapters by
configuration; tests swap any of them with `container.<area>.<provider>.override(...)`.
A database URL of `memory://` keeps everything in process (tests, embedding).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from nodedc_gateway.adapters.clock import SystemClock
from nodedc_gateway.adapters.hashing import HmacSecretHasher
from nodedc_gateway.adapters.ids import SystemSecretGenerator, UUIDv7Generator
from nodedc_gateway.adapters.launcher.static import StaticLauncher
from nodedc_gateway.adapters.markup import MarkdownRenderer
from nodedc_gateway.application.console import ConsoleAccess
from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.application.ownership import ManagementDeps
from nodedc_gateway.application.pipeline import Pipeline, RateLimits
from nodedc_gateway.application.targeting import ToolDeps
from nodedc_gateway.application.workspaces import WorkspaceViews
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints.libraries import containers, providers
from nodedc_gateway.entrypoints.logs import Redactor
from nodedc_gateway.entrypoints.presenter import ContractPresenter
from nodedc_gateway.entrypoints.settings import Settings

if TYPE_CHECKING:
    import httpx

    from nodedc_gateway.adapters.console.memory import MemoryConsoleSessionStore
    from nodedc_gateway.adapters.launcher.http import HttpLauncher
    from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory
    from nodedc_gateway.adapters.ratelimit.memory import MemoryRateLimitStore
    from nodedc_gateway.adapters.tasker.http import HttpTasker
    from nodedc_gateway.adapters.tasker.memory import MemoryTasker
    from nodedc_gateway.adapters.tasker.plane import PlaneTasker

MEMORY_URL = "memory://"

# The adapters a deployment may not use (the in-memory stores, which SQL replaces; the
# Tasker and Launcher backends it is not configured for) are imported by the providers
# that make them, so a process loads only the ones it runs. (Settings are checked for the
# chosen backend's URL and credentials before any of them is made.)


def _memory_uow() -> MemoryUnitOfWorkFactory:
    from nodedc_gateway.adapters.persistence.memory import MemoryUnitOfWorkFactory

    return MemoryUnitOfWorkFactory()


def _memory_rate_limits() -> MemoryRateLimitStore:
    from nodedc_gateway.adapters.ratelimit.memory import MemoryRateLimitStore

    return MemoryRateLimitStore()


def _memory_console_sessions() -> MemoryConsoleSessionStore:
    from nodedc_gateway.adapters.console.memory import MemoryConsoleSessionStore

    return MemoryConsoleSessionStore()


def _memory_tasker(ids: Any, clock: Any) -> MemoryTasker:
    from nodedc_gateway.adapters.tasker.memory import MemoryTasker

    return MemoryTasker(ids, clock)


def _http_tasker(settings: Any, client: httpx.AsyncClient) -> HttpTasker:
    from nodedc_gateway.adapters.tasker.http import HttpTasker

    return HttpTasker(base_url=settings.tasker_url, token=settings.tasker_token, client=client)


def _plane_tasker(settings: Any, client: httpx.AsyncClient) -> PlaneTasker:
    from nodedc_gateway.adapters.tasker.plane import PlaneTasker

    return PlaneTasker(
        base_url=settings.plane_url,
        api_key=settings.plane_api_key,
        workspaces=plane_workspaces(settings.plane_workspaces),
        client=client,
    )


def _http_launcher(settings: Any, client: httpx.AsyncClient) -> HttpLauncher:
    from nodedc_gateway.adapters.launcher.http import HttpLauncher

    return HttpLauncher(
        base_url=settings.launcher_url,
        token=settings.launcher_token or SecretStr(""),
        client=client,
    )


def _hasher(settings: Settings) -> HmacSecretHasher:
    if settings.token_pepper is None:
        raise RuntimeError("TOKEN_PEPPER is not configured")
    return HmacSecretHasher(settings.token_pepper, settings.token_pepper_previous)


def _limits(settings: Settings) -> RateLimits:
    return RateLimits(**settings.rate_policies())


def _redactor(settings: Settings) -> Redactor:
    return Redactor(
        [
            settings.internal_token,
            *settings.internal_token_previous,
            settings.token_pepper,
            *settings.token_pepper_previous,
            settings.tasker_token,
            settings.plane_api_key,
            settings.launcher_token,
        ]
    )


def plane_workspaces(entries: tuple[str, ...]) -> dict[str, bool]:
    """`demo,ops:off` -> {"demo": True, "ops": False}: which workspaces exist in Plane and
    whether their policy lets agents in (Plane cannot list workspaces)."""
    workspaces = {}
    for entry in entries:
        slug, _, flag = entry.partition(":")
        workspaces[slug.strip()] = flag.strip().lower() not in ("off", "no", "false", "0")
    return workspaces


async def _http_client() -> AsyncIterator[httpx.AsyncClient]:
    import httpx  # only for the HTTP Tasker, Plane and Launcher: its import costs ~10 MB

    client = httpx.AsyncClient(follow_redirects=False)
    try:
        yield client
    finally:
        await client.aclose()


class Core(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UUIDv7Generator)
    secrets = providers.Singleton(SystemSecretGenerator)
    hasher = providers.Singleton(_hasher, settings)
    presenter = providers.Singleton(ContractPresenter)
    markup = providers.Singleton(MarkdownRenderer)
    redactor = providers.Singleton(_redactor, settings)
    limits = providers.Singleton(_limits, settings)
    http_client = providers.Resource(_http_client)


class Persistence(containers.DeclarativeContainer):
    """The gateway's own state: `memory://` in process; SQL otherwise (see `with_sql`)."""

    settings = providers.Dependency(instance_of=Settings)
    uow = providers.Singleton(_memory_uow)
    callers: providers.Object[Any] = providers.Object(None)  # None: read through `uow`
    admission: providers.Object[Any] = providers.Object(None)  # None: `callers`, then the rest
    recorder: providers.Object[Any] = providers.Object(None)  # None: always a unit of work
    rate_limits = providers.Singleton(_memory_rate_limits)
    console_sessions = providers.Singleton(_memory_console_sessions)
    ready: providers.Object[Any] = providers.Object(None)  # an async readiness check, or None


class Tasker(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    sandbox = providers.Singleton(_memory_tasker, core.ids, core.clock)
    backend = providers.Selector(
        providers.Callable(lambda s: str(s.tasker_backend), settings),
        sandbox=sandbox,
        tasker=providers.Singleton(_http_tasker, settings, core.http_client),
        plane=providers.Singleton(_plane_tasker, settings, core.http_client),
    )


class Launcher(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    backend = providers.Selector(
        providers.Callable(lambda s: str(s.launcher_backend), settings),
        static=providers.Singleton(lambda s: StaticLauncher(s.launcher_entitled_users), settings),
        http=providers.Singleton(_http_launcher, settings, core.http_client),
    )
    entitlements = providers.Singleton(EntitlementService, backend)


class Application(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.DependenciesContainer()
    persistence = providers.DependenciesContainer()
    tasker = providers.DependenciesContainer()
    launcher = providers.DependenciesContainer()
    pipeline = providers.Singleton(
        Pipeline,
        uow=persistence.uow,
        callers=persistence.callers,
        admission=persistence.admission,
        recorder=persistence.recorder,
        clock=core.clock,
        ids=core.ids,
        hasher=core.hasher,
        rate_limits=persistence.rate_limits,
        limits=core.limits,
        entitlements=launcher.entitlements,
        presenter=core.presenter,
    )
    tools = providers.Singleton(
        ToolDeps,
        tasker=tasker.backend,
        markup=core.markup,
        uow=persistence.uow,
        ids=core.ids,
        limits=core.limits,
    )
    management = providers.Singleton(
        ManagementDeps,
        tasker=tasker.backend,
        entitlements=launcher.entitlements,
        ids=core.ids,
        secrets=core.secrets,
        hasher=core.hasher,
        clock=core.clock,
        mcp_url=providers.Callable(lambda s: s.mcp_url, settings),
        uow=persistence.uow,
    )
    workspaces = providers.Singleton(
        WorkspaceViews,
        uow=persistence.uow,
        tasker=tasker.backend,
        entitlements=launcher.entitlements,
        clock=core.clock,
    )
    console = providers.Singleton(
        ConsoleAccess,
        store=persistence.console_sessions,
        rate_limits=persistence.rate_limits,
        hasher=core.hasher,
        secrets=core.secrets,
        ids=core.ids,
        clock=core.clock,
    )


class Gateway(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    core = providers.Container(Core, settings=settings)
    persistence = providers.Container(Persistence, settings=settings)
    tasker = providers.Container(Tasker, settings=settings, core=core)
    launcher = providers.Container(Launcher, settings=settings, core=core)
    application = providers.Container(
        Application,
        settings=settings,
        core=core,
        persistence=persistence,
        tasker=tasker,
        launcher=launcher,
    )


@attrs.frozen
class Services:
    """What the transports need, resolved once from the container."""

    settings: Settings
    pipeline: Pipeline
    tools: ToolDeps
    management: ManagementDeps
    workspaces: WorkspaceViews
    console: ConsoleAccess
    redactor: Redactor
    readiness: dict[str, Callable[[], Awaitable[None]]]

    @property
    def internal_token(self) -> SecretStr:
        if self.settings.internal_token is None:
            raise RuntimeError("INTERNAL_TOKEN is not configured")
        return self.settings.internal_token

    @property
    def accepted_internal_tokens(self) -> tuple[SecretStr, ...]:
        """The internal token, then those still accepted during a rotation."""
        return (self.internal_token, *self.settings.internal_token_previous)


def build_container(settings: Settings) -> Gateway:
    container = Gateway(settings=settings)
    if settings.database_url != MEMORY_URL:
        from nodedc_gateway.entrypoints.sql_wiring import with_sql

        with_sql(container, settings)
    return container


async def services(container: Gateway) -> Services:
    """Resolve what the transports use, starting the resources they need (the engine; the
    outbound HTTP client only for the HTTP Tasker, Plane or Launcher: a gateway without
    them never imports httpx)."""
    settings: Settings = container.settings()
    checks: dict[str, Callable[[], Awaitable[None]]] = {
        "tasker": (await resolve(container.tasker.backend)).check,
        "launcher": (await resolve(container.launcher.backend)).check,
    }
    database = await resolve(container.persistence.ready)
    if database is not None:
        checks["database"] = database
    return Services(
        settings=settings,
        pipeline=await resolve(container.application.pipeline),
        tools=await resolve(container.application.tools),
        management=await resolve(container.application.management),
        workspaces=await resolve(container.application.workspaces),
        console=await resolve(container.application.console),
        redactor=container.core.redactor(),
        readiness=checks,
    )


async def resolve(provider: Any) -> Any:
    """A provider's value; awaited when an async resource (the engine) is upstream."""
    value = provider()
    if inspect.isawaitable(value):
        value = await value
    return value


async def shutdown(container: Gateway) -> None:
    await _maybe_await(container.shutdown_resources())


async def _maybe_await(value: Any) -> None:
    if value is not None and hasattr(value, "__await__"):
        await value
