"""Fetching an OAuth Client ID Metadata Document (the client_id is its https URL)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ClientDocumentUnavailable(Exception):
    """The document could not be fetched safely; the message says why (never a secret)."""


class ClientDocumentFetcher(Protocol):
    async def fetch(self, url: str) -> Mapping[str, Any]:
        """The JSON object at `url`, fetched under the fetcher's safety rules, or
        `ClientDocumentUnavailable`."""
        ...
