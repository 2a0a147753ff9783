"""The `nodedc-gateway` command line (CONTRACT §10)."""

from __future__ import annotations

import contextlib
import gc
import json
import shutil
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    import uvicorn

    from nodedc_gateway.entrypoints.settings import Settings

# Settings (and with them SQLAlchemy), even asyncio, are imported by the commands that use
# them, not here: `stdio` must answer its client's `initialize` before Codex stops waiting
# (connector.py).

KEEP_ALIVE_S = 75
T = TypeVar("T")
#: While the gateway starts: young collections 10,000 allocations apart, and no full one.
STARTING_THRESHOLDS = (10_000, 10, 1_000_000)
#: While it serves: young collections 10,000 allocations apart (Python's default, 700,
#: is crossed several times by every call with a few calls in flight), the older
#: generations as by default.
SERVING_THRESHOLDS = (10_000, 10, 10)


@contextlib.contextmanager
def _sparing_the_collector() -> Iterator[Callable[[], None]]:
    """Start-up makes several hundred thousand objects that live as long as the process
    (modules, classes, the MCP SDK's pydantic validators) and little garbage: left as it
    is, the cyclic collector walks all of them in full collection after full collection
    as they pile up, about a sixth of the time to ready. Inside this block young
    collections are rarer and full ones do not run (short-lived cycles are still
    collected young), until the `settle` it yields is called once the app is built: what
    start-up made is then moved out of the collector's sight for good (`gc.freeze`, so
    full collections while serving do not walk it either) and the serving thresholds
    are set. A call makes thousands of objects, nearly all freed as it ends; with
    Python's default threshold, under 16 clients on one agent the collector ran 127 young
    collections per 1,000 calls, 78 µs of each call's CPU; with `SERVING_THRESHOLDS`, 2
    and 8 µs (2026-12-07, the bench's throughput load, from `gc.callbacks`). The
    thresholds found are restored on leaving the block in any case."""
    thresholds = gc.get_threshold()

    def settle() -> None:
        gc.freeze()
        gc.set_threshold(*SERVING_THRESHOLDS)

    gc.set_threshold(*STARTING_THRESHOLDS)
    try:
        yield settle
    finally:
        gc.set_threshold(*thresholds)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    import asyncio

    return asyncio.run(coroutine)


def _settings(**overrides: Any) -> Settings:
    from nodedc_gateway.entrypoints.settings import SettingsError, load_settings, with_local_secrets

    try:
        return with_local_secrets(load_settings(**overrides))
    except SettingsError as error:
        raise click.ClickException(str(error)) from None


def _configure_logs(settings: Settings) -> None:
    from nodedc_gateway.entrypoints.logs import configure_logging

    configure_logging(
        _redactor(settings), level=settings.log_level, json=settings.log_format == "json"
    )


@click.group()
@click.version_option(package_name="nodedc-gateway")
def main() -> None:
    """NODE.DC Agent Gateway: AI coding agents in Tasker, within what a human granted."""


@main.command()
@click.option("--host", default=None, help="Interface to listen on (default from settings).")
@click.option("--port", default=None, type=int, help="Port to listen on (default from settings).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the gateway (internal API, pairing, MCP) with uvicorn."""
    with _sparing_the_collector() as settle:
        settings = _settings(host=host, port=port)
        _refuse_problems(settings)
        _configure_logs(settings)
        _run(_serve(settings, prepare_local=settings.is_local, built=settle))


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    settings = _settings()
    from nodedc_gateway.adapters.persistence.sql.migrate import upgrade

    _run(upgrade(settings.database_url))
    click.echo(f"Database is up to date: {_safe_url(settings.database_url)}")


@main.command()
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds to wait for each of the database, Tasker and Launcher.",
)
def preflight(timeout: float) -> None:
    """Check everything `serve` needs: the whole configuration, secrets, the database
    (reachable and migrated), Tasker and Launcher (reachable, credentials accepted).

    Prints one line per problem on stderr and exits 1 if there is any; otherwise prints
    what was checked and exits 0."""
    from nodedc_gateway.entrypoints.preflight import preflight as run_preflight
    from nodedc_gateway.entrypoints.settings import SettingsError, load_settings, with_local_secrets

    try:
        settings = with_local_secrets(load_settings())
    except SettingsError as error:
        _fail_preflight(error.problems)
    report = _run(run_preflight(settings, timeout_s=timeout))
    if not report.ok:
        _fail_preflight(list(report.problems), _redactor(settings).text)
    for line in report.passed:
        click.echo(f"ok: {line}")
    click.echo(f"preflight passed ({settings.env})")


def _fail_preflight(problems: list[str], redact: Any = str) -> NoReturn:
    for problem in problems:
        click.echo(redact(problem), err=True)
    count = len(problems)
    click.echo(f"preflight failed: {count} problem{'s' if count != 1 else ''}", err=True)
    sys.exit(1)


def _redactor(settings: Settings) -> Any:
    from nodedc_gateway.entrypoints.bootstrap import build_container

    return build_container(settings).core.redactor()


@main.command()
def purge() -> None:
    """Delete expired idempotency records, used or expired pairing codes, console
    entries, OAuth codes and refresh families, and idle rate-limit state now (a served
    gateway also does it every PURGE_INTERVAL_S)."""
    settings = _settings()
    counts = _run(_purge(settings))
    click.echo(f"purged {counts}")


async def _purge(settings: Settings) -> Any:
    from nodedc_gateway.entrypoints.bootstrap import build_container, shutdown
    from nodedc_gateway.entrypoints.maintenance import purge_once

    await _require_migrated(settings)
    container = build_container(settings)
    try:
        return await purge_once(container)
    finally:
        await shutdown(container)


async def _require_migrated(settings: Settings) -> None:
    from nodedc_gateway.adapters.persistence.sql.migrate import is_up_to_date

    if settings.database_url != "memory://" and not await is_up_to_date(settings.database_url):
        raise click.ClickException(
            "The database is not migrated: run `nodedc-gateway migrate` first."
        )


@main.group()
def audit() -> None:
    """The audit log."""


@audit.command("verify")
@click.option(
    "--batch-size",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Events read per query (each batch is its own short transaction).",
)
def audit_verify(batch_size: int) -> None:
    """Recompute every agent's audit hash chain against its stored head.

    Prints one line per broken chain on stderr and exits 1 if any is broken."""
    settings = _settings()
    if settings.database_url == "memory://":
        raise click.ClickException("audit verify reads a database; memory:// keeps none")
    checked, events, broken = _run(_verify_audit(settings, batch_size))
    for check in broken:
        where = f" at event {check.at_seq}" if check.at_seq is not None else ""
        click.echo(
            f"chain {check.chain_id}: {check.problem}{where} "
            f"({check.events} events verified before it)",
            err=True,
        )
    if broken:
        click.echo(
            f"audit verify failed: {len(broken)} of {checked} chains broken "
            f"({events} events verified)",
            err=True,
        )
        sys.exit(1)
    click.echo(f"audit verify passed: {checked} chains, {events} events, every chain intact")


async def _verify_audit(settings: Settings, batch_size: int) -> tuple[int, int, list[Any]]:
    from nodedc_gateway.application.audit_verification import verify_audit_chains
    from nodedc_gateway.entrypoints.bootstrap import build_container, resolve, shutdown

    await _require_migrated(settings)
    container = build_container(settings)
    checked, events, broken = 0, 0, []
    try:
        uow = await resolve(container.persistence.uow)
        async for check in verify_audit_chains(uow, batch_size=batch_size):
            checked += 1
            events += check.events
            if not check.ok:
                broken.append(check)
    finally:
        await shutdown(container)
    return checked, events, broken


@main.command()
@click.option("--no-serve", is_flag=True, help="Set up and print, then exit.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
@click.option("--host", default=None, help="Interface to listen on.")
@click.option("--port", default=None, type=int, help="Port to listen on.")
def demo(no_serve: bool, as_json: bool, host: str | None, port: int | None) -> None:
    """Seed the sandbox Tasker (CONTRACT §11), make the demo agent and print its Codex config."""
    with _sparing_the_collector() as settle:
        settings = _settings(host=host, port=port)
        if not settings.is_local:
            raise click.ClickException(
                "demo runs in local mode only (NODEDC_AGENT_GATEWAY_ENV=local)"
            )
        if str(settings.tasker_backend) != "sandbox":
            raise click.ClickException(
                "demo needs the sandbox Tasker (NODEDC_AGENT_GATEWAY_TASKER_BACKEND=sandbox)"
            )
        if not as_json:
            _configure_logs(settings)
        _run(_demo(settings, serve=not no_serve, as_json=as_json, built=settle))


async def _demo(
    settings: Settings, *, serve: bool, as_json: bool, built: Callable[[], None] | None = None
) -> None:
    from nodedc_gateway.entrypoints.bootstrap import build_container, services, shutdown
    from nodedc_gateway.entrypoints.demo import set_up_demo

    await _prepare_database(settings)
    container = build_container(settings)
    gateway = await services(container)
    try:
        info = await set_up_demo(container, gateway)
    finally:
        if not serve:
            await shutdown(container)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo(_demo_text(info))
    if serve:
        await _serve(settings, container=container, prepare_local=False, built=built)


@main.command("console-link")
@click.option("--owner", "owner", required=True, help="The Tasker user id of the owner.")
@click.option("--actor", default=None, help="The person who will act (default: the owner).")
def console_link(owner: str, actor: str | None) -> None:
    """Print a one-time link into the owner console (one use, within 2 minutes)."""
    settings = _settings()
    if settings.database_url == "memory://":
        raise click.ClickException(
            "a console link must be stored where the gateway reads it; memory:// is this "
            "process only (use the served gateway's DATABASE_URL)"
        )
    from nodedc_gateway.domain.errors import GatewayError

    try:
        url = _run(_console_link(settings, owner, actor))
    except GatewayError as error:
        raise click.ClickException(error.message) from None
    click.echo(url)


async def _console_link(settings: Settings, owner: str, actor: str | None) -> str:
    from nodedc_gateway.entrypoints.bootstrap import build_container, services, shutdown
    from nodedc_gateway.entrypoints.console.web import console_url

    await _require_migrated(settings)
    container = build_container(settings)
    try:
        link = await (await services(container)).console.issue_link(owner, actor)
    finally:
        await shutdown(container)
    return console_url(settings.public_url, link.code)


@main.command()
@click.option("--gateway", required=True, help="The gateway's URL, e.g. https://agents.nodedc.ru")
@click.option("--code", required=True, help="The pairing code the agent's owner was shown.")
@click.option(
    "--name", "token_name", default=None, help="A name for this token (default: user@host)."
)
def connect(gateway: str, code: str, token_name: str | None) -> None:
    """Redeem a pairing code, store the agent token (0600) and print the Codex config."""
    from nodedc_gateway.entrypoints import connector

    try:
        credentials = _run(
            connector.redeem(gateway, code, token_name or connector.default_token_name())
        )
        path = connector.store_credentials(credentials)
    except connector.ConnectorError as error:
        raise click.ClickException(str(error)) from None
    command = shutil.which("nodedc-gateway") or sys.argv[0]
    click.echo(f"Connected agent {credentials.agent_id}; token stored in {path} (0600).")
    click.echo(f"It expires {credentials.expires_at}.\n")
    click.echo("Add this to ~/.codex/config.toml:\n")
    click.echo(connector.codex_config(credentials.mcp_url, command, path.parent))


@main.command()
@click.option("--gateway", default=None, help="Override the stored gateway URL.")
def stdio(gateway: str | None) -> None:
    """Serve MCP on stdin/stdout, forwarding to the gateway with the stored token."""
    from nodedc_gateway.entrypoints import connector

    try:
        mcp_url, token = connector.resolve_connection(gateway)
    except connector.ConnectorError as error:
        raise click.ClickException(str(error)) from None
    connector.serve_stdio(mcp_url, token)


def _demo_text(info: dict[str, Any]) -> str:
    from nodedc_gateway.entrypoints.connector import codex_config

    return "\n".join(
        [
            "NODE.DC Agent Gateway demo is ready.",
            "",
            f"  Gateway:         {info['gateway_url']}",
            f"  MCP endpoint:    {info['mcp_url']}",
            f"  Workspace:       {info['workspace_slug']} (project DEMO = {info['project_id']})",
            f"  Demo agent:      {info['agent_id']} (owner {info['owner_user_id']})",
            f"  Internal token:  {info['internal_token']}",
            "",
            "Open the owner console (one use, within 2 minutes):",
            "",
            f"  {info['console_url']}",
            "",
            "Give the agent its token:",
            "",
            f"  export NODEDC_AGENT_TOKEN={info['agent_token']}",
            "",
            "and add this to ~/.codex/config.toml:",
            "",
            codex_config(info["mcp_url"], None),
        ]
    )


async def _prepare_database(settings: Settings) -> None:
    """Local mode sets itself up; elsewhere migrations are a separate, deliberate step."""
    if settings.database_url == "memory://":
        return
    from nodedc_gateway.adapters.persistence.sql.migrate import is_up_to_date, upgrade

    if await is_up_to_date(settings.database_url):
        return  # without loading Alembic, which only migrating needs
    if settings.is_local:
        await upgrade(settings.database_url)
    else:
        raise click.ClickException(
            "The database is not migrated: run `nodedc-gateway migrate` first."
        )


def uvicorn_config(app: Any, settings: Settings) -> uvicorn.Config:
    """How `serve` runs the app under uvicorn."""
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        # The C parser, not the pure-Python h11 (a dependency, named rather than left to
        # uvicorn's "auto", which would fall back to h11 without a word): h11 costs about
        # a tenth more of the gateway's CPU per governed call, which is what bounds calls/s.
        http="httptools",
        # X-Forwarded-For is believed only from these peers: the client address is what
        # the per-client pairing-redeem limit counts (docs/operations.md, reverse proxy).
        proxy_headers=True,
        forwarded_allow_ips=list(settings.trusted_proxies),
        server_header=False,
        # Longer than the idle timeout of the clients and proxies in front (httpx 5 s,
        # nginx and cloud load balancers 60 s): the side that waits longer must not be
        # the one closing, or a request sent on a connection being closed is lost.
        timeout_keep_alive=KEEP_ALIVE_S,
        lifespan="on",
    )


async def _serve(
    settings: Settings,
    *,
    container: Any = None,
    prepare_local: bool,
    built: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped; `built` is called once the app is built, before it listens."""
    import uvicorn

    from nodedc_gateway.entrypoints.bootstrap import build_container
    from nodedc_gateway.entrypoints.http.app import create_app

    if prepare_local or not settings.is_local:
        await _prepare_database(settings)
    app = create_app(container or build_container(settings))
    if built is not None:
        built()
    server = uvicorn.Server(uvicorn_config(app, settings))
    await server.serve()
    if not server.started:
        raise click.ClickException(f"could not serve on {settings.host}:{settings.port}")


def _refuse_problems(settings: Settings) -> None:
    problems = settings.problems()
    if problems:
        raise click.ClickException(
            "Refusing to start:\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\n(`nodedc-gateway preflight` checks everything.)"
        )


def _safe_url(url: str) -> str:
    from nodedc_gateway.entrypoints.preflight import safe_url

    return safe_url(url)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
