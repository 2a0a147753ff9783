"""Owner entitlement with the contract's caching: answers live 60 s; when Launcher is down,
the last answer holds for 5 minutes, then everything fails closed."""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from nodedc_gateway.domain.entitlement import (
    Entitlement,
    EntitlementObservation,
    entitlement_from,
    needs_refresh,
)
from nodedc_gateway.domain.errors import LauncherUnavailable, OwnerNotEntitled
from nodedc_gateway.ports.launcher import LauncherPort

MAX_CACHED_OWNERS = 10_000


class EntitlementService:
    def __init__(self, launcher: LauncherPort) -> None:
        self._launcher = launcher
        self._cache: OrderedDict[str, EntitlementObservation] = OrderedDict()

    async def entitlement(self, owner_user_id: str, now: datetime) -> Entitlement:
        observation = self._cache.get(owner_user_id)
        if needs_refresh(observation, now):
            try:
                entitled = await self._launcher.is_entitled(owner_user_id)
            except LauncherUnavailable:
                pass  # keep the last answer; the grace period decides
            else:
                observation = EntitlementObservation(owner_user_id, entitled, now)
                self._remember(observation)
        return entitlement_from(observation, now)

    async def require(self, owner_user_id: str, now: datetime) -> None:
        """For humans acting through the internal API: refuse unless entitled."""
        state = await self.entitlement(owner_user_id, now)
        if state is Entitlement.UNKNOWN:
            raise LauncherUnavailable()
        if state is Entitlement.NOT_ENTITLED:
            raise OwnerNotEntitled(
                "Launcher does not entitle this user to Codex agents (codex_agents on "
                "operational-core)."
            )

    def observe(self, owner_user_id: str, entitled: bool, now: datetime) -> None:
        """Record an answer pushed by Launcher (lifecycle), replacing any cached one."""
        self._remember(EntitlementObservation(owner_user_id, entitled, now))

    def forget(self, owner_user_id: str) -> None:
        """Drop the cached answer so the next check asks Launcher."""
        self._cache.pop(owner_user_id, None)

    def _remember(self, observation: EntitlementObservation) -> None:
        self._cache[observation.owner_user_id] = observation
        self._cache.move_to_end(observation.owner_user_id)
        while len(self._cache) > MAX_CACHED_OWNERS:
            self._cache.popitem(last=False)
