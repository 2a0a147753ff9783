"""Schemathesis against `/schema/openapi.json` of a served gateway on PostgreSQL, with a
valid internal token and every check it has: no 5xx, every status and body as documented,
schema-invalid input refused, schema-valid input accepted (but for refusals that depend
on state, `schemathesis_hooks.filter_failure`), `Allow` on 405 and OPTIONS, auth not
ignored. `make reliability` runs it; see docs/operations.md."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.reliability.figures import Figure
from tests.reliability.schemathesis_hooks import KNOWN_IDS_VARIABLE
from tests.support.databases import create_postgres_database
from tests.support.processes import demo, gateway_environment, serving
from tests.support.served import INTERNAL_TOKEN

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
MAX_EXAMPLES = int(os.environ.get("NODEDC_SCHEMATHESIS_MAX_EXAMPLES", "50"))


def known_ids(url: str, info: dict[str, str]) -> dict[str, str]:
    """Ids that exist, for the hooks to put in path parameters: the demo owner and agent,
    its grant, and a token."""
    owner, agent = info["owner_user_id"], info["agent_id"]
    headers = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}
    base = f"{url}/internal/v1/owners/{owner}/agents/{agent}"
    with httpx.Client(headers=headers, timeout=30) as client:
        grant = client.get(f"{base}/grants").json()["items"][0]["id"]
        token = client.post(f"{base}/tokens", json={"name": "fuzz"}).json()["id"]
    return {"owner_user_id": owner, "agent_id": agent, "grant_id": grant, "token_id": token}


def _requests_by_status(url: str) -> Counter[int]:
    """The gateway's own count of the requests it answered, by status (its /metrics)."""
    text = httpx.get(f"{url}/metrics", timeout=30).text
    counted: Counter[int] = Counter()
    # A route label is a path template, braces and all: `{.*}` (greedy, to the last brace).
    for match in re.finditer(r"^nodedc_http_requests_total\{(.*)\} (\S+)$", text, re.M):
        status = re.search(r'(?:^|,)status="(\d+)"', match[1])
        assert status is not None, match[0]
        counted[int(status[1])] += int(float(match[2]))
    return counted


def test_schemathesis_finds_nothing(tmp_path: Path, figures: Figure) -> None:
    env = gateway_environment(tmp_path, create_postgres_database())
    info = demo(env, tmp_path)
    with serving(env, tmp_path) as gateway:
        known = known_ids(gateway.url, info)
        result = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{gateway.url}/schema/openapi.json",
                "--header",
                f"Authorization: Bearer {INTERNAL_TOKEN}",
                "--checks",
                "all",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--no-color",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "PYTHONPATH": str(ROOT),
                "SCHEMATHESIS_HOOKS": "tests.reliability.schemathesis_hooks",
                KNOWN_IDS_VARIABLE: json.dumps(known),
            },
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        served = _requests_by_status(gateway.url)
        server_log = gateway.output()

    report = result.stdout + result.stderr
    summary = [
        f"{heading} {', '.join(_section(report, heading))}"
        for heading in ("API Operations:", "Test cases:", "Failures:")
        if _section(report, heading)
    ]
    by_status = ", ".join(f"{n} x {status}" for status, n in sorted(served.items()))
    figures(f"fuzz: gateway answered {by_status}")
    server_errors = sum(n for status, n in served.items() if status >= 500)
    figures(
        f"fuzz: {sum(served.values())} requests answered, {server_errors} with a 5xx; "
        + ("; ".join(summary) or "schemathesis printed no summary")
    )
    assert result.returncode == 0, report[-30_000:]
    assert "Test cases:" in report
    assert sum(served.values()) > 0, served
    assert server_errors == 0, served
    assert "Traceback" not in server_log, server_log[-10_000:]  # no unhandled error either


def _section(report: str, heading: str) -> list[str]:
    """The indented lines under one heading of schemathesis's summary."""
    lines = report.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == heading]
    found: list[str] = []
    for line in lines[starts[-1] + 1 :] if starts else []:
        if not line.strip() or not line.startswith(" "):
            break
        found.append(line.strip())
    return found
