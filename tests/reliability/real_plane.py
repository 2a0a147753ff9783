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
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import attrs
import httpx
import pytest

from nodedc_gateway.adapters.clock import FixedClock
from nodedc_gateway.adapters.tasker.plane import PlaneTasker
from nodedc_gateway.adapters.tasker.seed import DemoTasker, SandboxAdmin
from nodedc_gateway.domain.secret import SecretStr
from nodedc_gateway.domain.tasker import Label, Member, Project, State, StateGroup
from tests.contracts.tasker_backends import TaskerUnderTest

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


async def make_run_project(
    plane: RealPlane, *, members: tuple[str, ...] = ("bob@acme.test",)
) -> RunProject:
    """A new project in `acme` (Plane gives it its five default states), with labels
    `bug`, `feature`, `docs` and `members` as project members (role 15)."""
    identifier = run_identifier()
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
        for email in members:
            _ok(await admin.post(base + "members/", json={"member": people[email], "role": 15}))
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


@pytest.fixture(scope="session")
def plane() -> Iterator[RealPlane]:
    """The real Plane, booted if need be (skip or, under CI, fail when it cannot be)."""
    real = boot()
    yield real
    stop_if_started(real)


#: Who plays the contract suite's people on the real Plane, whose users are fixed:
#: alice and bob are project members, carol only a workspace member (a guest there).
CONTRACT_PEOPLE = {"alice": "bob@acme.test", "bob": "carol@acme.test", "carol": "gus@acme.test"}


@attrs.define
class _Policies:
    """The gateway-side configuration a `PlaneTasker` reads (Plane has no such flag)."""

    workspaces: dict[str, bool]

    async def set_workspace_policy(self, slug: str, *, agents_allowed: bool) -> None:
        self.workspaces[slug] = agents_allowed


@asynccontextmanager
async def real_plane_backend(plane: RealPlane) -> AsyncIterator[TaskerUnderTest]:
    """The contract suite's backend on the real Plane: a new project per test (keys start
    at 1 there), in workspace `acme`; `other` is a workspace the gateway is not set up for."""
    made = await make_run_project(plane, members=("bob@acme.test", "carol@acme.test"))
    people = {
        role: Member(made.people[email], email.split("@")[0].title(), email)
        for role, email in CONTRACT_PEOPLE.items()
    }
    groups = {g.value: g for g in StateGroup}
    names = {"Backlog": "backlog", "Todo": "unstarted", "In Progress": "started"}
    names |= {"Done": "completed", "Cancelled": "cancelled"}
    demo = DemoTasker(
        WORKSPACE,
        Project(made.id, WORKSPACE, made.identifier, f"Reliability {made.identifier}"),
        Project(str(uuid.uuid4()), "other", "OTH", "Other project"),
        people["alice"],
        people["bob"],
        people["carol"],
        tuple(State(made.states[n], n, groups[g]) for n, g in names.items()),
        tuple(Label(made.labels[n], n) for n in ("bug", "feature", "docs")),
    )
    policies = _Policies({WORKSPACE: True})
    async with httpx.AsyncClient(timeout=30) as client:
        port = PlaneTasker(
            base_url=plane.base,
            api_key=SecretStr(plane.token),
            workspaces=policies.workspaces,
            client=client,
            page_size=2,  # every list spans several pages
        )
        yield TaskerUnderTest(
            port,
            demo,
            cast(SandboxAdmin, policies),  # only set_workspace_policy is used on a port
            FixedClock(),
            ws=WORKSPACE,
            other_ws="other",
            shared=True,
        )
