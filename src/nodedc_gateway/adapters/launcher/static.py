"""Launcher from configuration: a fixed set of entitled users, or `*` for everyone (local)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

EVERYONE = "*"


class StaticLauncher:
    def __init__(self, entitled_user_ids: Iterable[str]) -> None:
        users = frozenset(u.strip() for u in entitled_user_ids if u.strip())
        self._everyone = EVERYONE in users
        self._users = users - {EVERYONE}
        self._withdrawn: frozenset[str] = frozenset()

    def __repr__(self) -> str:
        return f"StaticLauncher(everyone={self._everyone}, users={len(self._users)})"

    @property
    def allows_everyone(self) -> bool:
        return self._everyone

    async def is_entitled(self, owner_user_id: str) -> bool:
        if owner_user_id in self._withdrawn:
            return False
        return self._everyone or owner_user_id in self._users

    def set_entitled(self, owner_user_id: str, entitled: bool) -> None:
        """Change one user's answer at run time (tests, and the local demo)."""
        if entitled:
            self._users = self._users | {owner_user_id}
            self._withdrawn = self._withdrawn - {owner_user_id}
        else:
            self._users = self._users - {owner_user_id}
            self._withdrawn = self._withdrawn | {owner_user_id}

    async def check(self) -> None:
        return None


if TYPE_CHECKING:
    from nodedc_gateway.ports.launcher import LauncherPort

    _conforms: LauncherPort = StaticLauncher(())
