"""Launcher's push of an owner's status onto all of that owner's agents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nodedc_gateway.application.agents import revoke_for_good
from nodedc_gateway.application.arguments import Arguments
from nodedc_gateway.application.ownership import (
    ManagementDeps,
)
from nodedc_gateway.application.pipeline import AuditNote, OwnerAction, OwnerCall
from nodedc_gateway.application.results import (
    LifecycleApplied,
)
from nodedc_gateway.domain.agents import Agent, AgentStatus
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.operations import CATALOGUE
from nodedc_gateway.ports.unit_of_work import UnitOfWork

LIFECYCLE_BATCH = 500


class OwnerLifecycle(OwnerAction[LifecycleApplied]):
    """`suspended` disables every agent of the owner; `deleted` revokes them and their
    tokens for good; `active` lets Launcher be asked afresh (agents stay as they are)."""

    operation = CATALOGUE["owner_lifecycle"]

    def __init__(self, deps: ManagementDeps, body: Mapping[str, Any] | None) -> None:
        self.deps = deps
        self.args = Arguments(body, ("status",))
        self.status = self.args.get("status")
        if self.status not in ("active", "suspended", "deleted"):
            raise ValidationFailed.field("status", "must be 'active', 'suspended' or 'deleted'")
        self.changed: list[Agent] = []

    def arguments(self) -> Mapping[str, Any]:
        return self.args.raw

    async def perform(self, uow: UnitOfWork, call: OwnerCall) -> LifecycleApplied:
        tokens = 0
        cursor: str | None = None
        while True:
            batch = await uow.agents.list_by_owner(
                call.owner_user_id, limit=LIFECYCLE_BATCH, after_id=cursor
            )
            for agent in batch:
                if self.status == "suspended" and agent.is_active:
                    agent.disable(call.now)
                    await uow.agents.save(agent)
                    self.changed.append(agent)
                elif self.status == "deleted" and agent.status is not AgentStatus.REVOKED:
                    tokens += await revoke_for_good(uow, agent, call.now)
                    self.changed.append(agent)
            if len(batch) < LIFECYCLE_BATCH:
                break
            cursor = batch[-1].id
        if self.status == "active":
            self.deps.entitlements.forget(call.owner_user_id)
        else:
            self.deps.entitlements.observe(call.owner_user_id, False, call.now)
        return LifecycleApplied(
            call.owner_user_id, str(self.status), tuple(a.id for a in self.changed), tokens
        )

    def audit(self, result: LifecycleApplied) -> Sequence[AuditNote]:
        event = f"owner.{result.status}"
        if not self.changed:
            return [AuditNote(event, None, {"agents_changed": 0})]
        return [AuditNote(event, agent.id, {"status": str(agent.status)}) for agent in self.changed]
