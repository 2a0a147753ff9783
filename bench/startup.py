"""Part 4: how fast the gateway's processes start, and how much memory `serve` holds.

- `serve`: `nodedc-gateway serve` on the embedded default (local mode, SQLite in its
  working directory, nothing configured), from process start until `/health/live`
  answers, and its resident memory (VmRSS) at that moment; against the bare MCP server
  (`bench.bare_server` on its own SQLite file) started the same way, until `/mcp` answers.
  Each gets one scratch directory and one untimed start first (the gateway creates and
  migrates its database then), so every timed start is a restart, as after a deploy.
- `stdio`: the connector exactly as Codex starts it (`nodedc-gateway stdio`, token and
  gateway URL in its environment), from process start until the answer to the
  `initialize` request written on its stdin arrives on its stdout; against `python -c
  pass` run to its exit, the floor of any Python process.
- `--help`: `nodedc-gateway --help` to its exit, against the same floor (reported only).

Every kind is started `rounds` times, ours and its baseline taking turns (order
alternating), so a change in the machine's load hits both.

The gateway's and the bench's own modules are byte-compiled first (`compile_sources`), as
`pip install` and the image's `compileall` leave them: a deployed gateway never compiles
its sources as it starts. Without this, where `PYTHONDONTWRITEBYTECODE` is set (as on the
machines this bench runs on) every timed start compiled the gateway's ~180 modules anew.
"""

from __future__ import annotations

import compileall
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import attrs

from bench.servers import free_port, stop, wait_ready
from bench.stats import median, percentile

POLL_S = 0.005
SERVE_READY_TARGET_S = 1.0
RSS_TARGET_BYTES = 120 * 2**20
INITIALIZE_TARGET_S = 0.2

INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "codex-mcp-client", "version": "0.169.0"},
            },
        }
    ).encode()
    + b"\n"
)


@attrs.frozen
class Samples:
    """Seconds (and, for servers, resident bytes at ready) of every timed start."""

    seconds: tuple[float, ...]
    rss_bytes: tuple[int, ...] = ()

    @property
    def p50_s(self) -> float:
        return median(self.seconds)

    @property
    def p90_s(self) -> float:
        return percentile(self.seconds, 0.9)

    @property
    def rss_p50(self) -> float:
        return median([float(b) for b in self.rss_bytes])


@attrs.frozen
class StartupResult:
    rounds: int
    serve: Samples
    bare: Samples
    stdio: Samples
    help: Samples
    floor: Samples  # `python -c pass`

    @property
    def ready_met(self) -> bool:
        return self.serve.p50_s <= SERVE_READY_TARGET_S

    @property
    def rss_met(self) -> bool:
        return self.serve.rss_p50 <= RSS_TARGET_BYTES

    @property
    def initialize_met(self) -> bool:
        return self.stdio.p50_s <= INITIALIZE_TARGET_S


def _command() -> list[str]:
    """`nodedc-gateway` as installed beside this interpreter (what Codex runs)."""
    script = Path(sys.executable).parent / "nodedc-gateway"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nodedc_gateway"]


def _clean_env(extra: Mapping[str, str] = {}) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NODEDC_")}
    return {**environment, **extra}


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_server(
    argv: list[str], env: Mapping[str, str], cwd: Path, path: str
) -> tuple[float, int]:
    """Start a server (`argv` ends in `--port`, the port is appended), wait until `path`
    answers: (seconds from start, resident bytes then). Stops the process (by its handle)."""
    port = free_port()
    log_path = cwd / "server.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            [*argv, str(port)], cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
    try:
        wait_ready(process, f"http://127.0.0.1:{port}{path}", log_path, poll_s=POLL_S)
        elapsed = time.perf_counter() - started
        return elapsed, _rss_bytes(process.pid)
    finally:
        stop(process)


def answer_initialize(argv: list[str], env: Mapping[str, str]) -> float:
    """Seconds from starting `argv` until its first line on stdout, `initialize` having been
    written on its stdin right after the start (as a client does)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(INITIALIZE)
        process.stdin.flush()
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        answer = json.loads(line) if line.strip() else {}
        if "result" not in answer:
            _, errors = process.communicate(timeout=30)
            raise RuntimeError(f"no initialize answer: {line!r}\n{errors.decode()}")
        return elapsed
    finally:
        process.stdin.close()
        stop(process)


def run_to_exit(argv: list[str], env: Mapping[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


@contextlib.contextmanager
def _scratch(label: str) -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix=f"nodedc_bench_{label}_"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def compile_sources() -> None:
    """Byte-compile the gateway's package and the bench's (beside their sources, where the
    interpreter looks, as an installed package has them), whatever `PYTHONDONTWRITEBYTECODE`
    says. Raises if a module does not compile."""
    import nodedc_gateway

    for package in (Path(nodedc_gateway.__file__).parent, Path(__file__).resolve().parent):
        if not compileall.compile_dir(package, quiet=1):
            raise RuntimeError(f"could not byte-compile {package}")


def run(rounds: int) -> StartupResult:
    compile_sources()
    gateway = _command()
    serve_argv = [*gateway, "serve", "--host", "127.0.0.1", "--port"]
    root = str(Path(__file__).resolve().parent.parent)
    python_path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    bare_env = _clean_env({"PYTHONPATH": python_path})
    bare_argv = [sys.executable, "-m", "bench.bare_server", "--database"]
    bare_argv += ["sqlite+aiosqlite:///./bare.db", "--port"]
    # A gateway nobody listens on: `initialize` never reaches it.
    stdio_env = _clean_env(
        {"NODEDC_AGENT_TOKEN": "ndca_bench", "NODEDC_GATEWAY_URL": "http://127.0.0.1:9"}
    )
    floor_argv = [sys.executable, "-c", "pass"]

    samples: dict[str, list[float]] = {k: [] for k in ("serve", "bare", "stdio", "help", "floor")}
    rss: dict[str, list[int]] = {"serve": [], "bare": []}
    with _scratch("serve") as serve_dir, _scratch("bare") as bare_dir:
        servers: dict[str, Callable[[], tuple[float, int]]] = {
            "serve": lambda: start_server(serve_argv, _clean_env(), serve_dir, "/health/live"),
            "bare": lambda: start_server(bare_argv, bare_env, bare_dir, "/mcp"),
        }
        for start in servers.values():
            start()  # untimed: the gateway makes its database and secrets
        for round_ in range(rounds):
            names = ["serve", "bare"] if round_ % 2 == 0 else ["bare", "serve"]
            for name in names:
                seconds, resident = servers[name]()
                samples[name].append(seconds)
                rss[name].append(resident)
    kinds: dict[str, Callable[[], float]] = {
        "stdio": lambda: answer_initialize([*gateway, "stdio"], stdio_env),
        "help": lambda: run_to_exit([*gateway, "--help"], _clean_env()),
        "floor": lambda: run_to_exit(floor_argv, _clean_env()),
    }
    kinds["stdio"]()  # untimed: a warm page cache for all
    for round_ in range(rounds):
        order = list(kinds) if round_ % 2 == 0 else list(reversed(kinds))
        for name in order:
            samples[name].append(kinds[name]())
    return StartupResult(
        rounds=rounds,
        serve=Samples(tuple(samples["serve"]), tuple(rss["serve"])),
        bare=Samples(tuple(samples["bare"]), tuple(rss["bare"])),
        stdio=Samples(tuple(samples["stdio"])),
        help=Samples(tuple(samples["help"])),
        floor=Samples(tuple(samples["floor"])),
    )
