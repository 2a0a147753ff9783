"""Task cards: named blocks and checkers inside an issue's `description_html`.

A card is the issue description, read as a sequence of parts: **blocks** the gateway
understands (`goal`, `context`, `plan`, `acceptance`, `implementation_notes`, `risks`,
`links`) and **foreign** HTML it never touches. Humans keep editing the card in Tasker's
editor (Plane's, built on tiptap/ProseMirror); agents change only the blocks they name.

Markup, and why
---------------
- A block is a **heading** whose text is the block's title (`<h2>Goal</h2>`), followed by
  everything up to the next heading of the same or a higher rank (as in any document
  outline), or the end. Plane's editor keeps headings h1–h6 with their text, but drops
  unknown elements and attributes, and its server sanitizer (nh3) drops comments and
  unlisted `data-*` attributes: a marker comment or a `data-block` attribute would vanish
  the first time a human saves. A heading is also what a human sees and understands.
  Reading is tolerant of what an editor does to it: any level (h1–h6), attributes (Plane
  adds `class` and `data-id`), case, surrounding spaces, emoji, a trailing colon or a
  leading number (`1. Goal:`), and the aliases in `BLOCK_TITLES`/`_SPELLINGS`. Blocks are
  found among the top-level elements, or inside one wrapping bare `<div>` (Plane's REST
  API re-serializes multi-element HTML with lxml, which wraps it so). A second heading
  for a block already seen is foreign text.
- **Checkers** are Plane's native task list, exactly what its editor writes:
  `<ul data-type="taskList"><li data-type="taskItem" data-checked="false" data-id="…">
  <label><input type="checkbox"><span></span></label><div><p>text</p></div></li></ul>`.
  The items of a block's top-level task lists (and the task lists nested in them) are
  that block's checkers; `add` puts new ones in `acceptance` unless told otherwise.
  Task lists in foreign HTML are not checkers: they are not the card's.
- A **checker id** lives in the item's `data-id`. Plane's editor gives every block node,
  task items included, a `data-id` (its UniqueID extension) and keeps an existing one, and
  the sanitizer allows it, so an id written once survives human edits. An item with no
  usable `data-id` (written by an older editor, or a duplicate after a copy-paste) gets a
  deterministic id from its text and how many items before it say the same
  (`chk-` + 16 hex digits of SHA-256): stable across checking, unchecking, re-rendering,
  and edits of other checkers, but it changes when its own text is edited. Every write
  through `update_checkers` pins such ids into the markup, so from then on they survive
  text edits too. New checkers get their id the same way, so an editor that drops
  `data-id` still derives the same id for them. No clock and no randomness are involved.

Everything outside the blocks is kept byte for byte: `parse_card(html).render() == html`
for every string, and operations only replace, extend or insert blocks. The one repair:
if the description ends with elements left open and a block is added after them, their
end tags are added first, or the new block would be swallowed by them. (A tag or comment
cut off at the very end, which HTML parsers drop, stays the last bytes, in `suffix`.)

Block content is HTML (the application turns the agent's Markdown into safe HTML first);
`Block.text` is the same content as Markdown-like text, so an agent reads back what it
wrote. Writes check that HTML against a small allow-list, close what it leaves open, and
move its headings below the block's own heading so the card's outline stays the same.
`implementation_notes` only grows: `append_notes` adds to it, and nothing here can
replace or shorten it (so checkers a person put there are read-only for agents, and
agents cannot add checkers there). Card rules (`CardRules`) are a project's data:
required blocks and size limits, enforced on what agents write.
"""

from nodedc_gateway.domain.cards.block_names import BlockName, parse_block_name
from nodedc_gateway.domain.cards.card import Card, new_card, parse_card
from nodedc_gateway.domain.cards.limits import (
    MAX_CHECKER_TEXT,
    MAX_CHECKERS_PER_CALL,
    MAX_CHECKERS_PER_CARD,
)
from nodedc_gateway.domain.cards.parts import Block, BlockSection, Checker
from nodedc_gateway.domain.cards.rules import (
    DEFAULT_CARD_RULES,
    CardRule,
    CardRules,
    CardViolation,
)

__all__ = [
    "DEFAULT_CARD_RULES",
    "MAX_CHECKERS_PER_CALL",
    "MAX_CHECKERS_PER_CARD",
    "MAX_CHECKER_TEXT",
    "Block",
    "BlockName",
    "BlockSection",
    "Card",
    "CardRule",
    "CardRules",
    "CardViolation",
    "Checker",
    "new_card",
    "parse_block_name",
    "parse_card",
]
