"""Agents write Markdown; Tasker stores HTML. Conversion must never pass raw HTML through."""

from __future__ import annotations

from typing import Protocol


class MarkupRenderer(Protocol):
    def to_html(self, markdown: str) -> str:
        """Safe HTML for Markdown text: any HTML in the input is escaped, not rendered."""
        ...
