"""Card rules: a project's required blocks and size limits, checked on what agents write."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import attrs

from nodedc_gateway.domain.cards.block_names import BLOCK_ORDER, BlockName, parse_block_name
from nodedc_gateway.domain.cards.card import Card
from nodedc_gateway.domain.cards.limits import MAX_CHECKER_TEXT, MAX_CHECKERS_PER_CARD
from nodedc_gateway.domain.cards.parts import DESCRIPTION_FIELD
from nodedc_gateway.domain.errors import CardRuleViolation, ValidationFailed
from nodedc_gateway.domain.html_fragment import MAX_FRAGMENT_CHARS
from nodedc_gateway.domain.tasker import MAX_DESCRIPTION


class CardRule(StrEnum):
    REQUIRED_BLOCK = "required_block"
    BLOCK_LENGTH = "block_length"
    CHECKER_COUNT = "checker_count"
    CHECKER_LENGTH = "checker_length"
    DESCRIPTION_LENGTH = "description_length"


@attrs.frozen
class CardViolation:
    """One broken rule: which, about what (a block name, a checker id, `checkers`,
    `description_html`), the limit and what the card has."""

    rule: CardRule
    subject: str
    limit: int
    actual: int

    @property
    def message(self) -> str:
        if self.rule is CardRule.REQUIRED_BLOCK:
            return f"the block {self.subject!r} is required and must not be empty"
        if self.rule is CardRule.BLOCK_LENGTH:
            return (
                f"the block {self.subject!r} has {self.actual} characters of text; "
                f"at most {self.limit} are allowed"
            )
        if self.rule is CardRule.CHECKER_COUNT:
            return f"the card has {self.actual} checkers; at most {self.limit} are allowed"
        if self.rule is CardRule.CHECKER_LENGTH:
            return (
                f"the checker {self.subject!r} has {self.actual} characters; "
                f"at most {self.limit} are allowed"
            )
        return f"the description has {self.actual} characters; at most {self.limit} are allowed"

    def is_worse_than(self, earlier: CardViolation) -> bool:
        """Whether this is a step further from the rule than `earlier` (same rule and
        subject): a longer block, more checkers. A required block still missing is not."""
        return self.rule is not CardRule.REQUIRED_BLOCK and self.actual > earlier.actual


def _required(value: Iterable[object]) -> frozenset[BlockName]:
    return frozenset(parse_block_name(v, "card_rules.required_blocks") for v in value)


@attrs.frozen
class CardRules:
    """A project's card rules. Text lengths count a block's readable text (what a reader
    sees); the description limit counts its stored HTML."""

    required_blocks: frozenset[BlockName] = attrs.field(
        default=frozenset({BlockName.GOAL}), converter=_required
    )
    max_block_chars: int = 20_000
    max_checkers: int = 100
    max_checker_chars: int = 500
    max_description_chars: int = MAX_DESCRIPTION

    def __attrs_post_init__(self) -> None:
        for name, ceiling in (
            ("max_block_chars", MAX_FRAGMENT_CHARS),
            ("max_checkers", MAX_CHECKERS_PER_CARD),
            ("max_checker_chars", MAX_CHECKER_TEXT),
            ("max_description_chars", MAX_FRAGMENT_CHARS),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ceiling:
                raise ValidationFailed.field(
                    f"card_rules.{name}", f"must be a whole number from 1 to {ceiling}"
                )

    def violations(self, card: Card) -> tuple[CardViolation, ...]:
        """Every rule `card` breaks, in a stable order."""
        found: list[CardViolation] = []
        blocks = card.blocks
        for name in sorted(self.required_blocks, key=BLOCK_ORDER.__getitem__):
            block = blocks.get(name)
            if block is None or not block.text.strip():
                found.append(CardViolation(CardRule.REQUIRED_BLOCK, name.value, 1, 0))
        for block in blocks.values():
            if len(block.text) > self.max_block_chars:
                found.append(
                    CardViolation(
                        CardRule.BLOCK_LENGTH,
                        block.name.value,
                        self.max_block_chars,
                        len(block.text),
                    )
                )
        checkers = card.checkers
        if len(checkers) > self.max_checkers:
            found.append(
                CardViolation(CardRule.CHECKER_COUNT, "checkers", self.max_checkers, len(checkers))
            )
        found.extend(
            CardViolation(CardRule.CHECKER_LENGTH, c.id, self.max_checker_chars, len(c.text))
            for c in checkers
            if len(c.text) > self.max_checker_chars
        )
        size = len(card.render())
        if size > self.max_description_chars:
            found.append(
                CardViolation(
                    CardRule.DESCRIPTION_LENGTH, DESCRIPTION_FIELD, self.max_description_chars, size
                )
            )
        return tuple(found)

    def enforce(self, card: Card, *, before: Card | None = None) -> None:
        """Refuse a card an agent wrote with `CardRuleViolation` listing each violation.
        With `before` (the card as it was), only what the write broke or made worse
        counts: an agent can still tick a checker on an old card with no goal."""
        earlier = {(v.rule, v.subject): v for v in self.violations(before)} if before else {}
        new = [
            violation
            for violation in self.violations(card)
            if (violation.rule, violation.subject) not in earlier
            or violation.is_worse_than(earlier[(violation.rule, violation.subject)])
        ]
        if new:
            raise CardRuleViolation([violation.message for violation in new])


DEFAULT_CARD_RULES = CardRules()
