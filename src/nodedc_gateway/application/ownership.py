"""What every internal-API use case shares (CONTRACT §5): its dependencies, the page size
and the owner check.

Each use case is an `OwnerAction`: ownership is checked inside its transaction (another
owner's agent is a 404, never a 403), and every mutation writes its audit event in that
same transaction.
"""

from __future__ import annotations

import attrs

from nodedc_gateway.application.entitlements import EntitlementService
from nodedc_gateway.application.pipeline import OwnerCall
from nodedc_gateway.domain.agents import Agent, owned_by
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.ids import IdGenerator, SecretGenerator
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

MAX_PAGE = 100
DEFAULT_PAGE = 50


@attrs.frozen
class ManagementDeps:
    tasker: TaskerPort
    entitlements: EntitlementService
    ids: IdGenerator
    secrets: SecretGenerator
    hasher: SecretHasher
    clock: Clock
    mcp_url: str
    uow: UnitOfWorkFactory


def page_limit(value: object) -> int:
    if value is None:
        return DEFAULT_PAGE
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE:
        raise ValidationFailed.field("limit", f"must be a whole number from 1 to {MAX_PAGE}")
    return value


async def owned_agent(uow: UnitOfWork, call: OwnerCall, agent_id: str) -> Agent:
    return owned_by(await uow.agents.get(agent_id), call.owner_user_id)
