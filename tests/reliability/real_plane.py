"""The real Plane API server (`../shared/plane`, booted by its `boot.sh`), for the
reliability suite.

`boot.sh` is idempotent: if Plane is already up it only says READY again (about 10 s;
the first run ever installs and migrates for about 3 minutes). Outside CI a Plane that
cannot be booted skips these tests with the reason; under `CI` it fails them. A Plane this
session did not start is never stopped.

The Plane database is shared across runs (and with other people's runs), so nothing here
assumes an empty project: each run makes its own project (`R` + random hex) in workspace
`acme` through Plane's own API, with the labels and members the tests need. Those calls
go straight to Plane (admin set-up no agent route allows), never through the gateway.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
BOOT = REPO.parent / "shared" / "plane" / "boot.sh"
WORKSPACE = "acme"
BOOT_TIMEOUT_S = 1200  # the first run installs Plane's requirements and migrates
_READY = re.compile(r"^READY base=(?P<base>\S+) token=(?P<token>\S+) project=(?P<project>\S+)")


@attrs.frozen
class RealPlane:
    base: str  # http://127.0.0.1:8765
    token: str  # the technical user's X-API-Key
    wid_project: str  # the bootstrapped project "Widgets" (WID), shared by everyone
    started_here: bool

    def admin(self) -> httpx.AsyncClient:
        """Plane's API as its admin, for set-up only."""
        return httpx.AsyncClient(
            base_url=f"{self.base}/api/v1/", headers={"X-API-Key": self.token}, timeout=30
        )


def _unavailable(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set: a missing real Plane fails the run)")
    pytest.skip(message)


def _running() -> bool:
    status = subprocess.run(
        ["bash", str(BOOT), "status"], capture_output=True, text=True, timeout=60, check=False
    )
    return status.returncode == 0 and "server: not running" not in status.stdout


def boot() -> RealPlane:
    """Plane up (booted if need be), or skip/fail with the reason."""
    if not BOOT.is_file():
        _unavailable(f"the real Plane is not here: {BOOT} is missing")
    was_running = _running()
    try:
        done = subprocess.run(
            ["bash", str(BOOT), "start"],
            capture_output=True,
            text=True,
            timeout=BOOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        _unavailable(f"{BOOT} start did not finish in {BOOT_TIMEOUT_S} s")
        raise  # unreachable: skip/fail raise
    ready = next(
        (m for m in map(_READY.match, reversed(done.stdout.splitlines())) if m is not None), None
    )
    if done.returncode != 0 or ready is None:
        tail = [
            re.sub(r"token=\S+", "token=…", line)
            for line in (done.stdout + done.stderr).strip().splitlines()[-8:]
        ]
        _unavailable(f"{BOOT} could not boot Plane (exit {done.returncode}): {' | '.join(tail)}")
        raise AssertionError("unreachable")
    return RealPlane(ready["base"], ready["token"], ready["project"], not was_running)


def stop_if_started(plane: RealPlane) -> None:
    if plane.started_here:
        subprocess.run(["bash", str(BOOT), "stop"], capture_output=True, timeout=120, check=False)


@attrs.frozen
class RunProject:
    """This run's own project in `acme`, and who is who in Plane."""

    id: str
    identifier: str
    labels: dict[str, str]  # name -> id
    states: dict[str, str]  # name -> id
    people: dict[str, str]  # email -> user id (bob, carol, gus, admin)


def run_identifier() -> str:
    return "R" + uuid.uuid4().hex[:7].upper()


async def make_run_project(plane: RealPlane, identifier: str | None = None) -> RunProject:
    identifier = identifier or run_identifier()
    async with plane.admin() as admin:
        people = {
            str(m["email"]): str(m["id"])
            for m in _ok(await admin.get(f"workspaces/{WORKSPACE}/members/"))
        }
        project = _ok(
            await admin.post(
                f"workspaces/{WORKSPACE}/projects/",
                json={"name": f"Reliability {identifier}", "identifier": identifier},
            )
        )
        base = f"workspaces/{WORKSPACE}/projects/{project['id']}/"
        labels = {}
        for name in ("bug", "feature", "docs"):
            labels[name] = str(_ok(await admin.post(base + "labels/", json={"name": name}))["id"])
        _ok(
            await admin.post(
                base + "members/", json={"member": people["bob@acme.test"], "role": 15}
            )
        )
        states = {
            str(s["name"]): str(s["id"])
            for s in _ok(await admin.get(base + "states/", params={"per_page": 100}))["results"]
        }
    return RunProject(str(project["id"]), identifier, labels, states, people)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 201), (response.status_code, response.text[:300])
    return response.json()


class PlaneRequests:
    """Counts the requests that reach Plane (an httpx request hook on the gateway's client)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.count = 0

    async def hook(self, request: httpx.Request) -> None:
        if str(request.url).startswith(self.base):
            self.count += 1
