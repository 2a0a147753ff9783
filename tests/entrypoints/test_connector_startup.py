"""The stdio connector as Codex starts it: a reduced environment and a short wait.

Codex passes a stdio server only a short list of environment variables, so the block
`connect` prints must carry a token location that is not the default; and Codex waits about
0.85 s for an optional server's `initialize` answer, so the connector answers it before
importing anything heavy (checked by what is imported, not by a timed assertion)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, LATEST_HANDSHAKE_VERSION

from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.entrypoints import connector
from tests.support.mcp import CLI

#: What Codex 0.169 passes a stdio server of its own environment (codex-rs rmcp-client).
CODEX_PASSES = ("HOME", "LOGNAME", "PATH", "SHELL", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR")

#: Top-level packages the connector must not import before answering `initialize`.
HEAVY = frozenset(
    {
        "litestar",
        "sqlalchemy",
        "dependency_injector",
        "uvicorn",
        "alembic",
        "psycopg",
        "aiosqlite",
        "structlog",
        "cattrs",
        "httpx",
        "httpcore",
        "mcp",
        "mcp_types",
        "pydantic",
        "starlette",
        "anyio",
        # Not heavy, but hundreds of milliseconds on a loaded machine; nothing needs them.
        "asyncio",
        "ssl",
    }
)
HEAVY_OWN = ("nodedc_gateway.application", "nodedc_gateway.adapters", "nodedc_gateway.ports")
HEAVY_OWN_MODULES = frozenset(
    {
        "nodedc_gateway.entrypoints.settings",
        "nodedc_gateway.entrypoints.bootstrap",
        "nodedc_gateway.entrypoints.connector_bridge",
    }
)
#: Of the domain's rules the connector needs one; the package imports the others lazily.
DOMAIN_NEEDED = frozenset({"nodedc_gateway.domain", "nodedc_gateway.domain.secret"})

#: Runs `nodedc-gateway stdio` and writes the modules imported at the moment the first
#: bytes go to stdout (the `initialize` answer) to the file named by argv[1].
SNAPSHOT = """
import os, sys
real_write, path, taken = os.write, sys.argv[1], []
def write(fd, data):
    if fd == 1 and not taken:
        taken.append(True)
        with open(path, "w") as out:
            out.write("\\n".join(sorted(sys.modules)))
    return real_write(fd, data)
os.write = write
from nodedc_gateway.entrypoints.cli import main
main(["stdio"])
"""


def initialize(version: str = "2025-06-18", ident: int | str = 1) -> bytes:
    request = {
        "jsonrpc": "2.0",
        "id": ident,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "codex-mcp-client", "version": "0.169.0"},
        },
    }
    return json.dumps(request).encode() + b"\n"


PING = (
    b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
    b'{"jsonrpc":"2.0","id":2,"method":"ping"}\n'
)


def connector_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in CODEX_PASSES}
    # A gateway nobody listens on: initialize and ping never reach it.
    return {**env, "NODEDC_AGENT_TOKEN": "ndca_test", "NODEDC_GATEWAY_URL": "http://127.0.0.1:9"}


def exchange(
    argv: list[str], env: dict[str, str], stdin: bytes, answers: int = 2
) -> tuple[list[Any], str]:
    """Send `stdin`, read `answers` lines, then close stdin (closing first would let the
    server stop before it answers) and collect stderr."""
    process = subprocess.Popen(
        argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(stdin)
    process.stdin.flush()
    lines = [process.stdout.readline() for _ in range(answers)]
    _, errors = process.communicate(timeout=120)
    parsed = [json.loads(line) for line in lines if line.strip()]
    return parsed, errors.decode(errors="replace")


def heavy(modules: list[str]) -> list[str]:
    return [
        name
        for name in modules
        if name.split(".")[0] in HEAVY
        or name.startswith(HEAVY_OWN)
        or name in HEAVY_OWN_MODULES
        or (name.startswith("nodedc_gateway.domain") and name not in DOMAIN_NEEDED)
    ]


def test_stdio_answers_initialize_before_importing_anything_heavy(tmp_path: Path) -> None:
    snapshot = tmp_path / "modules.txt"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-c", SNAPSHOT, str(snapshot)],
        env=connector_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(initialize())
    process.stdin.flush()
    answer = json.loads(process.stdout.readline())
    elapsed = time.monotonic() - started
    process.stdin.write(PING)
    process.stdin.flush()
    rest = process.stdout.readline()
    _, errors = process.communicate(timeout=120)
    print(f"\nnodedc-gateway stdio answered initialize {elapsed:.3f} s after it started")
    assert answer["result"]["serverInfo"]["name"] == connector.SERVER_NAME, answer
    assert json.loads(rest)["result"] == {}, (rest, errors)
    imported = snapshot.read_text().split()
    assert "nodedc_gateway.entrypoints.connector" in imported
    assert heavy(imported) == []


@pytest.mark.parametrize(
    "version", [*HANDSHAKE_PROTOCOL_VERSIONS, "2026-07-28", "1999-01-01"], ids=str
)
def test_the_early_initialize_answer_is_the_sdks(version: str) -> None:
    """The SDK server answers the replayed request too; the connector drops that answer and
    complains on stderr if it differs from the early one."""
    answers, errors = exchange([CLI, "stdio"], connector_env(), initialize(version, "a") + PING)
    assert "differed" not in errors, errors
    assert [a["id"] for a in answers] == ["a", 2], (answers, errors)
    expected = version if version in HANDSHAKE_PROTOCOL_VERSIONS else LATEST_HANDSHAKE_VERSION
    assert answers[0]["result"]["protocolVersion"] == expected
    assert answers[0]["result"]["instructions"].startswith("NODE.DC Agent Gateway")


def test_the_connector_knows_the_sdks_handshake_versions() -> None:
    assert connector.HANDSHAKE_VERSIONS == HANDSHAKE_PROTOCOL_VERSIONS


@pytest.mark.parametrize(
    ("first", "ids"),
    [
        (b"not json\n", [1, 2]),
        (b'{"jsonrpc":"2.0","id":5,"method":"ping"}\n', [5, 1, 2]),
        (b"\n", [1, 2]),
    ],
    ids=["garbage", "ping-first", "blank"],
)
def test_anything_but_initialize_first_is_left_to_the_sdk(first: bytes, ids: list[int]) -> None:
    stdin = first + initialize() + PING
    answers, errors = exchange([CLI, "stdio"], connector_env(), stdin, len(ids))
    assert [a.get("id") for a in answers] == ids, (answers, errors)
    assert "differed" not in errors


def store(directory: Path) -> None:
    credentials = connector.Credentials(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9/mcp",
        "agent",
        SecretStr("ndca_test"),
        "2027-01-01T00:00:00Z",
    )
    connector.store_credentials(credentials, directory / connector.CREDENTIALS_FILE)


def codex_starts(server: dict[str, Any], outer: dict[str, str]) -> tuple[list[Any], str]:
    """Start the server entry as Codex does: its short list of variables from `outer`,
    then the entry's `env_vars` (from `outer`) and `env`."""
    env = {k: v for k, v in outer.items() if k in CODEX_PASSES}
    env |= {name: outer[name] for name in server.get("env_vars", []) if name in outer}
    env |= dict(server.get("env", {}))
    return exchange([server["command"], *server["args"]], env, initialize() + PING)


def test_the_block_connect_prints_finds_a_token_stored_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: with NODEDC_CONFIG_DIR at `connect`, Codex started the connector without
    it, the connector found no token and Codex ran on without the gateway's tools."""
    elsewhere = tmp_path / "elsewhere"
    home = tmp_path / "home"
    home.mkdir()
    store(elsewhere)
    printed = connector.codex_config("http://127.0.0.1:9/mcp", CLI, elsewhere)
    server = tomllib.loads(printed)["mcp_servers"]["nodedc"]
    assert server["required"] is True
    outer = {**os.environ, "HOME": str(home), connector.CONFIG_DIR_ENV: str(elsewhere)}
    outer.pop(connector.TOKEN_ENV, None)
    answers, errors = codex_starts(server, outer)
    assert [a["id"] for a in answers] == [1, 2], errors


def test_a_token_in_the_default_place_needs_no_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store(connector.default_config_dir())
    printed = connector.codex_config("http://127.0.0.1:9/mcp", CLI, connector.default_config_dir())
    server = tomllib.loads(printed)["mcp_servers"]["nodedc"]
    assert "env" not in server
    assert "env_vars" not in server
    outer = {**os.environ, "HOME": str(tmp_path)}
    for name in (connector.TOKEN_ENV, connector.CONFIG_DIR_ENV, "XDG_CONFIG_HOME"):
        outer.pop(name, None)
    answers, errors = codex_starts(server, outer)
    assert [a["id"] for a in answers] == [1, 2], errors
