"""Ports: the Protocols the application needs and the adapters implement."""

from nodedc_gateway.ports.audit import AuditLog, AuditQuery
from nodedc_gateway.ports.callers import CallerLookup, CallerRecord
from nodedc_gateway.ports.clock import Clock
from nodedc_gateway.ports.hashing import SecretHasher
from nodedc_gateway.ports.ids import IdGenerator, SecretGenerator
from nodedc_gateway.ports.launcher import LauncherPort
from nodedc_gateway.ports.ratelimit import RateLimitStore
from nodedc_gateway.ports.repositories import (
    AgentRepository,
    GrantRepository,
    IdempotencyStore,
    PairingCodeRepository,
    TokenRepository,
)
from nodedc_gateway.ports.tasker import TaskerPort
from nodedc_gateway.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AgentRepository",
    "AuditLog",
    "AuditQuery",
    "CallerLookup",
    "CallerRecord",
    "Clock",
    "GrantRepository",
    "IdGenerator",
    "IdempotencyStore",
    "LauncherPort",
    "PairingCodeRepository",
    "RateLimitStore",
    "SecretGenerator",
    "SecretHasher",
    "TaskerPort",
    "TokenRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
]
