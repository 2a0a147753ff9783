"""The real Codex CLI and Claude Code, configured exactly as docs/codex.md (and `connect`)
print, each create a card through the gateway over Streamable HTTP and over the stdio
connector. A scripted model on loopback (tests/reliability/scripted_model.py) plays the
model, so nothing leaves the machine.

The clients are installed from npm into `.cache/clients` (pinned versions) on first use.
Outside CI a missing npm or package skips with the reason; under `CI` it fails. Each run
writes a transcript (the client's output, the model's requests and answers, the gateway's
log) to `.cache/transcripts/<test>.txt` (or under `NODEDC_TRANSCRIPTS`), whose path the
test prints.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import attrs
import httpx
import pytest

from tests.reliability.scripted_model import SERVER, ScriptedModel
from tests.support.processes import GatewayProcess, demo, gateway_environment, run_cli, serving
from tests.support.served import INTERNAL_TOKEN, serve

# A cold npm cache downloads both clients (a few hundred MB) inside the first test.
pytestmark = [pytest.mark.reliability, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "codex.md"
DOCS_GATEWAY = "https://agents.nodedc.ru"
DOCS_CREDENTIALS_DIR = "/home/you/.secrets/nodedc-gateway"
CODEX = "@openai/codex@0.169.0"
CLAUDE = "@anthropic-ai/claude-code@2.1.328"
CACHE = Path(os.environ.get("NODEDC_CLIENTS_CACHE", ROOT / ".cache" / "clients"))
TRANSCRIPTS = Path(os.environ.get("NODEDC_TRANSCRIPTS", ROOT / ".cache" / "transcripts"))
VENV_BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 120


def unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (under CI the real clients must run)")
    pytest.skip(reason)


def installed(package: str) -> Path:
    """The client's executable, installed with npm into CACHE (pinned) if not there."""
    name, version = package.rsplit("@", 1)
    manifest = CACHE / "node_modules" / name / "package.json"
    command = "codex" if "codex" in name else "claude"
    binary = CACHE / "node_modules" / ".bin" / command
    current = json.loads(manifest.read_text()).get("version") if manifest.exists() else None
    if not (binary.exists() and current == version):
        npm = shutil.which("npm")
        if npm is None:
            unavailable(f"npm is not on PATH, so {package} cannot be installed")
        CACHE.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(CACHE),
                "--no-audit",
                "--no-fund",
                # Saved (exactly) in CACHE's package.json, so installing one client keeps
                # the other.
                "--save-exact",
                package,
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        if result.returncode != 0 or not binary.exists():
            unavailable(f"npm could not install {package}: {result.stderr.strip()[-600:]}")
    return binary


# --- the docs ---------------------------------------------------------------------------------


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(), re.DOTALL)


def doc_block(language: str, marker: str, without: str = "\0") -> str:
    """The one block of docs/codex.md in `language` that contains `marker` (and not
    `without`)."""
    (block,) = [b for b in doc_blocks(language) if marker in b and without not in b]
    return block


def for_gateway(text: str, gateway: GatewayProcess) -> str:
    """A docs block with its placeholder gateway replaced by the one under test."""
    assert DOCS_GATEWAY in text, f"the docs' placeholder gateway is not in:\n{text}"
    return text.replace(DOCS_GATEWAY, gateway.url)


# --- the world a client runs in -----------------------------------------------------------------


@attrs.define
class World:
    tmp: Path
    gateway: GatewayProcess
    info: dict[str, Any]
    database: Path
    transcript: Path

    @property
    def token(self) -> str:
        return str(self.info["agent_token"])

    def card_name(self, client: str, transport: str) -> str:
        return f"Card from {client} over {transport} {uuid.uuid4().hex[:8]}"

    def arguments(self, name: str) -> dict[str, Any]:
        return {
            "workspace_slug": "demo",
            "project_id": "DEMO",
            "name": name,
            "description": "Made by a real client driven by a scripted model.",
            "idempotency_key": uuid.uuid4().hex,
        }

    def home(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def note(self, heading: str, text: str) -> None:
        with self.transcript.open("a") as handle:
            handle.write(f"\n=== {heading}\n{text}\n")

    def cards_named(self, name: str) -> list[tuple[str, str | None]]:
        with sqlite3.connect(self.database) as db:
            rows = db.execute(
                "SELECT id, created_by_agent_id FROM sandbox_issues WHERE name = ?", (name,)
            ).fetchall()
        return [(str(r[0]), r[1]) for r in rows]

    async def audited_creates(self) -> list[dict[str, Any]]:
        url = (
            f"{self.gateway.url}/internal/v1/owners/{self.info['owner_user_id']}"
            f"/agents/{self.info['agent_id']}/audit"
        )
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.get(
                url,
                params={"operation": "create_issue"},
                headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
            )
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    async def pairing_code(self) -> str:
        url = (
            f"{self.gateway.url}/internal/v1/owners/{self.info['owner_user_id']}"
            f"/agents/{self.info['agent_id']}/pairing-codes"
        )
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                url, json={}, headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"}
            )
        assert response.status_code == 201, response.text
        return str(response.json()["code"])


@pytest.fixture
def world(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    database = tmp_path / "gateway.db"
    env = gateway_environment(tmp_path, f"sqlite+aiosqlite:///{database}")
    info = demo(env, tmp_path)
    TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
    transcript = TRANSCRIPTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', request.node.name)}.txt"
    transcript.write_text(f"{request.node.nodeid}\n")
    with serving(env, tmp_path) as gateway:
        world = World(tmp_path, gateway, info, database, transcript)
        try:
            yield world
        finally:
            world.note("gateway log", gateway.output())
            print(f"\ntranscript: {transcript}")


def client_env(world: World, home: Path, **values: str) -> dict[str, str]:
    """A clean environment: no proxy, no key, none of the person's own configuration."""
    return {
        "PATH": os.pathsep.join([str(VENV_BIN), os.environ["PATH"]]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        **values,
    }


async def run_client(
    world: World, heading: str, argv: list[str], env: dict[str, str], succeeds: bool = True
) -> str:
    world.note(f"{heading}: {shlex.join(argv)}", "")
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        cwd=env["HOME"],
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=RUN_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        world.note(f"{heading} output (killed after {RUN_TIMEOUT_S} s)", output.decode())
        raise AssertionError(f"{heading} did not finish; see {world.transcript}") from None
    text = output.decode(errors="replace")
    world.note(f"{heading} output (exit {process.returncode})", text)
    assert (process.returncode == 0) == succeeds, (
        f"{heading} exited {process.returncode}; see {world.transcript}"
    )
    return text


async def assert_created(world: World, name: str, model: ScriptedModel) -> None:
    assert model.tool_results, (
        f"the client never returned a create_issue result to the model (tools it offered: "
        f"{sorted(set(model.tools_seen))}); see {world.transcript}"
    )
    cards = world.cards_named(name)
    assert len(cards) == 1, (cards, world.transcript)
    assert cards[0][1] == world.info["agent_id"]
    audited = [
        event
        for event in await world.audited_creates()
        if event["decision"] == "allow" and cards[0][0] in json.dumps(event)
    ]
    assert audited, f"no allowed create_issue in the audit for {cards[0][0]}"
    world.note("audited", json.dumps(audited, indent=1))


# --- Codex -----------------------------------------------------------------------------------


def codex_config(model_url: str, server_block: str) -> str:
    """A scripted model provider, then the gateway's block exactly as given."""
    return (
        'model = "scripted-model"\n'
        'model_provider = "scripted"\n'
        "[model_providers.scripted]\n"
        'name = "scripted"\n'
        f'base_url = "{model_url}/v1"\n'
        'wire_api = "responses"\n'
        "\n" + server_block
    )


async def run_codex(
    world: World, transport: str, server_block: str, succeeds: bool = True, **env_values: str
) -> str:
    codex = installed(CODEX)
    name = world.card_name("codex", transport)
    model = ScriptedModel(world.arguments(name), world.transcript)
    home = world.home(f"codex-{transport}")
    codex_home = world.home(f"codex-{transport}/.codex")
    async with serve(model) as model_url:
        config = codex_config(model_url, server_block)
        (codex_home / "config.toml").write_text(config)
        world.note("codex config.toml", config)
        env = client_env(world, home, CODEX_HOME=str(codex_home), **env_values)
        output = await run_client(
            world,
            f"codex {transport}",
            [str(codex), "exec", "--skip-git-repo-check", f"Create the card {name!r} in DEMO."],
            env,
            succeeds,
        )
    if succeeds:
        await assert_created(world, name, model)
    else:
        assert not model.tool_results
        assert world.cards_named(name) == []
    return output


async def test_codex_creates_a_card_over_http_as_the_docs_say(world: World) -> None:
    block = for_gateway(doc_block("toml", "bearer_token_env_var"), world.gateway)
    await run_codex(world, "http", block, NODEDC_AGENT_TOKEN=world.token)


async def connect(world: World, home: Path, **env_values: str) -> str:
    """`nodedc-gateway connect` as a person runs it; what it prints."""
    env = client_env(world, home, **env_values)
    code = await world.pairing_code()
    argv = ["connect", "--gateway", world.gateway.url, "--code", code]
    printed = await asyncio.to_thread(run_cli, argv, env, home)
    world.note(f"nodedc-gateway {shlex.join(argv)}", printed)
    return printed


def printed_codex_block(printed: str) -> str:
    """The stdio block `connect` printed: from its first `[mcp_servers.` line to the
    commented-out HTTP alternative."""
    start = printed.index("[mcp_servers.")
    return printed[start:].split("\n# ", 1)[0] + "\n"


async def test_codex_creates_a_card_over_stdio_as_the_docs_say(world: World) -> None:
    home = world.home("codex-stdio")
    await connect(world, home)
    await run_codex(world, "stdio", doc_block("toml", "command =", without="env ="))


@pytest.mark.parametrize("source", ["printed", "docs"])
async def test_codex_creates_a_card_with_a_token_stored_elsewhere(
    world: World, source: str
) -> None:
    """The token stored elsewhere than the default (NODEDC_CONFIG_DIR, as the docs allow):
    Codex passes a stdio server only a short list of variables, so the block — as `connect`
    prints it, and as the docs show it — must carry the location itself."""
    home = world.home(f"codex-elsewhere-{source}")
    elsewhere = str(world.home(f"credentials-elsewhere-{source}"))
    printed = await connect(world, home, NODEDC_CONFIG_DIR=elsewhere)
    if source == "printed":
        block = printed_codex_block(printed)
    else:
        block = doc_block("toml", "env =").replace(DOCS_CREDENTIALS_DIR, elsewhere)
    await run_codex(world, f"elsewhere-{source}", block, NODEDC_CONFIG_DIR=elsewhere)


# --- Claude Code ----------------------------------------------------------------------------


async def run_claude(
    world: World, transport: str, add_command: str | None, **env_values: str
) -> None:
    """`claude mcp add …` exactly as given (run by a shell, as a person pastes it), if any,
    then one non-interactive task against the scripted model."""
    claude = installed(CLAUDE)
    name = world.card_name("claude", transport)
    model = ScriptedModel(world.arguments(name), world.transcript)
    home = world.home(f"claude-{transport}")
    env = client_env(
        world,
        home,
        CLAUDE_CONFIG_DIR=str(world.home(f"claude-{transport}/.claude")),
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        **env_values,
    )
    env["PATH"] = os.pathsep.join([str(claude.parent), env["PATH"]])
    shell = shutil.which("bash") or "/bin/sh"
    if add_command is not None:
        await run_client(world, f"claude {transport}: add", [shell, "-c", add_command], env)
    async with serve(model) as model_url:
        env |= {"ANTHROPIC_BASE_URL": model_url, "ANTHROPIC_API_KEY": "dummy"}
        await run_client(
            world,
            f"claude {transport}",
            [
                str(claude),
                "-p",
                f"Create the card {name!r} in DEMO.",
                "--allowedTools",
                f"mcp__{SERVER}",
                "--output-format",
                "stream-json",
                "--verbose",
            ],
            env,
        )
    await assert_created(world, name, model)


async def test_claude_code_creates_a_card_over_http_as_the_docs_say(world: World) -> None:
    command = for_gateway(doc_block("sh", "--header"), world.gateway)
    await run_claude(world, "http", command, NODEDC_AGENT_TOKEN=world.token)


async def test_claude_code_creates_a_card_over_stdio_as_the_docs_say(world: World) -> None:
    home = world.home("claude-stdio")
    await connect(world, home)
    command = doc_block("sh", "claude mcp add nodedc --")
    await run_claude(world, "stdio", command)


async def test_claude_code_creates_a_card_with_the_docs_mcp_json(world: World) -> None:
    """The project's `.mcp.json` of the docs, in the directory Claude Code runs in."""
    home = world.home("claude-mcp-json")
    config = for_gateway(doc_block("json", '"mcpServers"'), world.gateway)
    (home / ".mcp.json").write_text(config)
    world.note(".mcp.json", config)
    await run_claude(world, "mcp-json", None, NODEDC_AGENT_TOKEN=world.token)


async def test_codex_stops_loudly_when_the_connector_has_no_token(world: World) -> None:
    """Why the docs advise `required = true`: the docs' default stdio block with the token
    stored elsewhere (and no `env` line) makes Codex stop with an error naming the server,
    where an optional server would leave it running on without the gateway's tools."""
    home = world.home("codex-no-token")
    elsewhere = str(world.home("credentials-unreachable"))
    await connect(world, home, NODEDC_CONFIG_DIR=elsewhere)
    block = doc_block("toml", "command =", without="env =")
    output = await run_codex(world, "no-token", block, False, NODEDC_CONFIG_DIR=elsewhere)
    assert "required MCP servers failed to initialize: nodedc" in output  # Codex 0.169's words


async def test_claude_code_finds_a_token_stored_elsewhere(world: World) -> None:
    """Claude Code passes its whole environment to a stdio server, so NODEDC_CONFIG_DIR
    works with the docs' command as it is."""
    home = world.home("claude-elsewhere")
    elsewhere = str(world.home("claude-credentials-elsewhere"))
    await connect(world, home, NODEDC_CONFIG_DIR=elsewhere)
    command = doc_block("sh", "claude mcp add nodedc --")
    await run_claude(world, "elsewhere", command, NODEDC_CONFIG_DIR=elsewhere)
