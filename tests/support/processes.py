"""Real `nodedc-gateway` processes, as an operator runs them: a configured environment,
`demo --no-serve` or `migrate` to prepare, `serve` on a loopback port."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
import httpx

from nodedc_gateway.entrypoints.settings import PREFIX
from tests.support.mcp import CLI
from tests.support.served import INTERNAL_TOKEN, PEPPER


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def gateway_environment(directory: Path, database_url: str, **values: str) -> dict[str, str]:
    """A clean process environment: PATH and HOME, and only the gateway variables given
    (local mode, the test secrets) — nothing of the machine's own configuration."""
    variables = {
        "database_url": database_url,
        "internal_token": INTERNAL_TOKEN,
        "token_pepper": PEPPER,
        "log_level": "warning",
        **values,
    }
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(directory),
        **{PREFIX + name.upper(): value for name, value in variables.items()},
    }


def run_cli(args: list[str], env: Mapping[str, str], cwd: Path, timeout: float = 120) -> str:
    result = subprocess.run(
        [CLI, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"nodedc-gateway {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def demo(env: Mapping[str, str], cwd: Path) -> dict[str, Any]:
    """Seed the sandbox Tasker and the demo agent (CONTRACT §11); its JSON."""
    info: dict[str, Any] = json.loads(run_cli(["demo", "--no-serve", "--json"], env, cwd))
    return info


@attrs.define
class GatewayProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serving(env: Mapping[str, str], cwd: Path, name: str = "gateway") -> Iterator[GatewayProcess]:
    """`nodedc-gateway serve` on a free loopback port until the block ends."""
    port = free_port()
    log = cwd / f"{name}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env),
            cwd=cwd,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    gateway = GatewayProcess(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_ready(gateway)
        yield gateway
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(gateway: GatewayProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gateway.process.poll() is not None:
            raise AssertionError(f"the gateway exited at startup:\n{gateway.output()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{gateway.url}/health/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.1)  # polling a starting process, not timing the test
    raise AssertionError(f"the gateway was not ready within {timeout} s:\n{gateway.output()}")
