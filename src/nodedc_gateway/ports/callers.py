"""Who is calling: an agent token, its agent and the agent's active grants, read together.

Every agent call needs all three before anything else happens, and nothing else about
them, so they are one read port of their own rather than three repository reads inside a
transaction (which would cost a BEGIN and a ROLLBACK around them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from nodedc_gateway.domain.agents import Agent
from nodedc_gateway.domain.grants import Grant
from nodedc_gateway.domain.tokens import AgentToken


@attrs.frozen
class CallerRecord:
    """A stored token as found, whatever its status: deciding is the caller's job."""

    token: AgentToken
    agent: Agent
    grants: tuple[Grant, ...]  # the agent's active grants, in id order


class CallerLookup(Protocol):
    async def find(self, token_hashes: Sequence[str]) -> CallerRecord | None:
        """The token stored under one of these hashes (earlier hashes win), its agent
        and the agent's active grants, as one consistent read of committed state that is
        part of no transaction; None when no token has any of these hashes."""
        ...
