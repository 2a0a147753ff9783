"""`demo` prints a console link for the demo owner and `console-link --owner` prints one;
each opens the console of a served gateway once. Real subprocesses, a real SQLite file."""

from __future__ import annotations

import subprocess
from urllib.parse import urlsplit

import httpx

from tests.entrypoints.test_cli_demo import demo_json, served, workdir  # noqa: F401 (fixtures)
from tests.support.mcp import CLI


def console_link(env: dict[str, str], owner: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, "console-link", "--owner", owner],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_demo_and_console_link_print_links_that_open_once(
    served: tuple[str, dict[str, str]],  # noqa: F811
) -> None:
    url, env = served
    info = demo_json(env)
    printed = console_link(env, info["owner_user_id"])
    assert printed.returncode == 0, printed.stderr
    for link in (info["console_url"], printed.stdout.strip()):
        assert link.startswith(f"{url}/console/open/")
        async with httpx.AsyncClient(base_url=url) as browser:
            opened = await browser.get(urlsplit(link).path)
            assert opened.status_code == 303
            page = await browser.get("/console/agents")
            assert page.status_code == 200
            assert "Demo agent" in page.text
            assert (await browser.get(urlsplit(link).path)).status_code == 404  # used


def test_console_link_needs_an_owner_and_a_shared_database() -> None:
    missing = subprocess.run([CLI, "console-link"], capture_output=True, text=True, check=False)
    assert missing.returncode != 0
    assert "--owner" in missing.stderr
    memory = subprocess.run(
        [CLI, "console-link", "--owner", "u1"],
        env={"NODEDC_AGENT_GATEWAY_DATABASE_URL": "memory://", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert memory.returncode != 0
    assert "memory://" in memory.stderr
