"""The servers under test, each its own process on 127.0.0.1.

The gateway runs exactly as deployed, `nodedc-gateway serve`, configured by environment
variables (from a scratch working directory, so no `.env` file is picked up); the bare
server is `bench.bare_server` (with `--one-insert`, the one-INSERT baseline). All get the
same uvicorn options (its httptools parser among them) and one worker. Part 5's upstream,
`bench.upstream`, is served by uvicorn too, in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx
import uvicorn

from bench.bare_server import TASKER_TOKEN_VARIABLE

INTERNAL_TOKEN = "bench-internal-token-0123456789abcdef0123456789"  # noqa: S105 - bench only
PEPPER = "bench-pepper-0123456789abcdef0123456789abcdef"
#: What the gateway (and part 5's bare server) send part 5's upstream Tasker.
TASKER_TOKEN = "bench-tasker-token-0123456789abcdef0123456789"  # noqa: S105 - bench only
#: High enough that the benchmark is never refused; every call still runs the check.
UNLIMITED = "100000000"
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def gateway_environment(
    database_url: str, port: int | None = None, tasker_url: str | None = None
) -> dict[str, str]:
    """The gateway's settings for the benchmark: local mode, sandbox Tasker (or, given
    `tasker_url`, the HTTP Tasker backend there, with `TASKER_TOKEN`), static Launcher,
    rate limits no benchmark reaches (the defaults, 120 writes a minute with a burst of
    20 per agent, would refuse most calls of 16 clients sharing one agent), and no
    periodic purge (housekeeping whose first round falls at a random moment, which would
    land in a window where the database's transactions are counted)."""
    prefix = "NODEDC_AGENT_GATEWAY_"
    settings = {
        "ENV": "local",
        "DATABASE_URL": database_url,
        "INTERNAL_TOKEN": INTERNAL_TOKEN,
        "TOKEN_PEPPER": PEPPER,
        "TASKER_BACKEND": "sandbox",
        "LAUNCHER_BACKEND": "static",
        "WRITE_LIMIT_PER_MINUTE": UNLIMITED,
        "WRITE_BURST": UNLIMITED,
        "READ_LIMIT_PER_MINUTE": UNLIMITED,
        "READ_BURST": UNLIMITED,
        "PURGE_INTERVAL_S": "0",
    }
    if port is not None:
        settings["PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    if tasker_url is not None:
        settings["TASKER_BACKEND"] = "tasker"
        settings["TASKER_URL"] = tasker_url
        settings["TASKER_TOKEN"] = TASKER_TOKEN
    return {prefix + key: value for key, value in settings.items()}


@attrs.frozen
class Served:
    """A server under test: where it answers, and its process (for its CPU time)."""

    url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server process has used so far (Linux)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _process(argv: list[str], env: Mapping[str, str], ready_url: str) -> Iterator[int]:
    """Start `argv`, wait until `ready_url` answers, run the block (given the process
    id), then stop the process (only this one, by its own handle)."""
    workdir = tempfile.mkdtemp(prefix="nodedc_bench_")
    log_path = Path(workdir) / "server.log"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NODEDC_")}
    environment.update(env)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=workdir, env=environment, stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        wait_ready(process, ready_url, log_path)
        yield process.pid
    finally:
        stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask a server to stop; kill it if it has not within 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_ready(
    process: subprocess.Popen[bytes], url: str, log_path: Path, poll_s: float = 0.05
) -> None:
    """Until `url` answers a HEAD request (any status: the server is listening), polling
    every `poll_s` (not timing anything; the start-up bench polls finely to measure)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{log_path.read_text()}")
        try:
            httpx.head(url, timeout=1.0)
        except httpx.TransportError:
            time.sleep(poll_s)
            continue
        return
    raise RuntimeError(
        f"server did not start within {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()}"
    )


@contextlib.contextmanager
def gateway(database_url: str, tasker_url: str | None = None) -> Iterator[Served]:
    """`nodedc-gateway serve` on a free loopback port (on the HTTP Tasker at `tasker_url`
    if given, else on the sandbox)."""
    port = free_port()
    argv = [sys.executable, "-m", "nodedc_gateway", "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    env = gateway_environment(database_url, port, tasker_url)
    with _process(argv, env, f"{url}/health/live") as pid:
        yield Served(url, pid)


@contextlib.contextmanager
def bare(database_url: str, *, one_insert: bool = False) -> Iterator[Served]:
    """The bare MCP server on a free loopback port, on the sandbox in `database_url` (with
    `one_insert`, the one-INSERT baseline on its own table there)."""
    args = ["--database", database_url, *(["--one-insert"] if one_insert else [])]
    with _bench_module("bench.bare_server", args, "/mcp") as served:
        yield served


@contextlib.contextmanager
def bare_http(tasker_url: str) -> Iterator[Served]:
    """The bare MCP server on a free loopback port, on the HTTP Tasker at `tasker_url`."""
    env = {TASKER_TOKEN_VARIABLE: TASKER_TOKEN}
    with _bench_module("bench.bare_server", ["--tasker", tasker_url], "/mcp", env) as served:
        yield served


@contextlib.contextmanager
def upstream() -> Iterator[Served]:
    """Part 5's in-memory Tasker (`bench.upstream`) on a free loopback port."""
    argv = ["--token", TASKER_TOKEN]
    with _bench_module("bench.upstream", argv, "/internal/agent-gateway/v1/health") as served:
        yield served


@contextlib.contextmanager
def _bench_module(
    module: str, args: list[str], ready_path: str, env: Mapping[str, str] | None = None
) -> Iterator[Served]:
    """`python -m <module> <args> --port <free port>`, this checkout's `bench` importable."""
    port = free_port()
    argv = [sys.executable, "-m", module, *args, "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    path = os.pathsep.join(p for p in (_repo_root(), os.environ.get("PYTHONPATH")) if p)
    with _process(argv, {"PYTHONPATH": path, **(env or {})}, url + ready_path) as pid:
        yield Served(url, pid)


@contextlib.asynccontextmanager
async def in_process(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn inside this process (for counting round trips on
    its engine); yields its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, http="httptools", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # startup failed: raise its error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _repo_root() -> str:
    return str(Path(__file__).resolve().parent.parent)
