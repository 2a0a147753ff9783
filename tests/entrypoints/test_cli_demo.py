"""The run command's path, as a newcomer takes it: `demo` seeds and prints a working token
(again and again), and `serve` serves it. Real subprocesses, a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from nodedc_gateway.entrypoints.cli import main
from nodedc_gateway.entrypoints.settings import PREFIX
from tests.support.mcp import CLI, http_client, structured


@pytest.fixture
def workdir(tmp_path: Path) -> dict[str, str]:
    database = tmp_path / "var" / "gateway.db"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("NODEDC_")},
        "NODEDC_AGENT_GATEWAY_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }


def demo_json(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [CLI, "demo", "--no-serve", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def served(workdir: dict[str, str]) -> AsyncIterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {
        **workdir,
        "NODEDC_AGENT_GATEWAY_PORT": str(port),
        "NODEDC_AGENT_GATEWAY_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    demo_json(env)  # migrate, seed, generate the local secrets
    process = await asyncio.create_subprocess_exec(
        CLI, "serve", env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(600):  # waiting for startup, not timing anything
                if process.returncode is not None:
                    raise AssertionError("serve exited before it answered")
                try:
                    if (await client.get("/health/live")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
        yield url, env
    finally:
        process.terminate()
        await process.wait()


def test_demo_prints_what_the_contract_lists_and_is_idempotent(
    workdir: dict[str, str], tmp_path: Path
) -> None:
    first = demo_json(workdir)
    for key in (
        "gateway_url",
        "mcp_url",
        "internal_token",
        "owner_user_id",
        "agent_id",
        "agent_token",
        "workspace_slug",
        "project_id",
        "other_project_id",
    ):
        assert first[key], key
    assert first["agent_token"].startswith("ndca_")
    assert first["workspace_slug"] == "demo"
    second = demo_json(workdir)
    assert second["agent_id"] == first["agent_id"]
    assert second["project_id"] == first["project_id"]
    assert second["internal_token"] == first["internal_token"]  # kept beside the database
    assert second["agent_token"] != first["agent_token"]
    secrets_file = tmp_path / "var" / "local-secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600


async def test_serve_answers_with_the_demo_token_and_refuses_the_replaced_one(
    served: tuple[str, dict[str, str]],
) -> None:
    url, env = served
    earlier = demo_json(env)
    info = demo_json(env)  # a second run revokes the earlier demo token
    async with http_client(url, info["agent_token"]) as client:
        whoami = structured(await client.call_tool("whoami", {}))
        assert whoami["agent"]["id"] == info["agent_id"]
        assert whoami["grants"][0]["project_id"] == info["project_id"]
        other = await client.call_tool(
            "get_project", {"workspace_slug": "other", "project_id": "OTH"}
        )
        assert structured(other)["error"]["code"] == "not_granted"
    async with httpx.AsyncClient(base_url=url) as raw:
        agents = await raw.get(
            f"/internal/v1/owners/{info['owner_user_id']}/agents",
            headers={"Authorization": f"Bearer {info['internal_token']}"},
        )
        assert [a["display_name"] for a in agents.json()["items"]] == ["Demo agent"]
        refused = await raw.post(
            "/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={
                "Authorization": f"Bearer {earlier['agent_token']}",
                "accept": "application/json",
            },
        )
        assert refused.status_code == 401


@pytest.mark.parametrize(
    ("options", "public_url", "expected"),
    [
        (["--port", "18123"], None, "http://127.0.0.1:18123"),
        (["--host", "0.0.0.0", "--port", "18124"], None, "http://127.0.0.1:18124"),  # noqa: S104
        (["--port", "18125"], "https://gateway.example.com", "https://gateway.example.com"),
    ],
)
def test_demo_prints_the_url_it_serves_unless_a_public_url_is_set(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    public_url: str | None,
    expected: str,
) -> None:
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # the local secrets go to ./var
    env = {PREFIX + "DATABASE_URL": "memory://"}
    if public_url:
        env[PREFIX + "PUBLIC_URL"] = public_url
    runner = CliRunner()
    as_json = runner.invoke(main, ["demo", "--no-serve", "--json", *options], env=env)
    assert as_json.exit_code == 0, as_json.output
    info = json.loads(as_json.stdout)
    assert info["gateway_url"] == expected
    assert info["mcp_url"] == f"{expected}/mcp"
    assert info["console_url"].startswith(f"{expected}/console/open/")
    text = runner.invoke(main, ["demo", "--no-serve", *options], env=env)
    assert text.exit_code == 0, text.output
    assert f'url = "{expected}/mcp"' in text.stdout  # the Codex snippet
    assert ":8000" not in text.stdout
