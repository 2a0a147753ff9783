"""The named blocks of a card, and how a heading's text is read as one of them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum

from nodedc_gateway.domain.errors import ValidationFailed

_MAX_TITLE_CHARS = 80
_WORDS = re.compile(r"\w+")


class BlockName(StrEnum):
    """The named blocks of a card, in the order a new card shows them."""

    GOAL = "goal"
    CONTEXT = "context"
    PLAN = "plan"
    ACCEPTANCE = "acceptance"
    IMPLEMENTATION_NOTES = "implementation_notes"
    RISKS = "risks"
    LINKS = "links"

    @property
    def heading_text(self) -> str:
        """The heading text the gateway writes for this block."""
        return BLOCK_TITLES[self]


BLOCK_TITLES: Mapping[BlockName, str] = {
    BlockName.GOAL: "Goal",
    BlockName.CONTEXT: "Context",
    BlockName.PLAN: "Plan",
    BlockName.ACCEPTANCE: "Acceptance criteria",
    BlockName.IMPLEMENTATION_NOTES: "Implementation notes",
    BlockName.RISKS: "Risks",
    BlockName.LINKS: "Links",
}
BLOCK_ORDER = {name: index for index, name in enumerate(BlockName)}
_NAMES = frozenset(name.value for name in BlockName)


def _title_key(text: str) -> str:
    """A heading's text reduced to its words: case, emoji, punctuation and a leading
    number (`1. Goal:`) do not matter."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("_", " ")
    words = _WORDS.findall(folded)
    while words and words[0].isdigit():
        words.pop(0)
    return " ".join(words)


_SPELLINGS: Mapping[str, BlockName] = {
    **{_title_key(title): name for name, title in BLOCK_TITLES.items()},
    **{_title_key(name.value): name for name in BlockName},
}


def block_named(heading_text: str) -> BlockName | None:
    """The block a heading with this text introduces, if any."""
    if len(heading_text) > _MAX_TITLE_CHARS:
        return None
    return _SPELLINGS.get(_title_key(heading_text))


def parse_block_name(value: object, field: str = "blocks") -> BlockName:
    """A block name as an agent gives it; `ValidationFailed` lists the valid ones."""
    if isinstance(value, str) and value in _NAMES:
        return BlockName(value)
    raise ValidationFailed.choice(field, str(value), "block", (n.value for n in BlockName))
