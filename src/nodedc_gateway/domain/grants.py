"""Grants: which scopes an agent holds in a workspace or one of its projects.

A workspace-level grant is stored with `project_id = ""` and covers every project of the
workspace. Every change makes a new immutable `GrantVersion`; decisions name the version
they used.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.scopes import Scope, parse_grantable_scopes

#: `project_id` of a workspace-level grant.
WORKSPACE_LEVEL = ""


class GrantMode(StrEnum):
    VOLUNTARY = "voluntary"
    REPORTING = "reporting"


class GrantStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class GrantChange(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    REVOKED = "revoked"
    ACCESS_APPROVED = "access_approved"


def parse_mode(value: object, field: str = "mode") -> GrantMode:
    if value not in {m.value for m in GrantMode}:
        raise ValidationFailed.field(field, "must be 'voluntary' or 'reporting'")
    return GrantMode(str(value))


@attrs.frozen
class Target:
    """Where an operation acts. `project_id` is a canonical project UUID, or `""` for the
    workspace itself."""

    workspace_slug: str
    project_id: str = WORKSPACE_LEVEL

    def as_dict(self) -> dict[str, str | None]:
        return {"workspace_slug": self.workspace_slug, "project_id": self.project_id or None}


@attrs.frozen(order=True)
class GrantRef:
    """A grant and the version of it a decision used."""

    grant_id: str
    version: int

    def as_dict(self) -> dict[str, str | int]:
        return {"grant_id": self.grant_id, "version": self.version}


@attrs.frozen
class GrantVersion:
    """An immutable snapshot of a grant after one change."""

    grant_id: str
    agent_id: str
    version: int
    workspace_slug: str
    project_id: str
    scopes: frozenset[Scope]
    mode: GrantMode
    status: GrantStatus
    change: GrantChange
    changed_by_user_id: str
    changed_at: datetime
    note: str | None = None


@attrs.define
class Grant:
    id: str
    agent_id: str
    workspace_slug: str
    project_id: str
    scopes: frozenset[Scope]
    mode: GrantMode
    version: int
    status: GrantStatus
    created_by_user_id: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def create(
        cls,
        *,
        grant_id: str,
        agent_id: str,
        workspace_slug: object,
        project_id: str,
        scopes: Iterable[object],
        mode: object,
        by_user_id: str,
        now: datetime,
    ) -> tuple[Grant, GrantVersion]:
        """A new grant at version 1; scopes must be known and grantable."""
        if project_id != WORKSPACE_LEVEL and not validation.is_uuid(project_id):
            raise ValidationFailed.field("project_id", "must be a project UUID or omitted")
        grant = cls(
            id=grant_id,
            agent_id=agent_id,
            workspace_slug=validation.workspace_slug(workspace_slug),
            project_id=project_id.lower(),
            scopes=parse_grantable_scopes(scopes),
            mode=parse_mode(mode),
            version=1,
            status=GrantStatus.ACTIVE,
            created_by_user_id=by_user_id,
            created_at=now,
            updated_at=now,
        )
        return grant, grant.snapshot(GrantChange.CREATED, by_user_id, now)

    @property
    def is_workspace_level(self) -> bool:
        return self.project_id == WORKSPACE_LEVEL

    @property
    def is_active(self) -> bool:
        return self.status is GrantStatus.ACTIVE

    @property
    def ref(self) -> GrantRef:
        return GrantRef(self.id, self.version)

    def covers(self, target: Target) -> bool:
        """Same workspace, and the same project or a workspace-level grant (CONTRACT §3.5)."""
        return self.workspace_slug == target.workspace_slug and (
            self.project_id in (WORKSPACE_LEVEL, target.project_id)
        )

    def change(
        self,
        *,
        by_user_id: str,
        now: datetime,
        scopes: Iterable[object] | None = None,
        mode: object | None = None,
        change: GrantChange = GrantChange.UPDATED,
        note: str | None = None,
    ) -> GrantVersion:
        """Change scopes and/or mode as a new version; a no-op change still needs input."""
        self._require_active()
        if scopes is None and mode is None:
            raise ValidationFailed.field("scopes", "give new scopes, a new mode, or both")
        if scopes is not None:
            self.scopes = parse_grantable_scopes(scopes)
        if mode is not None:
            self.mode = parse_mode(mode)
        self.version += 1
        self.updated_at = now
        return self.snapshot(change, by_user_id, now, note)

    def add_scopes(
        self, scopes: Iterable[Scope], *, by_user_id: str, now: datetime, note: str | None
    ) -> GrantVersion:
        """Widen the grant (an approved access request) as a new version."""
        return self.change(
            by_user_id=by_user_id,
            now=now,
            scopes=sorted(self.scopes | frozenset(scopes)),
            change=GrantChange.ACCESS_APPROVED,
            note=note,
        )

    def revoke(self, *, by_user_id: str, now: datetime) -> GrantVersion:
        self._require_active()
        self.status = GrantStatus.REVOKED
        self.version += 1
        self.updated_at = now
        return self.snapshot(GrantChange.REVOKED, by_user_id, now)

    def snapshot(
        self, change: GrantChange, by_user_id: str, now: datetime, note: str | None = None
    ) -> GrantVersion:
        return GrantVersion(
            grant_id=self.id,
            agent_id=self.agent_id,
            version=self.version,
            workspace_slug=self.workspace_slug,
            project_id=self.project_id,
            scopes=self.scopes,
            mode=self.mode,
            status=self.status,
            change=change,
            changed_by_user_id=by_user_id,
            changed_at=now,
            note=note,
        )

    def _require_active(self) -> None:
        if not self.is_active:
            raise ValidationFailed.field("grant", "the grant is revoked and cannot change")
