"""The Codex and Claude Code configuration in the docs parses, and points at what exists:
the path the gateway serves MCP on, a real CLI command, the variable the connector reads."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from click.testing import CliRunner

from nodedc_gateway.entrypoints.cli import main
from nodedc_gateway.entrypoints.connector import TOKEN_ENV, codex_config
from nodedc_gateway.entrypoints.mcp.endpoint import MCP_PATH

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_SNIPPET = """[mcp_servers.nodedc]
url = "https://agents.nodedc.ru/mcp"
bearer_token_env_var = "NODEDC_AGENT_TOKEN"
"""


def blocks(language: str, text: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)


def codex_servers() -> list[dict[str, object]]:
    text = (ROOT / "docs" / "codex.md").read_text()
    return [tomllib.loads(block)["mcp_servers"]["nodedc"] for block in blocks("toml", text)]


def test_the_contracts_codex_snippet_is_in_the_docs_verbatim() -> None:
    assert CONTRACT_SNIPPET in (ROOT / "docs" / "codex.md").read_text()


def test_the_http_config_points_at_the_served_mcp_path() -> None:
    http = [s for s in codex_servers() if "url" in s]
    assert http
    for server in http:
        assert urlsplit(str(server["url"])).path == MCP_PATH
        assert server["bearer_token_env_var"] == TOKEN_ENV


def test_the_stdio_config_runs_a_real_command() -> None:
    stdio = [s for s in codex_servers() if "command" in s]
    assert stdio
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    for server in stdio:
        assert server["command"] in scripts
        args = server["args"]
        assert isinstance(args, list)
        assert args[0] in main.commands
        assert CliRunner().invoke(main, [*args, "--help"]).exit_code == 0


def test_the_claude_code_mcp_json_parses() -> None:
    text = (ROOT / "docs" / "codex.md").read_text()
    (config,) = [json.loads(block) for block in blocks("json", text)]
    server = config["mcpServers"]["nodedc"]
    assert urlsplit(server["url"]).path == MCP_PATH
    assert server["headers"]["Authorization"] == f"Bearer ${{{TOKEN_ENV}}}"


def test_what_connect_prints_parses_too() -> None:
    printed = codex_config("https://agents.nodedc.ru/mcp", "/opt/bin/nodedc-gateway")
    stdio = tomllib.loads(printed)["mcp_servers"]["nodedc"]
    assert stdio == {"command": "/opt/bin/nodedc-gateway", "args": ["stdio"], "required": True}
    alternative = printed.split("# or, over HTTP:\n", 1)[1]
    http = tomllib.loads("\n".join(line.removeprefix("# ") for line in alternative.splitlines()))
    assert http["mcp_servers"]["nodedc"] == {
        "url": "https://agents.nodedc.ru/mcp",
        "bearer_token_env_var": TOKEN_ENV,
        "required": True,
    }


def test_what_connect_prints_matches_the_docs() -> None:
    """Each Codex block `connect` prints (the commented-out HTTP one uncommented) is a block
    of docs/codex.md, with the docs' command and URL."""
    printed = codex_config("https://agents.nodedc.ru/mcp", "nodedc-gateway")
    stdio, alternative = printed.split("\n# or, over HTTP:\n", 1)
    http = "\n".join(line.removeprefix("# ") for line in alternative.splitlines()) + "\n"
    documented = blocks("toml", (ROOT / "docs" / "codex.md").read_text())
    assert stdio.strip() + "\n" in documented
    assert http in documented
