"""Agents: the identities an owner creates for their coding agents, and their lifecycle."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from nodedc_gateway.domain import validation
from nodedc_gateway.domain.errors import NotFound, ValidationFailed

BOT_EMAIL_DOMAIN = "agents.nodedc.local"
MAX_DISPLAY_NAME = 100
#: A Tasker user id (an owner, an actor) as the gateway accepts it.
MAX_USER_ID = 128


class AgentStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    REVOKED = "revoked"


@attrs.define
class Agent:
    """An owner's agent. `active → disabled ↔ active`; any state → `revoked`, which is final."""

    id: str
    owner_user_id: str
    owner_email: str
    display_name: str
    avatar_url: str | None
    status: AgentStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def register(
        cls,
        *,
        agent_id: str,
        owner_user_id: str,
        owner_email: object,
        display_name: object,
        avatar_url: object | None,
        now: datetime,
    ) -> Agent:
        return cls(
            id=agent_id,
            owner_user_id=validation.text(owner_user_id, "owner_user_id", max_length=MAX_USER_ID),
            owner_email=validation.email(owner_email, "owner_email"),
            display_name=validation.text(display_name, "display_name", max_length=MAX_DISPLAY_NAME),
            avatar_url=None
            if avatar_url is None
            else validation.http_url(avatar_url, "avatar_url"),
            status=AgentStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )

    @property
    def is_active(self) -> bool:
        return self.status is AgentStatus.ACTIVE

    @property
    def bot_display_name(self) -> str:
        """How the agent appears on its writes in Tasker."""
        return f"Codex Agent: {self.display_name}"

    @property
    def bot_email(self) -> str:
        return f"agent+{self.id}@{BOT_EMAIL_DOMAIN}"

    def rename(self, display_name: object, now: datetime) -> None:
        self._require_not_revoked("display_name")
        self.display_name = validation.text(
            display_name, "display_name", max_length=MAX_DISPLAY_NAME
        )
        self.updated_at = now

    def disable(self, now: datetime) -> None:
        self._require_not_revoked("status")
        if self.status is not AgentStatus.DISABLED:
            self.status = AgentStatus.DISABLED
            self.updated_at = now

    def enable(self, now: datetime) -> None:
        self._require_not_revoked("status")
        if self.status is not AgentStatus.ACTIVE:
            self.status = AgentStatus.ACTIVE
            self.updated_at = now

    def revoke(self, now: datetime) -> None:
        """Revoke for good; revoking twice is a no-op."""
        if self.status is not AgentStatus.REVOKED:
            self.status = AgentStatus.REVOKED
            self.updated_at = now

    def set_status(self, status: object, now: datetime) -> None:
        """The `status` a human may PATCH: `active` or `disabled` (revoking has its own route)."""
        if status == AgentStatus.ACTIVE:
            self.enable(now)
        elif status == AgentStatus.DISABLED:
            self.disable(now)
        else:
            raise ValidationFailed.field(
                "status", "must be 'active' or 'disabled' (use the revoke route to revoke)"
            )

    def _require_not_revoked(self, field: str) -> None:
        if self.status is AgentStatus.REVOKED:
            raise ValidationFailed.field(field, "the agent is revoked for good and cannot change")


def owned_by(agent: Agent | None, owner_user_id: str) -> Agent:
    """The agent if it belongs to this owner. Anything else is the same 404: no oracle."""
    if agent is None or agent.owner_user_id != owner_user_id:
        raise NotFound("No such agent for this owner.")
    return agent
