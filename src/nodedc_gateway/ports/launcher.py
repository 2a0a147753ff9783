"""Launcher: decides whether an owner may use Codex agents at all."""

from __future__ import annotations

from typing import Protocol


class LauncherPort(Protocol):
    async def is_entitled(self, owner_user_id: str) -> bool:
        """Whether Launcher grants `codex_agents` on `operational-core` to this user.

        Raises `LauncherUnavailable` when Launcher cannot answer.
        """
        ...

    async def check(self) -> None:
        """Readiness: raises `LauncherUnavailable` when Launcher cannot be reached."""
        ...
