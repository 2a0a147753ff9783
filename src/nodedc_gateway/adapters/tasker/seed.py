"""Seeding a sandbox Tasker with the demo data of CONTRACT §11, idempotently.

Only sandbox backends offer `SandboxAdmin`: creating workspaces, projects, states and
members is something no agent (and no Tasker port method) can ever do.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from nodedc_gateway.domain.tasker import Label, Member, Project, State, StateGroup


class SandboxAdmin(Protocol):
    async def ensure_workspace(
        self, slug: str, name: str, *, agents_allowed: bool = True
    ) -> None: ...

    async def set_workspace_policy(self, slug: str, *, agents_allowed: bool) -> None: ...

    async def ensure_workspace_member(self, slug: str, email: str, display_name: str) -> Member: ...

    async def ensure_project(self, slug: str, identifier: str, name: str) -> Project: ...

    async def ensure_state(self, project_id: str, name: str, group: StateGroup) -> State: ...

    async def ensure_label(self, project_id: str, name: str) -> Label: ...

    async def ensure_project_member(self, project_id: str, user_id: str) -> None: ...


DEMO_WORKSPACE = "demo"
OTHER_WORKSPACE = "other"
DEMO_STATES = (
    ("Backlog", StateGroup.BACKLOG),
    ("Todo", StateGroup.UNSTARTED),
    ("In Progress", StateGroup.STARTED),
    ("Done", StateGroup.COMPLETED),
    ("Cancelled", StateGroup.CANCELLED),
)
DEMO_LABELS = ("bug", "feature", "docs")


@attrs.frozen
class DemoTasker:
    """What `seed_demo` made, by name."""

    workspace_slug: str
    project: Project
    other_project: Project
    alice: Member
    bob: Member
    carol: Member
    states: tuple[State, ...]
    labels: tuple[Label, ...]


async def seed_demo(admin: SandboxAdmin) -> DemoTasker:
    await admin.ensure_workspace(DEMO_WORKSPACE, "Demo")
    alice = await admin.ensure_workspace_member(DEMO_WORKSPACE, "alice@demo.local", "Alice")
    bob = await admin.ensure_workspace_member(DEMO_WORKSPACE, "bob@demo.local", "Bob")
    carol = await admin.ensure_workspace_member(DEMO_WORKSPACE, "carol@demo.local", "Carol")
    project = await admin.ensure_project(DEMO_WORKSPACE, "DEMO", "Demo project")
    states = tuple(
        [await admin.ensure_state(project.id, name, group) for name, group in DEMO_STATES]
    )
    labels = tuple([await admin.ensure_label(project.id, name) for name in DEMO_LABELS])
    for member in (alice, bob):
        await admin.ensure_project_member(project.id, member.id)

    await admin.ensure_workspace(OTHER_WORKSPACE, "Other")
    other_alice = await admin.ensure_workspace_member(OTHER_WORKSPACE, "alice@demo.local", "Alice")
    other = await admin.ensure_project(OTHER_WORKSPACE, "OTH", "Other project")
    for name, group in DEMO_STATES:
        await admin.ensure_state(other.id, name, group)
    await admin.ensure_project_member(other.id, other_alice.id)
    return DemoTasker(DEMO_WORKSPACE, project, other, alice, bob, carol, states, labels)
