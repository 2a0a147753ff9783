"""Owner entitlement (CONTRACT §3.3): Launcher's `codex_agents` on `operational-core`.

An answer is trusted for 60 s. When Launcher cannot be reached, the last answer holds for a
5-minute grace period from when it was given; after that the gateway fails closed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

import attrs

ENTITLEMENT_TTL = timedelta(seconds=60)
LAUNCHER_GRACE = timedelta(minutes=5)
LAUNCHER_SERVICE = "operational-core"
LAUNCHER_MODULE = "codex_agents"


class Entitlement(StrEnum):
    ENTITLED = "entitled"
    NOT_ENTITLED = "not_entitled"
    UNKNOWN = "unknown"  # Launcher unreachable past the grace period: fail closed


@attrs.frozen
class EntitlementObservation:
    """What Launcher last said about an owner, and when."""

    owner_user_id: str
    entitled: bool
    observed_at: datetime

    def is_fresh(self, now: datetime) -> bool:
        return now - self.observed_at < ENTITLEMENT_TTL

    def within_grace(self, now: datetime) -> bool:
        return now - self.observed_at < LAUNCHER_GRACE


def needs_refresh(observation: EntitlementObservation | None, now: datetime) -> bool:
    return observation is None or not observation.is_fresh(now)


def entitlement_from(observation: EntitlementObservation | None, now: datetime) -> Entitlement:
    """The entitlement to act on, given the latest successful observation (if any).

    Callers refresh first when `needs_refresh`; if Launcher failed, they pass the old
    observation and this decides whether the grace period still covers it.
    """
    if observation is None or not observation.within_grace(now):
        return Entitlement.UNKNOWN
    return Entitlement.ENTITLED if observation.entitled else Entitlement.NOT_ENTITLED
