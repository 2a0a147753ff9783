"""Markdown to safe HTML. Raw HTML in the input is escaped, never passed to Tasker."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any


class MarkdownRenderer:
    """CommonMark with tables and strikethrough; HTML disabled, unsafe link schemes
    (javascript:, vbscript:, file:, data:) refused by markdown-it's link validation."""

    def __init__(self) -> None:
        self._md: Any = None  # built on first use: a gateway that renders none never loads it

    def to_html(self, markdown: str) -> str:
        if self._md is None:
            from markdown_it import MarkdownIt

            self._md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
                ["table", "strikethrough"]
            )
        rendered: str = self._md.render(markdown)
        return rendered.strip()


class PlainTextRenderer:
    """No Markdown at all: each paragraph escaped into a `<p>`."""

    def to_html(self, markdown: str) -> str:
        paragraphs = [p.strip() for p in markdown.replace("\r\n", "\n").split("\n\n")]
        return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs if p)


if TYPE_CHECKING:
    from nodedc_gateway.ports.markup import MarkupRenderer

    _conforms: MarkupRenderer = MarkdownRenderer()
    _plain: MarkupRenderer = PlainTextRenderer()
