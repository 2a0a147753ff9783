"""What a card is made of: its checkers, its blocks as readers see them, and the parts
of the description (block sections and the foreign HTML between them)."""

from __future__ import annotations

import functools

import attrs

from nodedc_gateway.domain.cards.block_names import BlockName
from nodedc_gateway.domain.html_fragment import Fragment, parse_fragment
from nodedc_gateway.domain.readable_text import readable_text

DESCRIPTION_FIELD = "description_html"


@attrs.frozen
class Checker:
    """One checkbox of a card. `id_in_markup` says whether the id is written in the
    description (`data-id`) or derived from the text until the next checker write."""

    id: str
    text: str
    checked: bool
    block: BlockName
    id_in_markup: bool


@attrs.frozen
class Block:
    """A block as a reader sees it: its HTML, the same as readable text, its checkers."""

    name: BlockName
    html: str
    text: str
    checkers: tuple[Checker, ...]


@attrs.frozen
class ForeignSegment:
    """HTML the card does not own, kept byte for byte."""

    html: str


@attrs.frozen
class BlockSection:
    """A block in the description: its heading (as written) and the content after it."""

    name: BlockName
    level: int
    heading_html: str
    content_html: str

    @property
    def html(self) -> str:
        return self.heading_html + self.content_html

    @functools.cached_property
    def content(self) -> Fragment:
        """The content, parsed once per section (unchanged sections are shared by the
        cards an operation makes, so they are not parsed again)."""
        return parse_fragment(self.content_html, field=DESCRIPTION_FIELD)

    @functools.cached_property
    def text(self) -> str:
        """The content as readable text."""
        return readable_text(self.content, self.content.root.children)


Part = ForeignSegment | BlockSection
