"""`nodedc-gateway preflight` (CONTRACT §9): every problem on its own line, exit 1; a sound
deployment passes. The database, Tasker and Launcher are real sockets here."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.ids import UUIDv7Generator
from nodedc_gateway.adapters.tasker.memory import MemoryTasker
from nodedc_gateway.entrypoints.cli import main
from nodedc_gateway.entrypoints.settings import PREFIX, load_settings
from tests.support import fake_launcher, fake_tasker_adapter
from tests.support.asgi_bridge import asgi_app
from tests.support.databases import create_postgres_database, migrated_postgres_url
from tests.support.mcp import CLI
from tests.support.served import serve

STRONG_TOKEN = "q8J3vK2pX9mZr7Lw4Tn6Yb1Hc5Fd0Gs-Ue_Wa"
STRONG_PEPPER = "Zx4Pq7Rt1Vw9Ys3Bn6Mk2Lj8Hg5Fd0Ca-Eo_Iu"


@pytest.fixture
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No gateway variable or dotenv file of the machine leaks into a test."""
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def variables(**values: str) -> dict[str, str]:
    return {PREFIX + name.upper(): value for name, value in values.items()}


def deployed(**values: str) -> dict[str, str]:
    """A production configuration with nothing wrong in it (but its reachability)."""
    sound = {
        "env": "production",
        "internal_token": STRONG_TOKEN,
        "token_pepper": STRONG_PEPPER,
        "public_url": "https://agents.nodedc.test",
        "tasker_backend": "tasker",
        "tasker_token": fake_tasker_adapter.TOKEN,
        "launcher_backend": "http",
        "launcher_token": fake_launcher.TOKEN,
    }
    return variables(**{**sound, **values})


async def run_preflight(env: dict[str, str]) -> Result:
    """The command in a thread: it runs its own event loop while this one serves."""
    runner = CliRunner()
    return await asyncio.to_thread(
        runner.invoke, main, ["preflight", "--timeout", "5"], env=env, catch_exceptions=False
    )


def test_a_bad_production_configuration_gets_one_line_per_problem(tmp_path: Path) -> None:
    env = variables(
        env="production",
        internal_token="change-me-to-a-long-random-internal-token",
        token_pepper="short",
        token_pepper_previous="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        database_url="sqlite+aiosqlite:///./var/gateway.db",
        public_url="http://127.0.0.1:8000",
        allowed_origins="*",
        trusted_proxies="10.0.0.0/8,proxy.internal",
        log_format="console",
        read_burst="0",
    )
    # The real command, as an operator runs it: a process with only these variables.
    result = subprocess.run(
        [CLI, "preflight"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    expected = [
        f"{PREFIX}INTERNAL_TOKEN is a placeholder from an example file; generate a real secret",
        f"{PREFIX}TOKEN_PEPPER is too short (at least 32 characters)",
        f"{PREFIX}TOKEN_PEPPER_PREVIOUS is too repetitive to be random",
        f"{PREFIX}ALLOWED_ORIGINS='*' is for local mode only; list the origins",
        f"{PREFIX}READ_BURST must be at least 1",
        f"{PREFIX}LOG_FORMAT must be json in production",
        f"{PREFIX}TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network",
        f"{PREFIX}DATABASE_URL must be PostgreSQL outside local mode",
        f"{PREFIX}TASKER_BACKEND=sandbox is for local mode only",
        f"{PREFIX}PUBLIC_URL must be https in production",
        f"{PREFIX}PUBLIC_URL points at this machine",
        f"{PREFIX}LAUNCHER_BACKEND=static is for local and staging",
    ]
    for problem in expected:
        assert len([line for line in lines if line.startswith(problem)]) == 1, (problem, lines)
    assert lines[-1] == f"preflight failed: {len(expected)} problems"
    assert len(lines) == len(expected) + 1  # nothing else: each problem is one line
    assert result.stdout == ""
    for secret in (env[PREFIX + "INTERNAL_TOKEN"], env[PREFIX + "TOKEN_PEPPER_PREVIOUS"]):
        assert secret not in result.stderr


async def test_unknown_and_malformed_variables_are_each_a_line(clean_environment: Path) -> None:
    result = await run_preflight(
        variables(env="staging", port="eighty", tasker_bakend="plane", launcher_backend="ldap")
    )

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == "preflight failed: 3 problems"
    assert any(line.startswith(f"{PREFIX}PORT:") for line in lines)
    assert any(f"{PREFIX}LAUNCHER_BACKEND: must be one of static, http" in line for line in lines)
    assert any(f"unknown variable(s): {PREFIX}TASKER_BAKEND" in line for line in lines)


async def test_the_embedded_default_passes_in_local_mode(clean_environment: Path) -> None:
    result = await run_preflight({})

    assert result.exit_code == 0, result.output
    assert "will be migrated" in result.stdout  # serve migrates the embedded database
    assert result.stdout.splitlines()[-1] == "preflight passed (local)"
    assert (clean_environment / "var" / "local-secrets.json").exists()  # the same as serve's


@pytest.mark.postgres
async def test_a_sound_production_deployment_passes(clean_environment: Path) -> None:
    database = await migrated_postgres_url()
    tasker = fake_tasker_adapter.FakeTaskerAdapter(MemoryTasker(UUIDv7Generator(), FixedClock()))
    launcher = fake_launcher.FakeLauncher(entitled=set())
    async with (
        serve(asgi_app(tasker.handle)) as tasker_url,
        serve(asgi_app(launcher.handle)) as launcher_url,
    ):
        result = await run_preflight(
            deployed(database_url=database, tasker_url=tasker_url, launcher_url=launcher_url)
        )

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    out = result.stdout
    assert "reachable and migrated" in out
    assert f"ok: Tasker at {tasker_url} answers" in out
    assert f"ok: Launcher at {launcher_url} answers" in out
    assert out.splitlines()[-1] == "preflight passed (production)"


@pytest.mark.postgres
async def test_an_unmigrated_database_and_unusable_services_are_each_a_line(
    clean_environment: Path,
) -> None:
    empty = create_postgres_database()
    launcher = fake_launcher.FakeLauncher(entitled=set())
    async with serve(asgi_app(launcher.handle)) as launcher_url:
        result = await run_preflight(
            deployed(
                database_url=empty,
                tasker_url="http://127.0.0.1:9",  # nothing listens on the discard port
                launcher_url=launcher_url,
                launcher_token="a-token-launcher-does-not-know-0123456789",
            )
        )

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == "preflight failed: 3 problems"
    assert lines[0].startswith(f"{PREFIX}DATABASE_URL: ")
    assert lines[0].endswith("is not migrated; run `nodedc-gateway migrate`")
    assert lines[1].startswith(f"{PREFIX}TASKER_URL: Tasker at http://127.0.0.1:9 is not usable")
    assert lines[2].startswith(f"{PREFIX}LAUNCHER_URL: Launcher at {launcher_url} is not usable")
    assert "refused the gateway's token" in lines[2]
    assert "a-token-launcher-does-not-know" not in result.output


@pytest.mark.postgres
async def test_a_database_on_another_revision_is_named(clean_environment: Path) -> None:
    database = await migrated_postgres_url()
    with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as connection:
        revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    try:
        result = await run_preflight(
            variables(
                env="staging",
                internal_token=STRONG_TOKEN,
                token_pepper=STRONG_PEPPER,
                database_url=database,
                tasker_backend="plane",
                plane_url="http://127.0.0.1:9",
                plane_api_key="plane_api_0123456789abcdef",
                plane_workspaces="demo",
            )
        )
    finally:
        with psycopg.connect(database.replace("+psycopg", ""), autocommit=True) as connection:
            assert revision is not None
            connection.execute("UPDATE alembic_version SET version_num = %s", revision)

    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert "is at revision f00dfeed, this gateway needs" in lines[0]
    assert lines[1].startswith(f"{PREFIX}PLANE_URL: Plane at http://127.0.0.1:9 is not usable")


def test_staging_takes_an_explicit_static_launcher_but_no_embedded_store() -> None:
    settings = load_settings(
        {},
        env="staging",
        internal_token=STRONG_TOKEN,
        token_pepper=STRONG_PEPPER,
        database_url="postgresql+psycopg://gateway:change-me@db/gateway",
        tasker_backend="plane",
        plane_url="https://plane.nodedc.test",
        plane_api_key="plane_api_0123456789abcdef",
        plane_workspaces="demo",
        launcher_entitled_users="u1,u2",
    )

    assert settings.problems() == [
        f"{PREFIX}DATABASE_URL carries a placeholder password; set the real one"
    ]


def test_the_same_secret_twice_is_refused_everywhere() -> None:
    settings = load_settings(
        {}, internal_token=STRONG_TOKEN, token_pepper=STRONG_TOKEN, token_pepper_previous=""
    )

    assert settings.problems() == [
        f"{PREFIX}INTERNAL_TOKEN and {PREFIX}TOKEN_PEPPER are the same value; "
        "they must be independent secrets"
    ]


def test_an_in_memory_sqlite_database_is_refused_with_its_variable() -> None:
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        settings = load_settings(
            {}, internal_token=STRONG_TOKEN, token_pepper=STRONG_PEPPER, database_url=url
        )

        assert settings.problems() == [
            f"{PREFIX}DATABASE_URL must name a SQLite file (sqlite+aiosqlite:///path.db): "
            "an in-memory SQLite database is private to one connection "
            "(memory:// keeps everything in process)"
        ]
