"""Turning use-case results into the JSON shapes of CONTRACT §12 is the edge's job."""

from __future__ import annotations

from typing import Any, Protocol


class ResultPresenter(Protocol):
    def present(self, result: object) -> dict[str, Any]:
        """The JSON body for a use case's result (what transports show and replays repeat)."""
        ...
