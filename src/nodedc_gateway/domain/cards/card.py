"""The card: an issue description read as blocks and foreign HTML, and what agents do
to it (write blocks, append notes, check, uncheck and add checkers)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence

import attrs

from nodedc_gateway.domain.cards.block_content import block_html
from nodedc_gateway.domain.cards.block_names import BLOCK_ORDER, BlockName, parse_block_name
from nodedc_gateway.domain.cards.checker_input import checker_ids, checker_texts
from nodedc_gateway.domain.cards.parts import (
    DESCRIPTION_FIELD,
    Block,
    BlockSection,
    Checker,
    ForeignSegment,
    Part,
)
from nodedc_gateway.domain.cards.reading import (
    Reading,
    block_container,
    new_checker_ids,
    read_checkers,
    split_parts,
)
from nodedc_gateway.domain.cards.writing import (
    block_heading,
    check_edits,
    closed_part,
    completed_content,
    new_item,
    note_html,
    spliced,
    task_list,
    task_lists_of,
    with_content,
    with_items_added,
)
from nodedc_gateway.domain.errors import ValidationFailed
from nodedc_gateway.domain.html_fragment import parse_fragment, start_tag, with_attribute

#: The heading level of blocks the gateway adds when the card has none to follow.
DEFAULT_HEADING_LEVEL = 2
_NOTES = BlockName.IMPLEMENTATION_NOTES


@attrs.frozen
class Card:
    """An issue description read as a card: `prefix` and `suffix` are foreign HTML around
    the part that can hold blocks (a wrapping `<div>`'s tags, say); `parts` alternate
    between foreign segments and block sections. Build it with `parse_card` or `new_card`.
    """

    prefix: str
    parts: tuple[Part, ...]
    suffix: str

    def render(self) -> str:
        """The description HTML to store."""
        return self.prefix + "".join(part.html for part in self.parts) + self.suffix

    @property
    def foreign(self) -> tuple[str, ...]:
        """Every foreign segment, in order: what no card operation may change."""
        segments = [self.prefix, *(p.html for p in self.parts if isinstance(p, ForeignSegment))]
        return tuple(segment for segment in [*segments, self.suffix] if segment)

    @property
    def blocks(self) -> Mapping[BlockName, Block]:
        """The card's blocks by name, in the order they appear."""
        return self._blocks

    @property
    def checkers(self) -> tuple[Checker, ...]:
        """Every checker of every block, in the order they appear."""
        return self._reading.checkers

    def block(self, name: BlockName) -> Block | None:
        return self._blocks.get(name)

    # Writing blocks

    def write_blocks(self, blocks: Mapping[str, str]) -> Card:
        """What an agent's `update_card` does: each named block gets the given HTML;
        `implementation_notes` is appended to, never replaced. Unknown names are
        `ValidationFailed` listing the valid ones."""
        if not isinstance(blocks, Mapping) or not blocks:
            raise ValidationFailed.field("blocks", "give at least one block: name → content")
        named = {parse_block_name(key, f"blocks.{key}"): value for key, value in blocks.items()}
        card = self
        for name in sorted(named, key=BLOCK_ORDER.__getitem__):
            if name is BlockName.IMPLEMENTATION_NOTES:
                card = card.append_notes(named[name])
            else:
                card = card.with_block(name, named[name])
        return card

    def with_block(self, name: BlockName, html: str) -> Card:
        """The card with block `name` holding `html` (added where the block order puts it
        if absent). The block's checkers stay; its other content is replaced. The notes
        block is append-only and refused here."""
        field = f"blocks.{name.value}"
        if name is BlockName.IMPLEMENTATION_NOTES:
            raise ValidationFailed.field(field, "is append-only: add to it, never replace it")
        index = self._index_of(name)
        if index is None:
            where, level = self._insertion_point(name)
            section = BlockSection(name, level, block_heading(name, level), "")
            return self._inserted(where, with_content(section, block_html(html, level, field)))
        section = self._section(index)
        content = block_html(html, section.level, field) + task_lists_of(section.content_html)
        return self._replaced(index, with_content(section, content))

    def append_notes(self, html: str) -> Card:
        """The card with `html` added at the end of `implementation_notes`: what was there
        stays, unchanged, as the start of the new notes."""
        name = BlockName.IMPLEMENTATION_NOTES
        index = self._index_of(name)
        if index is None:
            where, level = self._insertion_point(name)
            section = BlockSection(name, level, block_heading(name, level), note_html(html, level))
            return self._inserted(where, section)
        section = self._section(index)
        notes = completed_content(section) + note_html(html, section.level)
        return self._replaced(index, with_content(section, notes))

    # Checkers

    def update_checkers(
        self,
        *,
        check: Iterable[object] = (),
        uncheck: Iterable[object] = (),
        add: Iterable[object] = (),
        block: BlockName = BlockName.ACCEPTANCE,
    ) -> Card:
        """What an agent's `update_checkers` does: check and uncheck checkers by id, write
        every derived id into the markup so it no longer depends on the text, then add
        unchecked ones by text to `block`, each with an id no checker of the card has
        (`new_checker_ids`). Unknown ids are `ValidationFailed` listing the valid ones.
        Checkers a person put in `implementation_notes` are read-only here: agents only
        ever append to that block."""
        to_check = checker_ids(check, "check")
        to_uncheck = checker_ids(uncheck, "uncheck")
        texts = checker_texts(add, "add")
        if not (to_check or to_uncheck or texts):
            raise ValidationFailed.field("check", "give at least one of check, uncheck or add")
        both = sorted(set(to_check) & set(to_uncheck))
        if both:
            raise ValidationFailed.field("uncheck", f"also asked to be checked: {', '.join(both)}")
        states = dict.fromkeys(to_check, True) | dict.fromkeys(to_uncheck, False)
        return self._with_states(states)._with_ids_pinned()._with_new_checkers(texts, block)

    def check(self, ids: Iterable[object]) -> Card:
        return self.update_checkers(check=ids)

    def uncheck(self, ids: Iterable[object]) -> Card:
        return self.update_checkers(uncheck=ids)

    def add_checkers(
        self, texts: Iterable[object], block: BlockName = BlockName.ACCEPTANCE
    ) -> Card:
        return self.update_checkers(add=texts, block=block)

    # Internals

    @functools.cached_property
    def _reading(self) -> Reading:
        return read_checkers(self.parts)

    @functools.cached_property
    def _blocks(self) -> Mapping[BlockName, Block]:
        by_block = self._reading.checkers_by_block
        return {
            part.name: Block(part.name, part.content_html, part.text, by_block[part.name])
            for part in self.parts
            if isinstance(part, BlockSection)
        }

    def _index_of(self, name: BlockName) -> int | None:
        return next(
            (i for i, p in enumerate(self.parts) if isinstance(p, BlockSection) and p.name == name),
            None,
        )

    def _section(self, index: int) -> BlockSection:
        part = self.parts[index]
        assert isinstance(part, BlockSection)
        return part

    def _insertion_point(self, name: BlockName) -> tuple[int, int]:
        """Where a new block goes, and its heading level: after the nearest block that
        comes before it in block order, else before the nearest that comes after, else at
        the end. Taking that neighbour's level keeps the outline: the new heading ends the
        block before it and is ended by the block after it."""
        sections = [(i, p) for i, p in enumerate(self.parts) if isinstance(p, BlockSection)]
        earlier = [(i, p) for i, p in sections if BLOCK_ORDER[p.name] < BLOCK_ORDER[name]]
        if earlier:
            index, section = max(earlier, key=lambda found: BLOCK_ORDER[found[1].name])
            return index + 1, section.level
        later = [(i, p) for i, p in sections if BLOCK_ORDER[p.name] > BLOCK_ORDER[name]]
        if later:
            index, section = min(later, key=lambda found: BLOCK_ORDER[found[1].name])
            return index, section.level
        return len(self.parts), DEFAULT_HEADING_LEVEL

    def _inserted(self, index: int, section: BlockSection) -> Card:
        parts = list(self.parts)
        if index == len(parts) and parts:
            parts[-1] = closed_part(parts[-1])
        parts.insert(index, section)
        return attrs.evolve(self, parts=tuple(parts))

    def _replaced(self, index: int, section: BlockSection) -> Card:
        parts = list(self.parts)
        parts[index] = section
        return attrs.evolve(self, parts=tuple(parts))

    def _with_states(self, states: Mapping[str, bool]) -> Card:
        items = self._reading.items
        writable = [i for i, markup in items.items() if markup.checker.block is not _NOTES]
        for checker_id, field in ((i, "check" if s else "uncheck") for i, s in states.items()):
            if checker_id not in items:
                raise ValidationFailed.choice(field, checker_id, "checker id", writable)
            if items[checker_id].checker.block is _NOTES:
                raise ValidationFailed.field(
                    field,
                    f"{checker_id} is part of implementation_notes, which agents only add to; "
                    "a person can tick it in Tasker",
                )
        edits: dict[int, list[tuple[int, int, str]]] = {}
        for checker_id, checked in states.items():
            markup = items[checker_id]
            if markup.checker.checked != checked:
                edits.setdefault(markup.part, []).extend(check_edits(markup.item, checked))
        return self._edited(edits)

    def _with_new_checkers(self, texts: Sequence[str], name: BlockName) -> Card:
        if not texts:
            return self
        if name is _NOTES:
            raise ValidationFailed.field(
                "add", "checkers cannot go in implementation_notes, which agents only add text to"
            )
        ids = new_checker_ids(self._reading, [new_item(text) for text in texts])
        new_items = "".join(new_item(t, i) for t, i in zip(texts, ids, strict=True))
        index = self._index_of(name)
        if index is None:
            where, level = self._insertion_point(name)
            section = BlockSection(name, level, block_heading(name, level), task_list(new_items))
            return self._inserted(where, section)
        section = self._section(index)
        return self._replaced(
            index, with_content(section, with_items_added(section.content_html, new_items))
        )

    def _with_ids_pinned(self) -> Card:
        edits: dict[int, list[tuple[int, int, str]]] = {}
        for markup in self._reading.items.values():
            if not markup.checker.id_in_markup and markup.checker.block is not _NOTES:
                tag = with_attribute(markup.item.attributes, "data-id", markup.checker.id)
                edits.setdefault(markup.part, []).append(
                    (markup.item.start, markup.item.inner_start, start_tag("li", tag))
                )
        return self._edited(edits)

    def _edited(self, edits: Mapping[int, list[tuple[int, int, str]]]) -> Card:
        if not edits:
            return self
        parts = list(self.parts)
        for index, part_edits in edits.items():
            section = self._section(index)
            parts[index] = attrs.evolve(
                section, content_html=spliced(section.content_html, part_edits)
            )
        return attrs.evolve(self, parts=tuple(parts))


def parse_card(description_html: str) -> Card:
    """Read an issue description as a card. Never changes it: `render()` gives back the
    same string. `ValidationFailed` only beyond the size and nesting limits."""
    if not isinstance(description_html, str):
        raise ValidationFailed.field(DESCRIPTION_FIELD, "must be a string")
    fragment = parse_fragment(description_html, field=DESCRIPTION_FIELD)
    container = block_container(fragment)
    # A tag or comment cut off at the very end swallows anything after it: it stays last.
    body_end = container.inner_end
    if fragment.dangling_at is not None:
        body_end = max(container.inner_start, min(body_end, fragment.dangling_at))
    return Card(
        prefix=description_html[: container.inner_start],
        parts=tuple(split_parts(fragment, container, body_end)),
        suffix=description_html[body_end:],
    )


def new_card(
    *,
    blocks: Mapping[str, str] | None = None,
    checkers: Iterable[object] = (),
    description_html: str = "",
) -> Card:
    """What `create_issue(card=…)` writes: the `description` HTML (if any) followed by the
    given blocks in block order, and the given checker texts in `acceptance`."""
    card = parse_card(description_html)
    if blocks:
        card = card.write_blocks(blocks)
    texts = checker_texts(checkers, "card.checkers")
    return card.update_checkers(add=texts) if texts else card
