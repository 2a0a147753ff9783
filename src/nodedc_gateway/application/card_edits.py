"""Cards as agents write them: Markdown in, card blocks out. Shared by `create_issue(card=…)`,
`update_card`, `update_checkers`, `report_progress(check=…)` and `update_issue`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodedc_gateway.domain.cards import (
    MAX_CHECKERS_PER_CALL,
    BlockSection,
    Card,
    parse_block_name,
    parse_card,
)
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.tasker import MAX_DESCRIPTION
from nodedc_gateway.ports.markup import MarkupRenderer

CHECKERS = "checkers"


def blocks_html(markup: MarkupRenderer, blocks: object, field: str = "blocks") -> dict[str, str]:
    """`{block name: Markdown}` as `{block name: safe HTML}`; unknown names are refused
    with the valid ones listed."""
    if not isinstance(blocks, Mapping):
        raise ValidationFailed.field(field, "must be an object: block name → Markdown")
    converted: dict[str, str] = {}
    for name, markdown in blocks.items():
        block = parse_block_name(name, f"{field}.{name}")
        if not isinstance(markdown, str):
            raise ValidationFailed.field(f"{field}.{name}", "must be Markdown text")
        if len(markdown) > MAX_DESCRIPTION:
            raise ValidationFailed.field(f"{field}.{name}", f"at most {MAX_DESCRIPTION} characters")
        converted[block.value] = markup.to_html(markdown)
    return converted


def card_argument(markup: MarkupRenderer, card: object) -> tuple[dict[str, str], list[Any]]:
    """`create_issue`'s `card`: blocks by name plus `checkers` (a list of texts)."""
    if not isinstance(card, Mapping):
        raise ValidationFailed.field("card", "must be an object: block name → Markdown, checkers")
    checkers = card.get(CHECKERS) or []
    if not isinstance(checkers, list) or len(checkers) > MAX_CHECKERS_PER_CALL:
        raise ValidationFailed.field(
            "card.checkers", f"must be a list of at most {MAX_CHECKERS_PER_CALL} texts"
        )
    blocks = {name: value for name, value in card.items() if name != CHECKERS}
    return blocks_html(markup, blocks, "card"), checkers


def readable_card(description_html: str) -> Card | None:
    """The card in a description, or None when it is beyond what the parser accepts (the
    issue still reads; only its card does not)."""
    try:
        return parse_card(description_html)
    except ValidationFailed:
        return None


def with_blocks_kept(current_html: str, new_html: str) -> str:
    """A new free-text description that keeps the card's blocks (notes included): an agent
    that may update the issue may not wipe the card through its description."""
    card = readable_card(current_html)
    if card is None or not card.blocks:
        return new_html
    sections = "".join(part.html for part in card.parts if isinstance(part, BlockSection))
    return new_html + sections
