"""What the CLI imports before it does its work: `--help` needs none of the served
gateway, and `serve` on a migrated SQLite database never loads the PostgreSQL driver,
Alembic, the adapters of backends it does not use, or the optional integrations of the
libraries it uses that it never calls; and it starts with the cyclic
collector's full collections held back, freezing what start-up made before it listens.
Checked by what is imported and how the collector is set (in a fresh interpreter), not by
timing; the times and the memory are measured by
`python -m bench --only startup`."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nodedc_gateway.entrypoints import cli
from tests.support.interpreter import last_line

#: Runs `nodedc-gateway --help` and prints the top-level packages imported.
HELP = """
import sys
from nodedc_gateway.entrypoints.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
"""

#: What `serve` does before uvicorn starts (settings, the database check, the app), on the
#: embedded default in the working directory; prints the modules imported.
SERVE = """
import asyncio, sys
from nodedc_gateway.entrypoints import cli
from nodedc_gateway.entrypoints.bootstrap import build_container, services, shutdown
from nodedc_gateway.entrypoints.http.app import create_app
settings = cli._settings()
asyncio.run(cli._prepare_database(settings))
container = build_container(settings)
create_app(container)
async def start_and_stop():  # what the app's lifespan does
    await services(container)
    await shutdown(container)
asyncio.run(start_and_stop())
print(" ".join(sorted(sys.modules)))
"""


def imported(code: str, cwd: Path) -> set[str]:
    return set(last_line(code, cwd).split())


def test_help_imports_nothing_of_the_served_gateway(tmp_path: Path) -> None:
    heavy = {"litestar", "sqlalchemy", "mcp", "mcp_types", "pydantic", "uvicorn", "asyncio"}
    heavy |= {"dependency_injector", "structlog", "httpx", "alembic", "psycopg", "attrs"}
    assert imported(HELP, tmp_path) & heavy == set()


def test_serve_on_a_migrated_sqlite_database_loads_only_what_it_runs(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nodedc_gateway", "migrate"],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if not k.startswith("NODEDC_")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = imported(SERVE, tmp_path)
    packages = {name.split(".")[0] for name in modules}
    assert {"litestar", "sqlalchemy", "mcp"} <= packages  # it did build the gateway
    assert packages & {"psycopg", "psycopg_binary", "alembic", "mako"} == set()
    # Outbound HTTP (the HTTP Tasker, Plane, Launcher, OAuth documents) and Markdown are
    # loaded on first use: the old httpx alone brings rich and pygments.
    assert packages & {"httpx", "markdown_it"} == set()
    # The console's templates: Jinja is loaded when the first page is rendered.
    assert "jinja2" not in packages
    # Optional integrations that structlog, the MCP SDK and dependency-injector look for,
    # never used here (`entrypoints.libraries`): both are installed beside the gateway
    # (rich by Litestar, Werkzeug by a test tool).
    assert packages & {"rich", "pygments", "werkzeug"} == set()
    unused = {
        "sqlalchemy.dialects.postgresql",
        "nodedc_gateway.adapters.persistence.memory",
        "nodedc_gateway.adapters.ratelimit.memory",
        "nodedc_gateway.adapters.tasker.memory",
        "nodedc_gateway.adapters.tasker.plane",
        "nodedc_gateway.adapters.tasker.http",
        "nodedc_gateway.adapters.launcher.http",
    }
    assert modules & unused == set()


#: Runs `serve` as the command line does up to the moment uvicorn would listen (its
#: `serve` replaced), and prints what the cyclic collector was set to meanwhile.
COLLECTOR = """
import gc, json
import uvicorn
from nodedc_gateway.entrypoints import cli
from nodedc_gateway.entrypoints.http import app as http
seen = {"before": gc.get_threshold(), "frozen_before": gc.get_freeze_count()}
build = http.create_app
def create_app(container):
    seen["building"] = gc.get_threshold()
    return build(container)
async def listen(self, sockets=None):
    seen["listening"] = gc.get_threshold()
    seen["frozen"] = gc.get_freeze_count()
http.create_app = create_app
uvicorn.Server.serve = listen
try:
    cli.main(["serve", "--host", "127.0.0.1", "--port", "9"], standalone_mode=False)
except Exception as error:  # it never listened: `serve` says so
    seen["error"] = type(error).__name__
seen["after"] = gc.get_threshold()
print(json.dumps(seen))
"""


def test_serve_starts_with_full_collections_held_and_serves_with_young_ones_spaced(
    tmp_path: Path,
) -> None:
    seen = json.loads(last_line(COLLECTOR, tmp_path))
    assert seen["error"] == "ClickException"
    default = seen["before"]
    assert tuple(seen["building"]) == cli.STARTING_THRESHOLDS != tuple(default)
    # Once built, before listening: serving's thresholds, start-up's objects frozen.
    assert tuple(seen["listening"]) == cli.SERVING_THRESHOLDS != tuple(default)
    assert seen["frozen"] > seen["frozen_before"] + 100_000
    assert seen["after"] == default


def test_the_collector_is_given_back_when_start_up_fails() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    during = []

    def start() -> None:
        with cli._sparing_the_collector():
            during.append(gc.get_threshold())
            raise RuntimeError("no database")

    with pytest.raises(RuntimeError, match="no database"):
        start()
    assert during == [cli.STARTING_THRESHOLDS]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen  # nothing frozen in a start that failed


def test_the_mcp_endpoint_imports_first_in_a_fresh_interpreter(tmp_path: Path) -> None:
    # It uses the HTTP package's problem titles, and the HTTP app imports it: the package
    # must not import the app, or importing the endpoint first fails half-initialised.
    code = "import nodedc_gateway.entrypoints.mcp.endpoint as e; print(e.McpMount.__name__)"
    assert last_line(code, tmp_path) == "McpMount"
